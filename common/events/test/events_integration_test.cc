// The event backbone against a real MariaDB: outbox appends from concurrent
// transactions, the feed over real gRPC, the consumer's exactly-once
// application, pruning and access control.
#include <google/protobuf/util/time_util.h>
#include <google/protobuf/wrappers.pb.h>

#include <atomic>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/db/transaction.h"
#include "common/events/consumer.h"
#include "common/events/outbox.h"
#include "common/events/pruner.h"
#include "common/events/test/event_test_support.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_database.h"
#include "gtest/gtest.h"

namespace crm::events {
namespace {

using ::crm::testing::HasFieldViolation;
using ::crm::testing::IsOk;
using ::crm::testing::StatusIs;
using ::testing::HasSubstr;
using namespace ::crm::events::testing;  // NOLINT: the test support vocabulary

constexpr absl::Duration kWait = absl::Seconds(60);

class EventsIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto producer_db = crm::testing::TestDatabase::Create(16);
    ASSERT_TRUE(producer_db.ok()) << producer_db.status();
    producer_db_.emplace(std::move(*producer_db));
    auto consumer_db = crm::testing::TestDatabase::Create(8);
    ASSERT_TRUE(consumer_db.ok()) << consumer_db.status();
    consumer_db_.emplace(std::move(*consumer_db));
    producer_pool_ = std::make_unique<db::ConnectionPool>(producer_db_->config());
    consumer_pool_ = std::make_unique<db::ConnectionPool>(consumer_db_->config());
    const absl::Time deadline = absl::Now() + kWait;
    ASSERT_THAT(db::ApplyMigrations(*producer_pool_, ProducerMigrations(), deadline), IsOk());
    ASSERT_THAT(db::ApplyMigrations(*consumer_pool_, ConsumerMigrations(), deadline), IsOk());
    auto feed = FeedServer::Start(*producer_pool_);
    ASSERT_TRUE(feed.ok()) << feed.status();
    feed_ = std::move(*feed);
  }

  absl::StatusOr<v1::ListEventsResponse> List(int64_t after, int page_size = 0,
                                              absl::Duration max_wait = absl::ZeroDuration(),
                                              auth::Role role = auth::Role::kService) {
    v1::ListEventsRequest request;
    request.set_after_sequence(after);
    request.set_page_size(page_size);
    *request.mutable_max_wait() = google::protobuf::util::TimeUtil::MillisecondsToDuration(
        absl::ToInt64Milliseconds(max_wait));
    grpc::ClientContext context;
    context.AddMetadata("authorization", absl::StrCat("Bearer ", MintToken(role)));
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    v1::ListEventsResponse response;
    grpc::Status status = feed_->stub().ListEvents(&context, request, &response);
    if (!status.ok()) return FromGrpcStatus(status);
    return response;
  }

  ConsumerOptions Options() const {
    ConsumerOptions options;
    options.producer = kProducer;
    options.channel = feed_->channel();
    options.token_source = [] { return MintToken(auth::Role::kService); };
    options.page_size = 25;
    options.max_wait = absl::Seconds(2);
    options.backoff.initial = absl::Milliseconds(10);
    options.backoff.max = absl::Milliseconds(200);
    return options;
  }

  int64_t Consumed(const std::string& query) {
    auto n = QueryInt(*consumer_pool_, query);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }
  int64_t Produced(const std::string& query) {
    auto n = QueryInt(*producer_pool_, query);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }

  // Every sequence 1..n applied exactly once.
  void ExpectEachAppliedOnce(int64_t n) {
    auto summary = EffectsSummary(*consumer_pool_);
    ASSERT_THAT(summary, IsOk());
    EXPECT_EQ(*summary, OnceEach(n));
  }

  std::optional<crm::testing::TestDatabase> producer_db_, consumer_db_;
  std::unique_ptr<db::ConnectionPool> producer_pool_, consumer_pool_;
  std::unique_ptr<FeedServer> feed_;
};

