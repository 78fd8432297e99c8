// crm_events_test_producer: a minimal producing service for the fault tests
// (events_process_test.cc). Configured like a real service (flags with
// CRM_* environment fallbacks), it serves crm.events.v1.EventFeed and, in a
// background thread, places orders (business row + event in one
// transaction) until the orders table holds --append_total rows, so a
// restart after SIGKILL carries on where the database says it stopped.
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/config/config.h"
#include "common/db/migrations.h"
#include "common/events/feed_service.h"
#include "common/events/test/event_test_support.h"
#include "common/server/server.h"
#include "common/server/service_config.h"
#include "common/util/clock.h"
#include "common/util/log.h"

ABSL_FLAG(int, append_total, 0, "place orders until there are this many");
ABSL_FLAG(int, append_interval_ms, 5, "pause between two orders");

namespace crm::events::testing {
namespace {

void PlaceOrders(db::ConnectionPool& pool, int total, absl::Duration interval,
                 absl::Notification& stopping) {
  do {
    auto placed = QueryInt(pool, "SELECT COUNT(*) FROM orders");
    if (placed.ok() && *placed >= total) return;
    if (placed.ok()) {
      auto sequence = PlaceOrder(pool, absl::StrCat("order-", *placed + 1));
      if (!sequence.ok()) log::Warning("order failed", {{"error", sequence.status().ToString()}});
    }
  } while (!stopping.WaitForNotificationWithTimeout(interval));
}

int Main(int argc, char** argv) {
  server::BlockTerminationSignals();
  config::ParseFlagsWithEnv(argc, argv, "crm_events_test_producer: event feed test producer");
  const server::ServiceConfig config = server::LoadServiceConfig();
  const std::unique_ptr<auth::TokenVerifier> verifier = server::TokenVerifierOrDie(config, RealClock::Get());

  db::ConnectionPool pool(config.db);
  absl::Status migrated = db::ApplyMigrations(pool, ProducerMigrations(), absl::Now() + absl::Seconds(60));
  if (std::optional<int> exit_code = server::ExitCodeAfterMigrations(migrated, config)) return *exit_code;
  EventFeedService feed(pool, *verifier, {.producer = kProducer, .poll_interval = absl::Milliseconds(20)});
  server::GrpcServer server(config.server, {&feed}, {EventFeedService::kServiceName},
                            [&pool] { return server::DatabaseReadiness(pool); });
  if (!server::StartServing(server, config)) return 1;

  absl::Notification stopping;
  std::thread appender([&] {
    PlaceOrders(pool, absl::GetFlag(FLAGS_append_total),
                absl::Milliseconds(absl::GetFlag(FLAGS_append_interval_ms)), stopping);
  });
  server::WaitForTerminationSignal();
  stopping.Notify();
  appender.join();
  server.Shutdown();
  return 0;
}

}  // namespace
}  // namespace crm::events::testing

int main(int argc, char** argv) { return crm::events::testing::Main(argc, argv); }
