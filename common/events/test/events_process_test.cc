// The fault tests, with real processes: a producer SIGKILLed while
// a consumer pulls from it, and a consumer that dies after writing an
// event's effect but before committing it. Either way: nothing lost,
// nothing applied twice (checked on the consumer's database).
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/events/consumer.h"
#include "common/events/test/event_test_support.h"
#include "common/testing/process.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_database.h"
#include "gtest/gtest.h"

namespace crm::events {
namespace {

using ::crm::testing::ChildProcess;
using ::crm::testing::IsOk;
using namespace ::crm::events::testing;  // NOLINT: the test support vocabulary

constexpr absl::Duration kWait = absl::Seconds(90);

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Re-checks `condition` every 20 ms until it holds or `timeout` passes.
bool WaitUntil(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

class EventsProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto* db : {&producer_db_, &consumer_db_}) {
      auto created = crm::testing::TestDatabase::Create();
      ASSERT_TRUE(created.ok()) << created.status();
      db->emplace(std::move(*created));
    }
    producer_pool_ = std::make_unique<db::ConnectionPool>(producer_db_->config());
    consumer_pool_ = std::make_unique<db::ConnectionPool>(consumer_db_->config());
    tag_ = absl::StrCat(getpid(), "_", producer_db_->config().database);
    key_file_ = WriteFile("key", kTestKey);
    password_file_ = WriteFile("password", producer_db_->config().password);
  }

  void TearDown() override {
    if (HasFailure()) {
      for (const std::string& log : logs_) std::cerr << "--- " << log << ":\n" << ReadFile(log);
    }
    for (const std::string& f : files_) std::remove(f.c_str());
  }

  std::string TempPath(const std::string& name) {
    files_.push_back(absl::StrCat(::testing::TempDir(), "events-", tag_, "-", name));
    return files_.back();
  }
  std::string WriteFile(const std::string& name, const std::string& content) {
    const std::string path = TempPath(name);
    std::ofstream(path) << content;
    return path;
  }

  // A test binary configured through its environment like a container.
  std::unique_ptr<ChildProcess> Spawn(const char* binary, const db::DbConfig& db,
                                      std::map<std::string, std::string> env) {
    env.insert({{"CRM_DB_HOST", db.host},
                {"CRM_DB_PORT", absl::StrCat(db.port)},
                {"CRM_DB_USER", db.user},
                {"CRM_DB_NAME", db.database},
                {"CRM_DB_POOL_SIZE", "4"},
                {"CRM_DB_PASSWORD_FILE", password_file_},
                {"CRM_JWT_HS256_KEY_FILE", key_file_},
                {"CRM_JWT_ISSUER", kIssuer},
                {"CRM_JWT_AUDIENCE", kAudience},
                {"CRM_HEALTH_PROBE_MS", "100"},
                {"CRM_SHUTDOWN_GRACE_SECONDS", "2"}});
    const std::string log = TempPath(absl::StrCat("child-", logs_.size(), ".log"));
    logs_.push_back(log);
    auto child = ChildProcess::Start({binary}, env, log);
    EXPECT_TRUE(child.ok()) << child.status();
    return child.ok() ? std::move(*child) : nullptr;
  }

  // Starts the producer on `listen` and returns it once it listens.
  std::unique_ptr<ChildProcess> StartProducer(const std::string& listen, int append_total,
                                              int* port) {
    const std::string port_file = TempPath("producer.port");
    std::remove(port_file.c_str());
    auto producer = Spawn(CRM_EVENTS_TEST_PRODUCER, producer_db_->config(),
                          {{"CRM_LISTEN_ADDRESS", listen},
                           {"CRM_PORT_FILE", port_file},
                           {"CRM_APPEND_TOTAL", absl::StrCat(append_total)},
                           {"CRM_APPEND_INTERVAL_MS", "5"}});
    auto line = crm::testing::WaitForFileLine(port_file, kWait);
    EXPECT_TRUE(line.has_value()) << "the producer did not start";
    if (!producer || !line || !absl::SimpleAtoi(*line, port)) return nullptr;
    return producer;
  }

  std::unique_ptr<ChildProcess> StartConsumer(int producer_port, int64_t crash_at) {
    return Spawn(CRM_EVENTS_TEST_CONSUMER, consumer_db_->config(),
                 {{"CRM_PRODUCER_ADDRESS", absl::StrCat("127.0.0.1:", producer_port)},
                  {"CRM_CRASH_AT_SEQUENCE", absl::StrCat(crash_at)}});
  }

  int64_t Produced(const std::string& query) {
    auto n = QueryInt(*producer_pool_, query);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }
  int64_t ConsumerCursor() {
    auto n = QueryInt(*consumer_pool_,
                      absl::StrCat("SELECT last_sequence FROM event_cursors WHERE producer = '",
                                   kProducer, "'"));
    return n.ok() ? *n : -1;
  }
  std::string Summary() {
    auto summary = EffectsSummary(*consumer_pool_);
    EXPECT_TRUE(summary.ok()) << summary.status();
    return summary.ok() ? *summary : summary.status().ToString();
  }