TEST_F(EventsIntegrationTest, ConcurrentAppendsAreGapFreeInCommitOrderAndConsumedOnce) {
  constexpr int kWriters = 8;
  constexpr int kPerWriter = 100;
  constexpr int kTotal = kWriters * kPerWriter;

  Consumer consumer(*consumer_pool_, Options(), RecordEffect);
  consumer.Start();

  // A reader racing the writers: every page must continue its cursor
  // exactly (a later-committed lower sequence would show up as a gap).
  std::atomic<bool> reader_failed{false};
  std::thread reader([&] {
    int64_t cursor = 0;
    const absl::Time deadline = absl::Now() + kWait;
    while (cursor < kTotal && absl::Now() < deadline) {
      auto page = List(cursor, 7, absl::Seconds(1));
      if (!page.ok()) {
        ADD_FAILURE() << page.status();
        reader_failed = true;
        return;
      }
      for (const v1::Event& e : page->events()) {
        if (e.sequence() != cursor + 1) {
          ADD_FAILURE() << "after " << cursor << " came " << e.sequence();
          reader_failed = true;
          return;
        }
        cursor = e.sequence();
      }
    }
    EXPECT_EQ(cursor, kTotal);
  });

  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        auto seq = PlaceOrder(*producer_pool_, absl::StrCat("w", w, "-", i));
        EXPECT_TRUE(seq.ok()) << seq.status();
      }
    });
  }
  for (std::thread& t : writers) t.join();
  reader.join();
  EXPECT_FALSE(reader_failed);

  EXPECT_EQ(Produced("SELECT COUNT(*) FROM orders"), kTotal);
  EXPECT_EQ(Produced("SELECT COUNT(*) FROM event_outbox"), kTotal);
  EXPECT_EQ(Produced("SELECT MAX(sequence) FROM event_outbox"), kTotal);

  ASSERT_TRUE(consumer.WaitForCursor(kTotal, kWait)) << consumer.cursor();
  consumer.Stop();
  ExpectEachAppliedOnce(kTotal);
  // Each effect carries the note of the order its event was appended with.
  EXPECT_EQ(Consumed("SELECT COUNT(DISTINCT note) FROM effects"), kTotal);
}

TEST_F(EventsIntegrationTest, RollbackOfTheBusinessTransactionLeavesNoEventAndNoGap) {
  absl::Status rolled_back = db::RunInTransaction(
      *producer_pool_, absl::Now() + kWait, [&](sql::Connection& conn) -> absl::Status {
        PlaceOrderIn(conn, "doomed");
        return absl::FailedPreconditionError("business rule says no");
      });
  EXPECT_THAT(rolled_back, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(Produced("SELECT COUNT(*) FROM orders"), 0);
  EXPECT_EQ(Produced("SELECT COUNT(*) FROM event_outbox"), 0);

  auto seq = PlaceOrder(*producer_pool_, "kept");
  ASSERT_THAT(seq, IsOk());
  EXPECT_EQ(*seq, 1);  // the rolled-back increment is not a gap
  auto page = List(0);
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->events_size(), 1);
  EXPECT_EQ(page->head_sequence(), 1);
}

TEST_F(EventsIntegrationTest, PagesCarryTheEnvelopeAndEndAtTheHead) {
  const absl::Time when = absl::FromUnixMicros(1798761600123456);  // 2027-01-01, microseconds
  ASSERT_THAT(db::RunInTransaction(*producer_pool_, absl::Now() + kWait,
                                   [&](sql::Connection& conn) -> absl::Status {
                                     google::protobuf::Int64Value payload;
                                     payload.set_value(-1);  // binary bytes, 0xff…
                                     AppendEvent(conn, "客户/1", payload, when);
                                     return absl::OkStatus();
                                   }),
              IsOk());
  for (int i = 2; i <= 25; ++i) ASSERT_THAT(PlaceOrder(*producer_pool_, absl::StrCat("o", i)), IsOk());

  auto first = List(0, 10);
  ASSERT_THAT(first, IsOk());
  ASSERT_EQ(first->events_size(), 10);
  EXPECT_EQ(first->head_sequence(), 25);
  const v1::Event& e = first->events(0);
  EXPECT_EQ(e.sequence(), 1);
  EXPECT_EQ(e.type(), "google.protobuf.Int64Value");
  EXPECT_EQ(e.resource_name(), "客户/1");
  EXPECT_EQ(e.producer(), kProducer);
  EXPECT_EQ(google::protobuf::util::TimeUtil::TimestampToMicroseconds(e.event_time()),
            absl::ToUnixMicros(when));
  google::protobuf::Int64Value unpacked;
  ASSERT_TRUE(e.payload().UnpackTo(&unpacked));
  EXPECT_EQ(unpacked.value(), -1);
  google::protobuf::StringValue note;
  ASSERT_TRUE(first->events(1).payload().UnpackTo(&note));
  EXPECT_EQ(note.value(), "o2");

  auto second = List(10, 10);
  ASSERT_THAT(second, IsOk());
  ASSERT_EQ(second->events_size(), 10);
  EXPECT_EQ(second->events(0).sequence(), 11);
  auto third = List(20, 10);
  ASSERT_THAT(third, IsOk());
  ASSERT_EQ(third->events_size(), 5);
  EXPECT_EQ(third->events(4).sequence(), 25);
  auto end = List(25, 10);
  ASSERT_THAT(end, IsOk());
  EXPECT_EQ(end->events_size(), 0);
  EXPECT_EQ(end->head_sequence(), 25);
  // page_size 0 means the default, and a page never exceeds the cap.
  auto by_default = List(0, 0);
  ASSERT_THAT(by_default, IsOk());
  EXPECT_EQ(by_default->events_size(), 25);
}

