// crm-customers: wiring only. Configuration comes from flags or CRM_*
// environment variables (see README.md).
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/auth/token_verifier.h"
#include "common/config/config.h"
#include "common/db/migrations.h"
#include "common/events/feed_service.h"
#include "common/events/outbox.h"
#include "common/events/pruner.h"
#include "common/server/server.h"
#include "common/server/service_config.h"
#include "common/util/clock.h"
#include "common/util/log.h"
#include "services/customers/src/customer_handler.h"
#include "services/customers/src/customer_migrations.h"
#include "services/customers/src/mysql_customer_repository.h"
#include "services/customers/src/stale_data_job.h"

ABSL_FLAG(int, tier_recompute_hours, 24,
          "recompute value tiers every N hours (CUS-4); 0 turns the schedule off");
ABSL_FLAG(absl::Duration, stale_sweep_interval, absl::Minutes(5),
          "how often the staleness job announces customers whose basic data became stale (CUS-6)");

int main(int argc, char** argv) {
  crm::server::BlockTerminationSignals();
  crm::config::ParseFlagsWithEnv(argc, argv, "crm-customers: the customers gRPC service");
  const crm::server::ServiceConfig config = crm::server::LoadServiceConfig();
  const int recompute_hours = absl::GetFlag(FLAGS_tier_recompute_hours);
  if (recompute_hours < 0) crm::config::Die("--tier_recompute_hours: must not be negative");
  const absl::Duration stale_sweep_interval = absl::GetFlag(FLAGS_stale_sweep_interval);
  if (stale_sweep_interval < absl::Milliseconds(10) || stale_sweep_interval > absl::Hours(24)) {
    crm::config::Die("--stale_sweep_interval: between 10ms and 24h");
  }

  crm::Clock& clock = crm::RealClock::Get();
  const std::unique_ptr<crm::auth::TokenVerifier> verifier = crm::server::TokenVerifierOrDie(config, clock);

  crm::db::ConnectionPool pool(config.db);
  // Wait for the database at start-up (it may still be starting), but do
  // not serve against an unmigrated schema.
  absl::Status migrated = crm::db::ApplyMigrations(pool, crm::events::WithEventTables(crm::customers::Migrations()),
                                                   absl::Now() + absl::Seconds(60));
  if (std::optional<int> exit_code = crm::server::ExitCodeAfterMigrations(migrated, config)) return *exit_code;

  crm::customers::MysqlCustomerRepository repository(pool);
  crm::PageTokenCodec page_tokens(config.page_token_key);
  crm::customers::CustomerService service(repository, clock, page_tokens);
  crm::customers::CustomerHandler handler(service, *verifier);

  // Other services follow this one's events (GW-5) through its feed.
  crm::events::EventFeedService feed(pool, *verifier, {.producer = "customers"});
  crm::events::EventPruner pruner(pool, {.retention = config.event_retention});
  crm::customers::StaleDataJob stale_job(service, {.interval = stale_sweep_interval});

  crm::server::GrpcServer server(config.server, {&handler, &feed},
                                 {"crm.customers.v1.CustomerService",
                                  crm::events::EventFeedService::kServiceName},
                                 [&pool] { return crm::server::DatabaseReadiness(pool); });
  if (!crm::server::StartServing(server, config)) return 1;
  pruner.Start();
  stale_job.Start();

  absl::Notification stopping;
  std::thread scheduler;
  if (recompute_hours > 0) {
    scheduler = std::thread([&] {
      while (!stopping.WaitForNotificationWithTimeout(absl::Hours(recompute_hours))) {
        auto result = service.RecomputeTiersAsSystem(absl::Now() + absl::Minutes(5), "scheduled");
        if (result.ok()) {
          crm::log::Info("tiers recomputed", {{"ranked", absl::StrCat(result->ranked())},
                                              {"changed", absl::StrCat(result->changed())}});
        } else {
          crm::log::Warning("scheduled tier recompute failed", {{"error", result.status().ToString()}});
        }
      }
    });
  }

  const int sig = crm::server::WaitForTerminationSignal();
  crm::log::Info("shutting down", {{"signal", absl::StrCat(sig)}});
  stopping.Notify();
  stale_job.Stop();
  server.Shutdown();
  pruner.Stop();
  if (scheduler.joinable()) scheduler.join();
  return 0;
}
