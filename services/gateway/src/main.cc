// crm-gateway: wiring only. Configuration comes from flags or CRM_*
// environment variables (see ../README.md and the top-level README).
#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/auth/token_verifier.h"
#include "common/config/config.h"
#include "common/server/server.h"
#include "common/server/service_config.h"
#include "common/util/clock.h"
#include "common/util/log.h"
#include "common/calendar/calendar_flags.h"
#include "crm/complaints/v1/complaints.pb.h"
#include "crm/customers/v1/customers.pb.h"
#include "crm/gateway/v1/gateway.pb.h"
#include "crm/opportunities/v1/opportunities.pb.h"
#include "crm/scheduling/v1/scheduling.pb.h"
#include "services/gateway/src/backends.h"
#include "services/gateway/src/door.h"
#include "services/gateway/src/gateway_service.h"
#include "services/gateway/src/grpc_proxy.h"
#include "services/gateway/src/http_front.h"
#include "services/gateway/src/http_routes.h"
#include "services/gateway/src/views.h"

ABSL_FLAG(std::string, customers_address, "127.0.0.1:50051", "host:port of the customers service");
ABSL_FLAG(std::string, opportunities_address, "127.0.0.1:50052", "host:port of the opportunities service");
ABSL_FLAG(std::string, complaints_address, "127.0.0.1:50053", "host:port of the complaints service");
ABSL_FLAG(std::string, scheduling_address, "127.0.0.1:50054", "host:port of the scheduling service");
ABSL_FLAG(std::string, http_listen_address, "",
          "host:port of the HTTP/JSON front (routes from the google.api.http annotations); empty = no HTTP front");
ABSL_FLAG(double, rate_limit_per_second, 200, "calls per second each principal (token subject) may make");
ABSL_FLAG(double, rate_limit_burst, 400, "calls a principal may make at once after being idle");
ABSL_FLAG(absl::Duration, max_call_duration, absl::Seconds(30),
          "the longest a forwarded call may run, whatever deadline the client set");

namespace {

crm::gateway::DoorOptions DoorOptionsOrDie() {
  crm::gateway::DoorOptions o;
  o.rate_limit_per_second = absl::GetFlag(FLAGS_rate_limit_per_second);
  o.rate_limit_burst = absl::GetFlag(FLAGS_rate_limit_burst);
  if (!(o.rate_limit_per_second > 0 && o.rate_limit_per_second <= 1e6)) {
    crm::config::Die("--rate_limit_per_second: more than 0, at most 1e6");
  }
  if (!(o.rate_limit_burst >= 1 && o.rate_limit_burst <= 1e7)) crm::config::Die("--rate_limit_burst: 1..1e7");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  crm::server::BlockTerminationSignals();
  crm::config::ParseFlagsWithEnv(argc, argv, "crm-gateway: the authenticated front door of the CRM suite");
  const crm::server::ServiceConfig config = crm::server::LoadServiceConfig(crm::server::DatabaseUse::kNone);
  const crm::gateway::DoorOptions door_options = DoorOptionsOrDie();
  crm::gateway::BackendAddresses addresses;
  addresses.customers = crm::config::HostPortOrDie(FLAGS_customers_address);
  addresses.opportunities = crm::config::HostPortOrDie(FLAGS_opportunities_address);
  addresses.complaints = crm::config::HostPortOrDie(FLAGS_complaints_address);
  addresses.scheduling = crm::config::HostPortOrDie(FLAGS_scheduling_address);

  crm::Clock& clock = crm::RealClock::Get();
  const std::unique_ptr<crm::auth::TokenVerifier> verifier = crm::server::TokenVerifierOrDie(config, clock);
  const crm::gateway::Backends backends = crm::gateway::Backends::Connect(addresses);
  crm::gateway::Door door(*verifier, door_options, clock);
  const absl::Duration max_call_duration = absl::GetFlag(FLAGS_max_call_duration);
  if (max_call_duration <= absl::ZeroDuration() || max_call_duration > absl::Minutes(10)) {
    crm::config::Die("--max_call_duration: more than 0 and at most 10m");
  }
  crm::gateway::GrpcProxy proxy(backends, door, {.max_call_duration = max_call_duration});
  const crm::gateway::Views views(backends, clock, {.zone = crm::calendar::CalendarFromFlagsOrDie().zone()});
  crm::gateway::GatewayService gateway_service(views, door, max_call_duration);

  // No readiness probe: the gateway serves while it runs; the backends'
  // health is the suite's (GatewayService.GetSuiteHealth).
  crm::server::GrpcServer server(config.server, {&gateway_service}, {"crm.gateway.v1.GatewayService"}, nullptr);
  server.SetGenericService(&proxy);
  if (!crm::server::StartServing(server, config)) return 1;

  // The HTTP/JSON front: the services whose RPCs carry HTTP annotations.
  std::unique_ptr<crm::gateway::HttpRoutes> routes;
  std::unique_ptr<crm::gateway::HttpFront> http;
  if (const std::string http_address = absl::GetFlag(FLAGS_http_listen_address); !http_address.empty()) {
    const size_t colon = http_address.rfind(':');
    int http_port = -1;
    if (colon == std::string::npos || !absl::SimpleAtoi(http_address.substr(colon + 1), &http_port) ||
        http_port < 0 || http_port > 65535) {
      crm::config::Die("--http_listen_address: expected host:port");
    }
    // Every public service of the suite, and the gateway's own views.
    auto compiled = crm::gateway::HttpRoutes::ForServices({
        crm::customers::v1::Customer::descriptor()->file()->FindServiceByName("CustomerService"),
        crm::opportunities::v1::Opportunity::descriptor()->file()->FindServiceByName("OpportunityService"),
        crm::complaints::v1::Complaint::descriptor()->file()->FindServiceByName("ComplaintService"),
        crm::scheduling::v1::Visit::descriptor()->file()->FindServiceByName("SchedulingService"),
        crm::gateway::v1::Customer360::descriptor()->file()->FindServiceByName("GatewayService"),
    });
    if (!compiled.ok()) crm::config::Die(absl::StrCat("HTTP routes: ", compiled.status().message()));
    routes = *std::move(compiled);
    http = std::make_unique<crm::gateway::HttpFront>(*routes, backends, door, views,
                                                     crm::gateway::HttpFrontOptions{max_call_duration, config.server.tls});
    auto bound = http->Start(http_address.substr(0, colon), http_port);
    if (!bound.ok()) {
      crm::log::Error("cannot start the HTTP front", {{"error", bound.status().ToString()}});
      return 1;
    }
    crm::log::Info("HTTP front listening",
                   {{"port", absl::StrCat(*bound)}, {"scheme", config.server.tls.enabled() ? "https" : "http"}});
  }

  const int sig = crm::server::WaitForTerminationSignal();
  crm::log::Info("shutting down", {{"signal", absl::StrCat(sig)}});
  if (http) http->Stop();
  server.Shutdown();
  return 0;
}