TEST_F(EventsIntegrationTest, LongPollAnswersWhenAnEventCommitsAndOtherwiseAtMaxWait) {
  const absl::Time start = absl::Now();
  auto empty = List(0, 10, absl::Milliseconds(300));
  ASSERT_THAT(empty, IsOk());
  EXPECT_EQ(empty->events_size(), 0);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));

  // The waiting call returns the event committed while it waits.
  absl::StatusOr<v1::ListEventsResponse> waited;
  std::thread poll([&] { waited = List(0, 10, absl::Seconds(15)); });
  ASSERT_THAT(PlaceOrder(*producer_pool_, "late"), IsOk());
  poll.join();
  ASSERT_THAT(waited, IsOk());
  ASSERT_EQ(waited->events_size(), 1);
  EXPECT_EQ(waited->events(0).sequence(), 1);
}

TEST_F(EventsIntegrationTest, PrunedCursorIsOutOfRangeAndTheNewestEventIsKept) {
  for (int i = 1; i <= 10; ++i) ASSERT_THAT(PlaceOrder(*producer_pool_, absl::StrCat("o", i)), IsOk());
  // Everything is older than an hour from now, but the newest event stays.
  auto pruned = PruneEvents(*producer_pool_, absl::Now() + absl::Hours(1), absl::Now() + kWait,
                            /*batch_size=*/4);
  ASSERT_THAT(pruned, IsOk());
  EXPECT_EQ(*pruned, 9);
  EXPECT_EQ(Produced("SELECT MIN(sequence) FROM event_outbox"), 10);

  EXPECT_THAT(List(0), StatusIs(absl::StatusCode::kOutOfRange,
                                HasSubstr("events 1..9 were pruned; the oldest retained event is 10")));
  EXPECT_THAT(List(8), StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("9..9")));
  auto tail = List(9);
  ASSERT_THAT(tail, IsOk());
  ASSERT_EQ(tail->events_size(), 1);
  EXPECT_EQ(tail->events(0).sequence(), 10);
  EXPECT_THAT(List(11), StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("ahead")));

  // Numbering continues after pruning; a recent cut-off prunes nothing.
  auto next = PlaceOrder(*producer_pool_, "o11");
  ASSERT_THAT(next, IsOk());
  EXPECT_EQ(*next, 11);
  auto none = PruneEvents(*producer_pool_, absl::Now() - absl::Hours(1), absl::Now() + kWait);
  ASSERT_THAT(none, IsOk());
  EXPECT_EQ(*none, 0);

  // A consumer behind the retention stops with the error instead of skipping.
  Consumer consumer(*consumer_pool_, Options(), RecordEffect);
  EXPECT_THAT(consumer.PollOnce(), StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_EQ(Consumed("SELECT COUNT(*) FROM effects"), 0);
}

