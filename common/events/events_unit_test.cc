// Pure logic of the event backbone: back-off schedule and migration naming.
#include <algorithm>

#include "absl/strings/match.h"
#include "common/db/migrations.h"
#include "common/events/backoff.h"
#include "common/events/outbox.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::events {
namespace {

using ::testing::ElementsAre;

BackoffPolicy Policy() {
  BackoffPolicy p;
  p.initial = absl::Milliseconds(100);
  p.max = absl::Seconds(1);
  p.multiplier = 2.0;
  p.jitter = 0.2;
  return p;
}

std::vector<absl::Duration> Take(Backoff& b, int n) {
  std::vector<absl::Duration> out;
  for (int i = 0; i < n; ++i) out.push_back(b.Next());
  return out;
}

TEST(BackoffTest, DoublesUpToTheCapWithoutJitterAtTheMidpoint) {
  Backoff b(Policy(), [] { return 0.5; });
  EXPECT_THAT(Take(b, 6),
              ElementsAre(absl::Milliseconds(100), absl::Milliseconds(200), absl::Milliseconds(400),
                          absl::Milliseconds(800), absl::Seconds(1), absl::Seconds(1)));
}

TEST(BackoffTest, JitterStaysWithinItsBandAndUnderTheCap) {
  Backoff low(Policy(), [] { return 0.0; });
  EXPECT_THAT(Take(low, 5), ElementsAre(absl::Milliseconds(80), absl::Milliseconds(160),
                                        absl::Milliseconds(320), absl::Milliseconds(640),
                                        absl::Milliseconds(800)));
  Backoff high(Policy(), [] { return 0.999999; });
  const std::vector<absl::Duration> delays = Take(high, 6);
  EXPECT_GT(delays[0], absl::Milliseconds(119));
  EXPECT_LE(delays[0], absl::Milliseconds(120));
  EXPECT_EQ(delays[4], absl::Seconds(1));  // 1.2 s capped
  EXPECT_EQ(delays[5], absl::Seconds(1));
}

TEST(BackoffTest, RandomJitterIsAlwaysInTheBand) {
  Backoff b(Policy());
  absl::Duration base = absl::Milliseconds(100);
  for (int i = 0; i < 50; ++i) {
    const absl::Duration d = b.Next();
    EXPECT_GE(d, base * 0.8) << i;
    EXPECT_LE(d, std::min(base * 1.2, absl::Seconds(1))) << i;
    base = std::min(base * 2, absl::Seconds(1));
  }
}

TEST(BackoffTest, ResetStartsOver) {
  Backoff b(Policy(), [] { return 0.5; });
  Take(b, 4);
  b.Reset();
  EXPECT_EQ(b.Next(), absl::Milliseconds(100));
}

TEST(EventMigrationsTest, NamesAreReservedUniqueAndSortBeforeServiceMigrations) {
  const std::vector<db::Migration> events = EventMigrations();
  ASSERT_FALSE(events.empty());
  for (const db::Migration& m : events) {
    EXPECT_TRUE(absl::StartsWith(m.name, kEventMigrationPrefix)) << m.name;
    EXPECT_LT(m.name, "V001__") << m.name;
    EXPECT_FALSE(db::SplitStatements(m.sql).empty()) << m.name;
  }
  EXPECT_TRUE(std::is_sorted(events.begin(), events.end(),
                             [](const auto& a, const auto& b) { return a.name < b.name; }));
  EXPECT_TRUE(std::adjacent_find(events.begin(), events.end(), [](const auto& a, const auto& b) {
                return a.name == b.name;
              }) == events.end());
}

TEST(EventMigrationsTest, WithEventTablesPutsEventTablesFirstAndKeepsTheService) {
  const std::vector<db::Migration> all =
      WithEventTables({{"V002__b.sql", "SELECT 2;"}, {"V001__a.sql", "SELECT 1;"}});
  std::vector<std::string> names;
  for (const db::Migration& m : all) names.push_back(m.name);
  EXPECT_THAT(names, ElementsAre("V000_events_001__outbox.sql", "V000_events_002__cursors.sql",
                                 "V002__b.sql", "V001__a.sql"));
}

TEST(EventMigrationsTest, ChecksumsAreStable) {
  // Released migrations must never change: a changed file is refused at
  // start-up by every database it was applied to. Add a new one instead.
  const std::vector<db::Migration> events = EventMigrations();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(db::Sha256Hex(events[0].sql),
            "6ef48991f09bef1e8d1816923a32bcc83ef038ec62cb8343b85b7c1ea06244b8");
  EXPECT_EQ(db::Sha256Hex(events[1].sql),
            "7b7abb53c2845a1e1bb7714087bd3b109dbb218764a360c7f34b6be052ff1ba1");
}

TEST(EventMigrationsDeathTest, ReservedPrefixInAServiceMigrationAborts) {
  EXPECT_DEATH(WithEventTables({{"V000_events_009__mine.sql", "SELECT 1;"}}), "reserved");
}

}  // namespace
}  // namespace crm::events
