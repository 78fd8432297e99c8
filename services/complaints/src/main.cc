// crm-complaints: wiring only. Configuration comes from flags or CRM_*
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
#include "services/complaints/src/breach_job.h"
#include "services/complaints/src/complaint_handler.h"
#include "services/complaints/src/complaint_migrations.h"
#include "services/complaints/src/customer_standing.h"
#include "services/complaints/src/mysql_complaint_repository.h"

ABSL_FLAG(std::string, customers_address, "127.0.0.1:50051",
          "host:port of the customers service (tier and VIP status of the complainant)");
ABSL_FLAG(double, at_risk_fraction, 0.75, "an SLA clock is AT_RISK once this fraction of its target is used");
ABSL_FLAG(absl::Duration, breach_sweep_interval, absl::Seconds(30),
          "how often the breach job looks for clocks that fell due");
ABSL_FLAG(absl::Duration, customers_lookup_timeout, absl::Seconds(2),
          "how long RecordComplaint waits for the customers service before it records with the "
          "strictest targets");
ABSL_FLAG(std::string, service_token_file, "",
          "file with the bearer token (SERVICE role) for re-evaluating provisional targets; needed only "
          "when the verification key is RS256 (with an HS256 key the service mints its own)");

namespace {

crm::complaints::ServiceSettings LoadSettingsOrDie() {
  crm::complaints::ServiceSettings settings;
  settings.clock.at_risk_fraction = absl::GetFlag(FLAGS_at_risk_fraction);
  if (!(settings.clock.at_risk_fraction > 0 && settings.clock.at_risk_fraction < 1)) {
    crm::config::Die("--at_risk_fraction: between 0 and 1, exclusive");
  }
  settings.lookup_timeout = absl::GetFlag(FLAGS_customers_lookup_timeout);
  if (settings.lookup_timeout <= absl::ZeroDuration() || settings.lookup_timeout > absl::Seconds(20)) {
    crm::config::Die("--customers_lookup_timeout: more than 0 and at most 20s");
  }
  return settings;
}

}  // namespace

int main(int argc, char** argv) {
  crm::server::BlockTerminationSignals();
  crm::config::ParseFlagsWithEnv(argc, argv, "crm-complaints: the complaints gRPC service");
  const crm::server::ServiceConfig config = crm::server::LoadServiceConfig();
  const crm::calendar::WorkingCalendar calendar = crm::calendar::CalendarFromFlagsOrDie();
  const crm::complaints::ServiceSettings settings = LoadSettingsOrDie();
  const std::string customers_address = crm::config::HostPortOrDie(FLAGS_customers_address);
  const absl::Duration sweep_interval = absl::GetFlag(FLAGS_breach_sweep_interval);
  if (sweep_interval < absl::Milliseconds(10) || sweep_interval > absl::Hours(1)) {
    crm::config::Die("--breach_sweep_interval: between 10ms and 1h");
  }

  crm::Clock& clock = crm::RealClock::Get();
  const std::unique_ptr<crm::auth::TokenVerifier> verifier = crm::server::TokenVerifierOrDie(config, clock);
  const std::function<std::string()> service_token = crm::server::ServiceTokenSourceOrDie(
      config, absl::GetFlag(FLAGS_service_token_file), "crm-complaints", clock);

  crm::db::ConnectionPool pool(config.db);
  absl::Status migrated = crm::db::ApplyMigrations(
      pool, crm::events::WithEventTables(crm::complaints::Migrations()), absl::Now() + absl::Seconds(60));
  crm::complaints::MysqlComplaintRepository repository(pool);
  if (migrated.ok()) {
    migrated = repository.SeedPolicies(absl::Now() + absl::Seconds(30), crm::complaints::DefaultPolicies());
  }
  if (std::optional<int> exit_code = crm::server::ExitCodeAfterMigrations(migrated, config)) return *exit_code;

  auto customers = crm::complaints::NewGrpcCustomerStandings(crm::client::MakeChannel(customers_address));
  crm::PageTokenCodec page_tokens(config.page_token_key);
  crm::complaints::ComplaintService service(repository, *customers, clock, page_tokens, calendar, settings);
  crm::complaints::ComplaintHandler handler(service, *verifier);
  crm::events::EventFeedService feed(pool, *verifier, {.producer = "complaints"});
  crm::events::EventPruner pruner(pool, {.retention = config.event_retention});
  crm::complaints::BreachJob breach_job(repository, service,
                                        {.interval = sweep_interval, .service_token = service_token});

  crm::server::GrpcServer server(config.server, {&handler, &feed},
                                 {"crm.complaints.v1.ComplaintService", crm::events::EventFeedService::kServiceName},
                                 [&pool] { return crm::server::DatabaseReadiness(pool); });
  if (!crm::server::StartServing(server, config)) return 1;
  pruner.Start();
  breach_job.Start();

  const int sig = crm::server::WaitForTerminationSignal();
  crm::log::Info("shutting down", {{"signal", absl::StrCat(sig)}});
  breach_job.Stop();
  server.Shutdown();
  pruner.Stop();
  return 0;
}