TEST_F(EventsIntegrationTest, PrunerThreadPrunesByRetentionAndStopsPromptly) {
  for (int i = 1; i <= 5; ++i) ASSERT_THAT(PlaceOrder(*producer_pool_, absl::StrCat("o", i)), IsOk());
  FakeClock clock(absl::Now() + absl::Hours(2));  // the events are two hours old
  EventPrunerOptions options;
  options.retention = absl::Hours(1);
  options.interval = absl::Hours(1);
  EventPruner pruner(*producer_pool_, options, clock);
  pruner.Start();
  // The first run happens at Start; wait for its effect.
  const absl::Time deadline = absl::Now() + kWait;
  while (Produced("SELECT COUNT(*) FROM event_outbox") != 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(Produced("SELECT MIN(sequence) FROM event_outbox"), 5);
  pruner.Stop();  // returns although the next run is an hour away
}

TEST_F(EventsIntegrationTest, OnlyServiceAndAdminMayReadTheFeed) {
  ASSERT_THAT(PlaceOrder(*producer_pool_, "secret"), IsOk());
  EXPECT_THAT(List(0, 0, absl::ZeroDuration(), auth::Role::kManager),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(List(0, 0, absl::ZeroDuration(), auth::Role::kSupervisor),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(List(0, 0, absl::ZeroDuration(), auth::Role::kAdmin), IsOk());
  EXPECT_THAT(List(0, 0, absl::ZeroDuration(), auth::Role::kService), IsOk());

  grpc::ClientContext anonymous;
  v1::ListEventsResponse response;
  EXPECT_THAT(FromGrpcStatus(feed_->stub().ListEvents(&anonymous, {}, &response)),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(EventsIntegrationTest, BadRequestsNameTheirFields) {
  EXPECT_THAT(List(-1), HasFieldViolation("after_sequence"));
  EXPECT_THAT(List(0, -5), HasFieldViolation("page_size"));
  EXPECT_THAT(List(0, 0, -absl::Seconds(1)), HasFieldViolation("max_wait"));
}

TEST_F(EventsIntegrationTest, ConsumerResumesFromItsCursorAfterARestart) {
  for (int i = 1; i <= 5; ++i) ASSERT_THAT(PlaceOrder(*producer_pool_, absl::StrCat("o", i)), IsOk());
  {
    Consumer first(*consumer_pool_, Options(), RecordEffect);
    first.Start();
    ASSERT_TRUE(first.WaitForCursor(5, kWait));
  }  // destroyed: stopped
  for (int i = 6; i <= 12; ++i) ASSERT_THAT(PlaceOrder(*producer_pool_, absl::StrCat("o", i)), IsOk());
  Consumer second(*consumer_pool_, Options(), RecordEffect);
  ASSERT_THAT(second.PollOnce(), IsOk());  // loads cursor 5 and applies 6..12
  EXPECT_EQ(second.cursor(), 12);
  ExpectEachAppliedOnce(12);
}

TEST_F(EventsIntegrationTest, AFailingHandlerRollsBackItsEffectAndIsRetriedUntilItSucceeds) {
  for (int i = 1; i <= 6; ++i) ASSERT_THAT(PlaceOrder(*producer_pool_, absl::StrCat("o", i)), IsOk());
  std::atomic<int> failures{0};
  Consumer consumer(*consumer_pool_, Options(), [&](sql::Connection& conn, const v1::Event& e) {
    // Writes its effect, then fails twice on event 3: the effect must roll back.
    RETURN_IF_ERROR(RecordEffect(conn, e));
    if (e.sequence() == 3 && failures.fetch_add(1) < 2) return absl::UnavailableError("flaky");
    return absl::OkStatus();
  });
  consumer.Start();
  ASSERT_TRUE(consumer.WaitForCursor(6, kWait));
  consumer.Stop();
  EXPECT_EQ(failures.load(), 3);
  ExpectEachAppliedOnce(6);
}

TEST_F(EventsIntegrationTest, AnEventThatKeepsFailingHoldsTheCursorRightBeforeIt) {
  for (int i = 1; i <= 10; ++i) ASSERT_THAT(PlaceOrder(*producer_pool_, absl::StrCat("o", i)), IsOk());
  Consumer consumer(*consumer_pool_, Options(), [](sql::Connection& conn, const v1::Event& e) {
    RETURN_IF_ERROR(RecordEffect(conn, e));
    return e.sequence() == 7 ? absl::InternalError("poison") : absl::OkStatus();
  });
  consumer.Start();
  // 1..10 go in one transaction first; after it fails, one at a time.
  ASSERT_TRUE(consumer.WaitForCursor(6, kWait));
  consumer.Stop();
  ExpectEachAppliedOnce(6);
}

TEST_F(EventsIntegrationTest, RepeatedDeliveryToTwoConsumerReplicasAppliesEachEventOnce) {
  constexpr int kTotal = 60;
  for (int i = 1; i <= kTotal; ++i) ASSERT_THAT(PlaceOrder(*producer_pool_, absl::StrCat("o", i)), IsOk());
  // Both replicas pull the same pages; the cursor row decides who applies.
  Consumer a(*consumer_pool_, Options(), RecordEffect);
  Consumer b(*consumer_pool_, Options(), RecordEffect);
  a.Start();
  b.Start();
  ASSERT_TRUE(a.WaitForCursor(kTotal, kWait));
  ASSERT_TRUE(b.WaitForCursor(kTotal, kWait));
  a.Stop();
  b.Stop();
  ExpectEachAppliedOnce(kTotal);
}

// When each pull of the consumer's background thread starts (its token is
// asked for right before).
class PullClock {
 public:
  std::function<std::string()> TokenSource() {
    return [this] {
      absl::MutexLock lock(&mu_);
      starts_.push_back(absl::Now());
      return MintToken(auth::Role::kService);
    };
  }
  std::vector<absl::Time> starts() const {
    absl::MutexLock lock(&mu_);
    return starts_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<absl::Time> starts_ ABSL_GUARDED_BY(mu_);
};

TEST_F(EventsIntegrationTest, ACaughtUpConsumerLingersBeforeItsNextPull) {
  ASSERT_THAT(PlaceOrder(*producer_pool_, "o1"), IsOk());
  ConsumerOptions options = Options();
  options.linger = absl::Milliseconds(300);
  PullClock clock;
  options.token_source = clock.TokenSource();
  bool appended = false;
  absl::Time first_applied = absl::InfiniteFuture();
  std::map<int64_t, size_t> pull_of;  // event → the pull that brought it
  // Applying event 1 (which caught up with the head) appends 2..6: they are
  // committed before the linger starts.
  Consumer consumer(*consumer_pool_, options, [&](sql::Connection& conn, const v1::Event& event) -> absl::Status {
    if (event.sequence() == 1 && !appended) {
      for (int i = 2; i <= 6; ++i) RETURN_IF_ERROR(PlaceOrder(*producer_pool_, absl::StrCat("o", i)).status());
      appended = true;
      first_applied = absl::Now();
    }
    pull_of[event.sequence()] = clock.starts().size();
    return RecordEffect(conn, event);
  });
  consumer.Start();
  ASSERT_TRUE(consumer.WaitForCursor(6, kWait));
  consumer.Stop();
  const std::vector<absl::Time> starts = clock.starts();
  ASSERT_GE(starts.size(), 2u);
  EXPECT_GE(starts[1] - first_applied, options.linger);
  const std::map<int64_t, size_t> expected = {{1, 1}, {2, 2}, {3, 2}, {4, 2}, {5, 2}, {6, 2}};
  EXPECT_EQ(pull_of, expected);
  ExpectEachAppliedOnce(6);
}

TEST_F(EventsIntegrationTest, ABacklogIsReadWithoutLingeringAndStopEndsALinger) {
  for (int i = 1; i <= 60; ++i) ASSERT_THAT(PlaceOrder(*producer_pool_, absl::StrCat("o", i)), IsOk());
  ConsumerOptions options = Options();  // pages of 25: 1–25 and 26–50 end short of the head
  options.linger = absl::Hours(1);
  PullClock clock;
  options.token_source = clock.TokenSource();
  Consumer consumer(*consumer_pool_, options, RecordEffect);
  consumer.Start();
  ASSERT_TRUE(consumer.WaitForCursor(60, kWait));  // an hour's linger after a page would fail this
  ExpectEachAppliedOnce(60);
  EXPECT_EQ(clock.starts().size(), 3u);
  const absl::Time start = absl::Now();
  consumer.Stop();  // lingering now, after 51–60 reached the head
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(EventsIntegrationTest, ConsumerStopReturnsPromptlyDuringALongPoll) {
  ConsumerOptions options = Options();
  options.max_wait = absl::Seconds(25);
  absl::Notification pulling;
  options.token_source = [&pulling] {  // asked for right before the pull starts
    if (!pulling.HasBeenNotified()) pulling.Notify();
    return MintToken(auth::Role::kService);
  };
  Consumer consumer(*consumer_pool_, options, RecordEffect);
  consumer.Start();
  ASSERT_TRUE(pulling.WaitForNotificationWithTimeout(kWait));
  const absl::Time start = absl::Now();
  consumer.Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

}  // namespace
}  // namespace crm::events