  static void ExpectExitedWith(std::optional<int> status, int code) {
    ASSERT_TRUE(status.has_value()) << "the process did not exit";
    ASSERT_TRUE(WIFEXITED(*status)) << "raw wait status " << *status;
    EXPECT_EQ(WEXITSTATUS(*status), code);
  }

  std::optional<crm::testing::TestDatabase> producer_db_, consumer_db_;
  std::unique_ptr<db::ConnectionPool> producer_pool_, consumer_pool_;
  std::string tag_, key_file_, password_file_;
  std::vector<std::string> files_, logs_;
};

TEST_F(EventsProcessTest, ProducerKilledMidStreamLosesNothingAndRepeatsNothing) {
  constexpr int kTotal = 300;
  int port = 0;
  auto producer = StartProducer("127.0.0.1:0", kTotal, &port);
  ASSERT_NE(producer, nullptr);

  ASSERT_THAT(db::ApplyMigrations(*consumer_pool_, ConsumerMigrations(), absl::Now() + kWait), IsOk());
  ConsumerOptions options;
  options.producer = kProducer;
  options.channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                        grpc::InsecureChannelCredentials());
  options.token_source = [] { return MintToken(auth::Role::kService); };
  options.page_size = 20;
  options.max_wait = absl::Seconds(2);
  options.rpc_timeout = absl::Seconds(3);
  options.backoff.initial = absl::Milliseconds(20);
  options.backoff.max = absl::Milliseconds(300);
  Consumer consumer(*consumer_pool_, std::move(options), RecordEffect);
  consumer.Start();

  // Kill the producer while it is still appending and being pulled from.
  ASSERT_TRUE(consumer.WaitForCursor(30, kWait)) << consumer.cursor();
  producer->Signal(SIGKILL);
  const std::optional<int> killed = producer->WaitFor(absl::Seconds(30));
  ASSERT_TRUE(killed.has_value() && WIFSIGNALED(*killed));
  const int64_t placed_before_kill = Produced("SELECT COUNT(*) FROM orders");
  EXPECT_LT(placed_before_kill, kTotal) << "the kill came too late to be mid-stream";

  // Same address, as a restarted pod behind its service would have.
  int restarted_port = 0;
  producer = StartProducer(absl::StrCat("127.0.0.1:", port), kTotal, &restarted_port);
  ASSERT_NE(producer, nullptr);
  ASSERT_EQ(restarted_port, port);

  ASSERT_TRUE(consumer.WaitForCursor(kTotal, kWait)) << consumer.cursor();
  consumer.Stop();
  // The transaction the kill interrupted left neither an order nor an event
  // behind, nor a hole in the numbering.
  EXPECT_EQ(Produced("SELECT COUNT(*) FROM orders"), kTotal);
  EXPECT_EQ(Produced("SELECT COUNT(*) FROM event_outbox"), kTotal);
  EXPECT_EQ(Produced("SELECT MAX(sequence) FROM event_outbox"), kTotal);
  EXPECT_EQ(Summary(), OnceEach(kTotal));

  producer->Signal(SIGTERM);
  ExpectExitedWith(producer->WaitFor(absl::Seconds(30)), 0);
}

TEST_F(EventsProcessTest, ConsumerKilledAfterTheEffectBeforeAcknowledgingAppliesEachEventOnce) {
  constexpr int kTotal = 100;
  constexpr int kCrashAt = 37;  // mid-page (the pull returns all 100), in the 2nd transaction
  ASSERT_THAT(db::ApplyMigrations(*producer_pool_, ProducerMigrations(), absl::Now() + kWait), IsOk());
  for (int i = 1; i <= kTotal; ++i) ASSERT_THAT(PlaceOrder(*producer_pool_, absl::StrCat("o", i)), IsOk());
  auto feed = FeedServer::Start(*producer_pool_);
  ASSERT_TRUE(feed.ok()) << feed.status();

  auto consumer = StartConsumer((*feed)->port(), kCrashAt);
  ASSERT_NE(consumer, nullptr);
  ExpectExitedWith(consumer->WaitFor(kWait), 3);
  // The transaction holding event 37 wrote its effects and cursor but never
  // committed: only the transactions before it count.
  const int64_t committed = ConsumerCursor();
  EXPECT_GT(committed, 0);
  EXPECT_LT(committed, kCrashAt);
  EXPECT_EQ(Summary(), OnceEach(committed));

  consumer = StartConsumer((*feed)->port(), /*crash_at=*/0);
  ASSERT_NE(consumer, nullptr);
  EXPECT_TRUE(WaitUntil([&] { return ConsumerCursor() >= kTotal; }, kWait)) << ConsumerCursor();
  EXPECT_EQ(Summary(), OnceEach(kTotal));

  consumer->Signal(SIGTERM);
  ExpectExitedWith(consumer->WaitFor(absl::Seconds(30)), 0);
}

}  // namespace
}  // namespace crm::events
