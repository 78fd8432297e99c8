// crm_events_test_consumer: a minimal consuming service for the fault tests
// (events_process_test.cc). It applies the producer's events to its own
// database (one effects row each) with crm::events::Consumer, authenticating
// with a SERVICE token it mints from the HS256 key. --crash_at_sequence is
// the test-only crash hook: the process _exits after the effects of the
// transaction holding that event and its cursor update were written but
// before they commit.
#include <unistd.h>

#include "absl/flags/flag.h"
#include "common/config/config.h"
#include "common/db/migrations.h"
#include "common/events/consumer.h"
#include "common/events/test/event_test_support.h"
#include "common/server/server.h"
#include "common/server/service_config.h"
#include "common/util/log.h"

ABSL_FLAG(std::string, producer_address, "", "host:port of the producer's EventFeed");
ABSL_FLAG(int64_t, crash_at_sequence, 0,
          "test only: exit with status 3 just before committing the transaction that applies "
          "this event (0 = never)");

namespace crm::events::testing {
namespace {

constexpr int kCrashExitCode = 3;

int Main(int argc, char** argv) {
  server::BlockTerminationSignals();
  config::ParseFlagsWithEnv(argc, argv, "crm_events_test_consumer: event feed test consumer");
  const server::ServiceConfig config = server::LoadServiceConfig();
  const std::string producer_address = absl::GetFlag(FLAGS_producer_address);
  if (producer_address.empty()) config::Die("--producer_address is required");
  if (config.auth.hs256_key.empty()) config::Die("--jwt_hs256_key_file is required to mint tokens");

  db::ConnectionPool pool(config.db);
  absl::Status migrated = db::ApplyMigrations(pool, ConsumerMigrations(), absl::Now() + absl::Seconds(60));
  if (std::optional<int> exit_code = server::ExitCodeAfterMigrations(migrated, config)) return *exit_code;

  ConsumerOptions options;
  options.producer = kProducer;
  options.channel = grpc::CreateChannel(producer_address, grpc::InsecureChannelCredentials());
  const std::string key = config.auth.hs256_key;
  options.token_source = [key] { return MintToken(auth::Role::kService, key); };
  options.max_wait = absl::Seconds(2);
  options.backoff.initial = absl::Milliseconds(20);
  options.backoff.max = absl::Milliseconds(500);
  if (const int64_t crash_at = absl::GetFlag(FLAGS_crash_at_sequence); crash_at > 0) {
    options.before_commit_for_testing = [crash_at](const v1::Event& last) {
      if (last.sequence() >= crash_at) _exit(kCrashExitCode);
    };
  }
  Consumer consumer(pool, std::move(options), RecordEffect);
  consumer.Start();
  server::WaitForTerminationSignal();
  consumer.Stop();
  return 0;
}

}  // namespace
}  // namespace crm::events::testing

int main(int argc, char** argv) { return crm::events::testing::Main(argc, argv); }
