// crm-opportunities: wiring only. Configuration comes from flags or CRM_*
// environment variables (see ../README.md and the top-level README).
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/auth/token_verifier.h"
#include "common/calendar/calendar_flags.h"
#include "common/client/client.h"
#include "common/config/config.h"
#include "common/db/migrations.h"
#include "common/events/feed_service.h"
#include "common/events/outbox.h"
#include "common/events/pruner.h"
#include "common/server/server.h"
#include "common/server/service_config.h"
#include "common/util/clock.h"
#include "common/util/log.h"
#include "services/opportunities/src/customer_directory.h"
#include "services/opportunities/src/customer_events_consumer.h"
#include "services/opportunities/src/mysql_opportunity_repository.h"
#include "services/opportunities/src/opportunity_handler.h"
#include "services/opportunities/src/opportunity_migrations.h"

ABSL_FLAG(std::string, customers_address, "127.0.0.1:50051",
          "host:port of the customers service (customer, owner, tier, risk tolerance)");
ABSL_FLAG(int, extra_urgent_days, 1, "OPP-8 delivery deadline of EXTRA_URGENT contracts, working days");
ABSL_FLAG(int, urgent_days, 3, "OPP-8 delivery deadline of URGENT contracts, working days");
ABSL_FLAG(bool, follow_customer_events, true,
          "follow the customers service's event feed (GW-5): a reassigned customer's open rows move "
          "to the new owner and team");
ABSL_FLAG(std::string, service_token_file, "",
          "file with the bearer token (SERVICE role) for reading the customers event feed; needed "
          "only when the verification key is RS256 (with an HS256 key the service mints its own)");
ABSL_FLAG(int, normal_days, 10, "OPP-8 delivery deadline of NORMAL contracts, working days");

namespace {

crm::opportunities::DeadlinePolicy LoadPolicyOrDie() {
  crm::opportunities::DeadlinePolicy policy;
  policy.extra_urgent_days = absl::GetFlag(FLAGS_extra_urgent_days);
  policy.urgent_days = absl::GetFlag(FLAGS_urgent_days);
  policy.normal_days = absl::GetFlag(FLAGS_normal_days);
  for (int days : {policy.extra_urgent_days, policy.urgent_days, policy.normal_days}) {
    if (days < 1 || days > 250) crm::config::Die("--*_days: delivery deadlines are 1..250 working days");
  }
  return policy;
}

}  // namespace

int main(int argc, char** argv) {
  crm::server::BlockTerminationSignals();
  crm::config::ParseFlagsWithEnv(argc, argv, "crm-opportunities: the opportunities gRPC service");
  const crm::server::ServiceConfig config = crm::server::LoadServiceConfig();
  const crm::calendar::WorkingCalendar calendar = crm::calendar::CalendarFromFlagsOrDie();
  const crm::opportunities::DeadlinePolicy policy = LoadPolicyOrDie();
  const std::string customers_address = crm::config::HostPortOrDie(FLAGS_customers_address);

  crm::Clock& clock = crm::RealClock::Get();
  const std::unique_ptr<crm::auth::TokenVerifier> verifier = crm::server::TokenVerifierOrDie(config, clock);

  crm::db::ConnectionPool pool(config.db);
  absl::Status migrated = crm::db::ApplyMigrations(
      pool, crm::events::WithEventTables(crm::opportunities::Migrations()), absl::Now() + absl::Seconds(60));
  if (std::optional<int> exit_code = crm::server::ExitCodeAfterMigrations(migrated, config)) return *exit_code;

  auto customers_channel = crm::client::MakeChannel(customers_address);
  auto customers = crm::opportunities::NewGrpcCustomerDirectory(customers_channel);
  crm::opportunities::MysqlOpportunityRepository repository(pool);
  std::unique_ptr<crm::events::Consumer> customer_events;
  if (absl::GetFlag(FLAGS_follow_customer_events)) {
    std::function<std::string()> service_token = crm::server::ServiceTokenSourceOrDie(
        config, absl::GetFlag(FLAGS_service_token_file), "crm-opportunities", clock);
    customer_events = crm::opportunities::NewCustomerEventsConsumer(pool, repository, clock, customers_channel,
                                                                    std::move(service_token));
  }
  crm::PageTokenCodec page_tokens(config.page_token_key);
  crm::opportunities::OpportunityService service(repository, *customers, clock, page_tokens, calendar, policy);
  crm::opportunities::OpportunityHandler handler(service, *verifier);
  crm::events::EventFeedService feed(pool, *verifier, {.producer = "opportunities"});
  crm::events::EventPruner pruner(pool, {.retention = config.event_retention});

  crm::server::GrpcServer server(config.server, {&handler, &feed},
                                 {"crm.opportunities.v1.OpportunityService",
                                  crm::events::EventFeedService::kServiceName},
                                 [&pool] { return crm::server::DatabaseReadiness(pool); });
  if (!crm::server::StartServing(server, config)) return 1;
  pruner.Start();
  if (customer_events) customer_events->Start();

  const int sig = crm::server::WaitForTerminationSignal();
  crm::log::Info("shutting down", {{"signal", absl::StrCat(sig)}});
  if (customer_events) customer_events->Stop();
  server.Shutdown();
  pruner.Stop();
  return 0;
}
