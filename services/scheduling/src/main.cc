// crm-scheduling: wiring only. Configuration comes from flags or CRM_*
// environment variables (see ../README.md and the top-level README).
#include "absl/flags/declare.h"
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
#include "services/scheduling/src/customer_sites.h"
#include "services/scheduling/src/event_consumers.h"
#include "services/scheduling/src/mysql_scheduling_store.h"
#include "services/scheduling/src/scheduling_handler.h"
#include "services/scheduling/src/scheduling_migrations.h"

ABSL_DECLARE_FLAG(std::string, time_zone);

ABSL_FLAG(std::string, customers_address, "127.0.0.1:50051",
          "host:port of the customers service (geo points, ownership and tiers; its event feed)");
ABSL_FLAG(std::string, opportunities_address, "127.0.0.1:50052", "host:port of the opportunities service's event feed");
ABSL_FLAG(std::string, complaints_address, "127.0.0.1:50053", "host:port of the complaints service's event feed");
ABSL_FLAG(bool, follow_events, true,
          "follow the customers, opportunities and complaints event feeds (care projection and tasks, GW-5)");
ABSL_FLAG(std::string, service_token_file, "",
          "file with the bearer token (SERVICE role) for reading the event feeds; needed only when the "
          "verification key is RS256 (with an HS256 key the service mints its own)");
ABSL_FLAG(double, travel_speed_kmh, 30, "average travel speed between customer sites (SCH-2)");
ABSL_FLAG(double, travel_detour_factor, 1.3, "road distance over straight-line distance (SCH-2)");
ABSL_FLAG(std::string, festivals, "01-01=New Year's Day;05-01=Labour Day;10-01=National Day",
          "festivals for special-day care (SCH-6): MM-DD=Title or YYYY-MM-DD=Title, separated by ';'");
ABSL_FLAG(int, special_day_lead_days, 7, "how many days ahead special days are listed (SCH-6)");
ABSL_FLAG(absl::Duration, customers_lookup_timeout, absl::Seconds(2),
          "how long a booking waits for the customers service");

namespace {

crm::scheduling::ServiceSettings LoadSettingsOrDie() {
  crm::scheduling::ServiceSettings s;
  s.time_zone_name = absl::GetFlag(FLAGS_time_zone);
  s.travel.speed_kmh = absl::GetFlag(FLAGS_travel_speed_kmh);
  if (!(s.travel.speed_kmh >= 1 && s.travel.speed_kmh <= 300)) crm::config::Die("--travel_speed_kmh: 1..300");
  s.travel.detour_factor = absl::GetFlag(FLAGS_travel_detour_factor);
  if (!(s.travel.detour_factor >= 1 && s.travel.detour_factor <= 5)) {
    crm::config::Die("--travel_detour_factor: 1..5");
  }
  auto festivals = crm::scheduling::ParseFestivals(absl::GetFlag(FLAGS_festivals));
  if (!festivals.ok()) crm::config::Die(absl::StrCat("--festivals: ", festivals.status().message()));
  s.festivals = *std::move(festivals);
  s.special_day_lead_days = absl::GetFlag(FLAGS_special_day_lead_days);
  if (s.special_day_lead_days < 1 || s.special_day_lead_days > 366) {
    crm::config::Die("--special_day_lead_days: 1..366");
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  crm::server::BlockTerminationSignals();
  crm::config::ParseFlagsWithEnv(argc, argv, "crm-scheduling: the scheduling gRPC service");
  const crm::server::ServiceConfig config = crm::server::LoadServiceConfig();
  const crm::calendar::WorkingCalendar calendar = crm::calendar::CalendarFromFlagsOrDie();
  const crm::scheduling::ServiceSettings settings = LoadSettingsOrDie();
  const std::string customers_address = crm::config::HostPortOrDie(FLAGS_customers_address);
  const std::string opportunities_address = crm::config::HostPortOrDie(FLAGS_opportunities_address);
  const std::string complaints_address = crm::config::HostPortOrDie(FLAGS_complaints_address);
  const absl::Duration lookup_timeout = absl::GetFlag(FLAGS_customers_lookup_timeout);
  if (lookup_timeout <= absl::ZeroDuration() || lookup_timeout > absl::Seconds(20)) {
    crm::config::Die("--customers_lookup_timeout: more than 0 and at most 20s");
  }

  crm::Clock& clock = crm::RealClock::Get();
  const std::unique_ptr<crm::auth::TokenVerifier> verifier = crm::server::TokenVerifierOrDie(config, clock);
  const std::function<std::string()> service_token = crm::server::ServiceTokenSourceOrDie(
      config, absl::GetFlag(FLAGS_service_token_file), "crm-scheduling", clock);

  crm::db::ConnectionPool pool(config.db);
  absl::Status migrated = crm::db::ApplyMigrations(
      pool, crm::events::WithEventTables(crm::scheduling::Migrations()), absl::Now() + absl::Seconds(60));
  crm::scheduling::MysqlSchedulingStore store(pool);
  auto customers_channel = crm::client::MakeChannel(customers_address);
  auto customers = crm::scheduling::NewGrpcCustomerSites(customers_channel, lookup_timeout);
  crm::PageTokenCodec page_tokens(config.page_token_key);
  crm::scheduling::SchedulingService service(store, *customers, clock, page_tokens, calendar, settings);
  if (migrated.ok()) migrated = service.SeedCarePolicies(absl::Now() + absl::Seconds(30));
  if (std::optional<int> exit_code = crm::server::ExitCodeAfterMigrations(migrated, config)) return *exit_code;

  std::vector<std::unique_ptr<crm::events::Consumer>> consumers;
  if (absl::GetFlag(FLAGS_follow_events)) {
    consumers.push_back(crm::scheduling::NewEventConsumer(pool, "customers", customers_channel, service_token,
                                                          calendar, clock));
    consumers.push_back(crm::scheduling::NewEventConsumer(
        pool, "opportunities", crm::client::MakeChannel(opportunities_address), service_token, calendar, clock));
    consumers.push_back(crm::scheduling::NewEventConsumer(
        pool, "complaints", crm::client::MakeChannel(complaints_address), service_token, calendar, clock));
  }
  crm::scheduling::SchedulingHandler handler(service, *verifier);
  crm::events::EventFeedService feed(pool, *verifier, {.producer = "scheduling"});
  crm::events::EventPruner pruner(pool, {.retention = config.event_retention});

  crm::server::GrpcServer server(config.server, {&handler, &feed},
                                 {"crm.scheduling.v1.SchedulingService", crm::events::EventFeedService::kServiceName},
                                 [&pool] { return crm::server::DatabaseReadiness(pool); });
  if (!crm::server::StartServing(server, config)) return 1;
  pruner.Start();
  for (auto& c : consumers) c->Start();

  const int sig = crm::server::WaitForTerminationSignal();
  crm::log::Info("shutting down", {{"signal", absl::StrCat(sig)}});
  for (auto& c : consumers) c->Stop();
  server.Shutdown();
  pruner.Stop();
  return 0;
}
