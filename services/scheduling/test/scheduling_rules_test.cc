#include "services/scheduling/src/scheduling_rules.h"

#include <cmath>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::scheduling {
namespace {

using ::crm::testing::HasFieldViolation;
using ::crm::testing::IsOk;
using ::crm::testing::StatusIs;
using ::testing::HasSubstr;

const GeoPoint kBeijing{39.9042, 116.4074, true};
const GeoPoint kShanghai{31.2304, 121.4737, true};

absl::TimeZone Zone(const char* name) {
  absl::TimeZone tz;
  EXPECT_TRUE(absl::LoadTimeZone(name, &tz)) << name;
  return tz;
}

absl::Time Utc(int y, int mo, int d, int h, int mi = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), absl::UTCTimeZone());
}

// A point `km` north of `from` (one degree of latitude is R·π/180 km).
GeoPoint North(const GeoPoint& from, double km) {
  return {from.lat + km / (6371.0088 * M_PI / 180.0), from.lng, true};
}

Slot At(std::string id, absl::Time start, absl::Time end, GeoPoint where, std::string place = "") {
  return {std::move(id), start, end, where, std::move(place)};
}

// ---------------------------------------------------------------- distance and travel

TEST(DistanceKm, KnownCityPairs) {
  EXPECT_NEAR(DistanceKm(kBeijing, kShanghai), 1068, 10);
  EXPECT_NEAR(DistanceKm(kShanghai, kBeijing), DistanceKm(kBeijing, kShanghai), 1e-9);
  const GeoPoint london{51.5074, -0.1278, true};
  const GeoPoint paris{48.8566, 2.3522, true};
  EXPECT_NEAR(DistanceKm(london, paris), 344, 5);
  EXPECT_DOUBLE_EQ(DistanceKm(kBeijing, kBeijing), 0);
  EXPECT_NEAR(DistanceKm(kBeijing, North(kBeijing, 10)), 10, 1e-6);
}

TEST(TravelTime, RoundsUpToAWholeMinute) {
  TravelSettings s;  // 30 km/h, detour 1.3: 2.6 minutes per straight-line km
  EXPECT_EQ(TravelTime(kBeijing, North(kBeijing, 10), s), absl::Minutes(26));
  EXPECT_EQ(TravelTime(kBeijing, North(kBeijing, 10.01), s), absl::Minutes(27));
  EXPECT_EQ(TravelTime(kBeijing, North(kBeijing, 1), s), absl::Minutes(3));  // 2.6 → 3
  EXPECT_EQ(TravelTime(kBeijing, North(kBeijing, 0.1), s), absl::Minutes(1));
  // Exactly ten minutes stays ten despite floating point.
  TravelSettings exact;
  exact.detour_factor = 1;
  const GeoPoint far = North(kBeijing, 7.77);
  exact.speed_kmh = DistanceKm(kBeijing, far) * 6;
  EXPECT_EQ(TravelTime(kBeijing, far, exact), absl::Minutes(10));
}

TEST(TravelTime, ZeroForUnknownOrSamePlace) {
  TravelSettings s;
  EXPECT_EQ(TravelTime(kBeijing, GeoPoint{}, s), absl::ZeroDuration());
  EXPECT_EQ(TravelTime(GeoPoint{}, kShanghai, s), absl::ZeroDuration());
  EXPECT_EQ(TravelTime(kBeijing, North(kBeijing, 0.04), s), absl::ZeroDuration());
  EXPECT_EQ(TravelTime(kBeijing, North(kBeijing, 0.06), s), absl::Minutes(1));
}

TEST(RoadKm, DetourOfKnownPointsOnly) {
  TravelSettings s;
  EXPECT_NEAR(RoadKm(kBeijing, North(kBeijing, 10), s), 13, 1e-6);
  EXPECT_EQ(RoadKm(kBeijing, GeoPoint{}, s), 0);
}

TEST(RequiredGap, SamePlaceTravelOrMargin) {
  TravelSettings s;
  const absl::Time t = Utc(2026, 11, 2, 9);
  const Slot a = At("visits/1", t, t + absl::Hours(1), kBeijing, "A 座");
  EXPECT_EQ(RequiredGap(a, At("visits/2", t, t, North(kBeijing, 0.03)), s), absl::ZeroDuration());
  EXPECT_EQ(RequiredGap(a, At("visits/2", t, t, North(kBeijing, 10)), s), absl::Minutes(36));
  EXPECT_EQ(RequiredGap(At("visits/2", t, t, North(kBeijing, 10)), a, s), absl::Minutes(36));
  // Coordinates win over place strings when both are known.
  EXPECT_EQ(RequiredGap(a, At("visits/2", t, t, North(kBeijing, 10), "A 座"), s), absl::Minutes(36));
  // Unknown location: the place strings decide; different (or empty) → margin only.
  EXPECT_EQ(RequiredGap(a, At("visits/2", t, t, GeoPoint{}, "A 座"), s), absl::ZeroDuration());
  EXPECT_EQ(RequiredGap(At("v/3", t, t, {}, "B"), At("v/4", t, t, {}, "B"), s), absl::ZeroDuration());
  EXPECT_EQ(RequiredGap(At("v/3", t, t, {}, "B"), At("v/4", t, t, {}, "C"), s), absl::Minutes(10));
  EXPECT_EQ(RequiredGap(At("v/3", t, t, {}, ""), At("v/4", t, t, {}, ""), s), absl::Minutes(10));
  EXPECT_EQ(RequiredGap(a, At("v/4", t, t, {}, "C"), s), absl::Minutes(10));
}

// ---------------------------------------------------------------- conflicts (SCH-2)

class FindConflictTest : public ::testing::Test {
 protected:
  TravelSettings s_;
  const absl::Time nine_ = Utc(2026, 11, 2, 9);
  const GeoPoint far_ = North(kBeijing, 10);  // 26 minutes away: gap 36 minutes
};

TEST_F(FindConflictTest, TouchingAtTheSamePlaceIsFine) {
  const Slot other = At("visits/1", nine_, nine_ + absl::Hours(1), kBeijing);
  const Slot cand = At("", nine_ + absl::Hours(1), nine_ + absl::Hours(2), North(kBeijing, 0.01));
  EXPECT_EQ(FindConflict(cand, {other}, s_), std::nullopt);
  // And the other way round.
  const Slot before = At("", nine_ - absl::Hours(1), nine_, kBeijing);
  EXPECT_EQ(FindConflict(before, {other}, s_), std::nullopt);
}

TEST_F(FindConflictTest, OneMinuteOverlapIsAnOverlap) {
  const Slot other = At("visits/1", nine_, nine_ + absl::Hours(1), kBeijing);
  const Slot cand = At("", nine_ + absl::Minutes(59), nine_ + absl::Hours(2), kBeijing);
  std::optional<Conflict> c = FindConflict(cand, {other}, s_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind, Conflict::Kind::kOverlap);
  EXPECT_EQ(c->with, "visits/1");
  EXPECT_EQ(c->available, absl::Minutes(-1));
  // Containment overlaps too.
  const Slot inside = At("", nine_ + absl::Minutes(10), nine_ + absl::Minutes(20), kBeijing);
  ASSERT_TRUE(FindConflict(inside, {other}, s_).has_value());
  EXPECT_EQ(FindConflict(inside, {other}, s_)->kind, Conflict::Kind::kOverlap);
}

TEST_F(FindConflictTest, TouchingAtDifferentPlacesNeedsTravelAndMargin) {
  const Slot other = At("visits/1", nine_, nine_ + absl::Hours(1), kBeijing);
  const Slot cand = At("", nine_ + absl::Hours(1), nine_ + absl::Hours(2), far_);
  std::optional<Conflict> c = FindConflict(cand, {other}, s_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind, Conflict::Kind::kTravel);
  EXPECT_EQ(c->needed, absl::Minutes(36));
  EXPECT_EQ(c->available, absl::ZeroDuration());
}

TEST_F(FindConflictTest, GapAfterAnEarlierVisit) {
  const Slot other = At("visits/1", nine_, nine_ + absl::Hours(1), kBeijing);
  const absl::Time ten = nine_ + absl::Hours(1);
  EXPECT_EQ(FindConflict(At("", ten + absl::Minutes(36), ten + absl::Hours(2), far_), {other}, s_),
            std::nullopt);
  std::optional<Conflict> c =
      FindConflict(At("", ten + absl::Minutes(35), ten + absl::Hours(2), far_), {other}, s_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind, Conflict::Kind::kTravel);
  EXPECT_EQ(c->available, absl::Minutes(35));
}

TEST_F(FindConflictTest, GapBeforeALaterVisit) {
  const Slot other = At("visits/1", nine_, nine_ + absl::Hours(1), kBeijing);
  EXPECT_EQ(FindConflict(At("", nine_ - absl::Hours(2), nine_ - absl::Minutes(36), far_), {other}, s_),
            std::nullopt);
  std::optional<Conflict> c =
      FindConflict(At("", nine_ - absl::Hours(2), nine_ - absl::Minutes(30), far_), {other}, s_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind, Conflict::Kind::kTravel);
  EXPECT_EQ(c->needed, absl::Minutes(36));
  EXPECT_EQ(c->available, absl::Minutes(30));
}

TEST_F(FindConflictTest, AcrossMidnight) {
  // 22:30–23:30, then 26 minutes of travel plus the margin: 00:06 is the
  // earliest start the next day.
  const Slot late = At("visits/1", Utc(2026, 11, 2, 22, 30), Utc(2026, 11, 2, 23, 30), kBeijing);
  EXPECT_EQ(FindConflict(At("", Utc(2026, 11, 3, 0, 20), Utc(2026, 11, 3, 1), far_), {late}, s_),
            std::nullopt);
  EXPECT_EQ(FindConflict(At("", Utc(2026, 11, 3, 0, 6), Utc(2026, 11, 3, 1), far_), {late}, s_),
            std::nullopt);
  std::optional<Conflict> c =
      FindConflict(At("", Utc(2026, 11, 3, 0, 5), Utc(2026, 11, 3, 1), far_), {late}, s_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind, Conflict::Kind::kTravel);
  EXPECT_EQ(c->available, absl::Minutes(35));
}

TEST_F(FindConflictTest, TimeZonesDoNotMatter) {
  // 07:30–08:30 in Shanghai is 23:30–00:30 UTC: a different UTC day, the
  // same local one, and the same instants whichever way they were written.
  const absl::TimeZone shanghai = Zone("Asia/Shanghai");
  const absl::Time local_start = absl::FromCivil(absl::CivilSecond(2026, 11, 3, 7, 30, 0), shanghai);
  EXPECT_EQ(local_start, Utc(2026, 11, 2, 23, 30));
  const Slot other = At("visits/1", local_start, local_start + absl::Hours(1), kBeijing);
  const Slot cand = At("", Utc(2026, 11, 3, 0, 30) + absl::Minutes(20), Utc(2026, 11, 3, 2), far_);
  std::optional<Conflict> c = FindConflict(cand, {other}, s_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind, Conflict::Kind::kTravel);
  EXPECT_EQ(c->available, absl::Minutes(20));
}

TEST_F(FindConflictTest, IgnoresItselfAndPrefersOverlaps) {
  const Slot self = At("visits/9", nine_, nine_ + absl::Hours(1), kBeijing);
  EXPECT_EQ(FindConflict(self, {self}, s_), std::nullopt);
  // A travel conflict listed first, an overlap second: the overlap is reported.
  const Slot travel = At("visits/1", nine_ - absl::Hours(1), nine_ - absl::Minutes(5), far_);
  const Slot overlap = At("visits/2", nine_ + absl::Minutes(30), nine_ + absl::Hours(2), kBeijing);
  std::optional<Conflict> c = FindConflict(self, {travel, overlap}, s_);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->with, "visits/2");
  EXPECT_EQ(c->kind, Conflict::Kind::kOverlap);
  // Two travel conflicts: the earlier one, whatever the order given.
  const Slot after = At("visits/3", nine_ + absl::Minutes(65), nine_ + absl::Hours(2), far_);
  EXPECT_EQ(FindConflict(self, {after, travel}, s_)->with, "visits/1");
  EXPECT_EQ(FindConflict(self, {travel, after}, s_)->with, "visits/1");
}

TEST_F(FindConflictTest, UnknownLocationsNeedTheMargin) {
  const Slot other = At("visits/1", nine_, nine_ + absl::Hours(1), GeoPoint{}, "客户 A");
  const absl::Time ten = nine_ + absl::Hours(1);
  EXPECT_TRUE(FindConflict(At("", ten + absl::Minutes(9), ten + absl::Hours(1), far_, "客户 B"), {other}, s_)
                  .has_value());
  EXPECT_EQ(FindConflict(At("", ten + absl::Minutes(10), ten + absl::Hours(1), far_, "客户 B"), {other}, s_),
            std::nullopt);
  EXPECT_EQ(FindConflict(At("", ten, ten + absl::Hours(1), GeoPoint{}, "客户 A"), {other}, s_),
            std::nullopt);
}

TEST(ValidateVisitTimes, Ranges) {
  const absl::Time t = Utc(2026, 11, 2, 9);
  EXPECT_THAT(ValidateVisitTimes(t, t + absl::Hours(1)), IsOk());
  EXPECT_THAT(ValidateVisitTimes(t, t + absl::Hours(24)), IsOk());
  EXPECT_THAT(ValidateVisitTimes(t, t), HasFieldViolation("visit.end_time"));
  EXPECT_THAT(ValidateVisitTimes(t, t - absl::Minutes(1)), HasFieldViolation("visit.end_time"));
  EXPECT_THAT(ValidateVisitTimes(t, t + absl::Hours(24) + absl::Seconds(1)),
              HasFieldViolation("visit.end_time"));
  EXPECT_THAT(ValidateVisitTimes(absl::UnixEpoch(), t), HasFieldViolation("visit.start_time"));
  EXPECT_THAT(ValidateVisitTimes(absl::InfinitePast(), t), HasFieldViolation("visit.start_time"));
  EXPECT_THAT(ValidateVisitTimes(t, absl::UnixEpoch()), HasFieldViolation("visit.end_time"));
  EXPECT_THAT(ValidateVisitTimes(t, absl::InfiniteFuture()), HasFieldViolation("visit.end_time"));
  // Neither set: both named.
  const absl::Status both = ValidateVisitTimes(absl::UnixEpoch(), absl::UnixEpoch());
  EXPECT_THAT(both, HasFieldViolation("visit.start_time"));
  EXPECT_THAT(both, HasFieldViolation("visit.end_time"));
}

// ---------------------------------------------------------------- care (SCH-5)

TEST(TierClassOf, CustomersTierNumbers) {
  EXPECT_EQ(TierClassOf(1), "A");
  EXPECT_EQ(TierClassOf(2), "A");
  EXPECT_EQ(TierClassOf(3), "B");
  EXPECT_EQ(TierClassOf(4), "B");
  EXPECT_EQ(TierClassOf(5), "C");
  EXPECT_EQ(TierClassOf(0), "");
  EXPECT_EQ(TierClassOf(6), "");
}

int IntervalFor(const std::vector<CareRule>& rules, std::string role, std::string vip, std::string tier) {
  const CareRule* r = MatchCareRule(rules, {std::move(role), std::move(vip), std::move(tier)});
  return r == nullptr ? -1 : r->interval_days;
}

TEST(CareRules, Defaults) {
  const std::vector<CareRule> rules = DefaultCareRules();
  ASSERT_EQ(rules.size(), 10u);
  for (size_t i = 0; i < rules.size(); ++i) {
    EXPECT_EQ(rules[i].priority, static_cast<int>(10 * (i + 1)));
    EXPECT_EQ(rules[i].id, 0);
    EXPECT_FALSE(rules[i].description.empty());
  }
  EXPECT_EQ(IntervalFor(rules, "GOVERNMENT", "", "C"), 365);
  EXPECT_EQ(IntervalFor(rules, "GOVERNMENT", "DIAMOND", "A"), 365);  // priority 10 first
  EXPECT_EQ(IntervalFor(rules, "VIP", "DIAMOND", ""), 60);
  EXPECT_EQ(IntervalFor(rules, "VIP", "GOLD", "C"), 60);
  EXPECT_EQ(IntervalFor(rules, "VIP", "SILVER", "A"), 90);
  EXPECT_EQ(IntervalFor(rules, "KEY_PERSON", "", "A"), 30);
  EXPECT_EQ(IntervalFor(rules, "CONTACT", "", "A"), 30);
  EXPECT_EQ(IntervalFor(rules, "KEY_PERSON", "", "B"), 30);
  EXPECT_EQ(IntervalFor(rules, "CONTACT", "", "B"), 30);
  EXPECT_EQ(IntervalFor(rules, "KEY_PERSON", "", "C"), 0);
  EXPECT_EQ(IntervalFor(rules, "CONTACT", "", ""), 0);
  EXPECT_EQ(IntervalFor(rules, "MEMBER", "", "A"), 0);
  EXPECT_EQ(MatchCareRule(rules, {"MEMBER", "", "A"})->priority, 90);
  EXPECT_EQ(MatchCareRule(rules, {"", "", ""})->priority, 100);
}

TEST(CareRules, PriorityThenIdNotPosition) {
  std::vector<CareRule> rules(3);
  rules[0] = {3, 50, "", "", "", 7, "late"};
  rules[1] = {2, 20, "KEY_PERSON", "", "", 14, "second id"};
  rules[2] = {1, 20, "KEY_PERSON", "", "", 21, "first id"};
  EXPECT_EQ(MatchCareRule(rules, {"KEY_PERSON", "", "A"}), &rules[2]);
  EXPECT_EQ(MatchCareRule(rules, {"CONTACT", "", "A"}), &rules[0]);
  EXPECT_EQ(MatchCareRule({}, {"CONTACT", "", "A"}), nullptr);
  std::vector<CareRule> strict = {{1, 10, "GOVERNMENT", "", "A", 365, ""}};
  EXPECT_EQ(MatchCareRule(strict, {"GOVERNMENT", "", "B"}), nullptr);
  EXPECT_EQ(MatchCareRule(strict, {"GOVERNMENT", "", "A"}), &strict[0]);
}

// ---------------------------------------------------------------- special days (SCH-6)

TEST(ParseFestivals, Items) {
  absl::StatusOr<std::vector<Festival>> f =
      ParseFestivals(" 01-01=元旦 ; 2026-02-17 = 春节;02-29=Leap day;10-01=国庆节; ");
  ASSERT_THAT(f, IsOk());
  ASSERT_EQ(f->size(), 4u);
  EXPECT_EQ((*f)[0], (Festival{0, 1, 1, "元旦"}));
  EXPECT_EQ((*f)[1], (Festival{2026, 2, 17, "春节"}));
  EXPECT_EQ((*f)[2], (Festival{0, 2, 29, "Leap day"}));
  EXPECT_EQ((*f)[3], (Festival{0, 10, 1, "国庆节"}));
  ASSERT_THAT(ParseFestivals(""), IsOk());
  EXPECT_TRUE(ParseFestivals("  ")->empty());
}

TEST(ParseFestivals, ErrorsNameTheItem) {
  for (const char* bad : {"01-01", "01-01=", "1-01=x", "13-01=x", "00-10=x", "02-30=x", "04-31=x",
                          "2025-02-29=x", "26-02-01=x", "0000-01-01=x", "01-01-01=x", "ab-cd=x",
                          "+1-01=x"}) {
    EXPECT_THAT(ParseFestivals(absl::StrCat("05-01=劳动节;", bad)),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(bad)))
        << bad;
  }
  EXPECT_THAT(ParseFestivals("2028-02-29=x"), IsOk());
}

TEST(NextOccurrence, Window) {
  const absl::CivilDay today(2026, 5, 10);
  EXPECT_EQ(NextOccurrence(5, 10, today, 0), today);
  EXPECT_EQ(NextOccurrence(5, 17, today, 7), absl::CivilDay(2026, 5, 17));
  EXPECT_EQ(NextOccurrence(5, 18, today, 7), std::nullopt);
  EXPECT_EQ(NextOccurrence(5, 9, today, 7), std::nullopt);  // passed: next year is too far
  EXPECT_EQ(NextOccurrence(5, 9, today, 365), absl::CivilDay(2027, 5, 9));
  EXPECT_EQ(NextOccurrence(5, 10, today, -1), std::nullopt);
  EXPECT_EQ(NextOccurrence(13, 1, today, 400), std::nullopt);
  EXPECT_EQ(NextOccurrence(4, 31, today, 400), std::nullopt);
}

TEST(NextOccurrence, YearWrap) {
  const absl::CivilDay today(2026, 12, 20);
  EXPECT_EQ(NextOccurrence(1, 5, today, 30), absl::CivilDay(2027, 1, 5));
  EXPECT_EQ(NextOccurrence(1, 5, today, 16), absl::CivilDay(2027, 1, 5));  // 16 days away
  EXPECT_EQ(NextOccurrence(1, 5, today, 15), std::nullopt);
  EXPECT_EQ(NextOccurrence(12, 31, today, 11), absl::CivilDay(2026, 12, 31));
}

TEST(NextOccurrence, February29) {
  EXPECT_EQ(NextOccurrence(2, 29, absl::CivilDay(2026, 2, 20), 10), absl::CivilDay(2026, 2, 28));
  EXPECT_EQ(NextOccurrence(2, 29, absl::CivilDay(2028, 2, 20), 10), absl::CivilDay(2028, 2, 29));
  EXPECT_EQ(NextOccurrence(2, 29, absl::CivilDay(2028, 2, 29), 0), absl::CivilDay(2028, 2, 29));
  // After Feb 28 of a common year, the next is the leap day of the next year.
  EXPECT_EQ(NextOccurrence(2, 29, absl::CivilDay(2027, 3, 1), 400), absl::CivilDay(2028, 2, 29));
  EXPECT_EQ(NextOccurrence(2, 28, absl::CivilDay(2028, 2, 29), 365), absl::CivilDay(2029, 2, 28));
}

// ---------------------------------------------------------------- tasks (SCH-9, SCH-7)

TEST(EndOfMonth, UtcAndDecember) {
  EXPECT_EQ(EndOfMonth(Utc(2026, 11, 15, 10), absl::UTCTimeZone()), Utc(2026, 12, 1, 0));
  EXPECT_EQ(EndOfMonth(Utc(2026, 12, 31, 23, 59), absl::UTCTimeZone()), Utc(2027, 1, 1, 0));
  EXPECT_EQ(EndOfMonth(Utc(2026, 12, 1, 0), absl::UTCTimeZone()), Utc(2027, 1, 1, 0));
}

TEST(EndOfMonth, LocalMonthInAnotherZone) {
  const absl::TimeZone shanghai = Zone("Asia/Shanghai");
  // 17:00 UTC on Nov 30 is already Dec 1 in Shanghai: the end is Jan 1 local.
  EXPECT_EQ(EndOfMonth(Utc(2026, 11, 30, 17), shanghai), Utc(2026, 12, 31, 16));
  // 15:59 UTC on Nov 30 is 23:59 local, still November.
  EXPECT_EQ(EndOfMonth(Utc(2026, 11, 30, 15, 59), shanghai), Utc(2026, 11, 30, 16));
  // New York in October (EDT, UTC−4): Nov 1 00:00 EDT.
  EXPECT_EQ(EndOfMonth(Utc(2026, 10, 15, 12), Zone("America/New_York")), Utc(2026, 11, 1, 4));
}

TEST(UrgentDeadline, Sch7) {
  EXPECT_EQ(UrgentDeadline(pb::URGENT_CARD_SERVICE), absl::Hours(2));
  EXPECT_EQ(UrgentDeadline(pb::URGENT_GOODS), absl::Hours(6));
  EXPECT_EQ(UrgentDeadline(pb::COMPLAINT_REVISIT), absl::ZeroDuration());
  EXPECT_EQ(UrgentDeadline(pb::TASK_KIND_UNSPECIFIED), absl::ZeroDuration());
}

// ---------------------------------------------------------------- on-site days (SCH-8)

class OnSiteTest : public ::testing::Test {
 protected:
  absl::Time Local(int h, int m = 0, int day = 2) {
    return absl::FromCivil(absl::CivilSecond(2026, 11, day, h, m, 0), tz_);
  }
  absl::Status Check(absl::Time start, absl::Time end, std::string tier = "A", bool high = false,
                     int already = 0) {
    return CheckOnSiteDay(start, end, tz_, tier, high, already, rules_);
  }
  const absl::TimeZone tz_ = Zone("Asia/Shanghai");
  const OnSiteRules rules_;
};

TEST_F(OnSiteTest, InsideTheWindow) {
  EXPECT_THAT(Check(Local(10), Local(14)), IsOk());
  EXPECT_THAT(Check(Local(10), Local(16)), IsOk());
  EXPECT_THAT(Check(Local(13), Local(15)), IsOk());
}

TEST_F(OnSiteTest, TimesNameTheirField) {
  EXPECT_THAT(Check(Local(9, 30), Local(14)), HasFieldViolation("visit.start_time"));
  EXPECT_THAT(Check(Local(10), Local(16, 1)), HasFieldViolation("visit.end_time"));
  EXPECT_THAT(Check(Local(11), Local(12, 59)), HasFieldViolation("visit.end_time"));
  EXPECT_THAT(Check(Local(15), Local(11, 0, 3)), HasFieldViolation("visit.end_time"));
  // Tier is judged only once the times are right.
  EXPECT_THAT(Check(Local(9), Local(10), "C"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(OnSiteTest, LocalTimeNotUtc) {
  // 02:00–06:00 UTC is 10:00–14:00 in Shanghai but outside the window in UTC.
  EXPECT_THAT(Check(Utc(2026, 11, 2, 2), Utc(2026, 11, 2, 6)), IsOk());
  EXPECT_THAT(CheckOnSiteDay(Utc(2026, 11, 2, 2), Utc(2026, 11, 2, 6), absl::UTCTimeZone(), "A",
                             false, 0, rules_),
              HasFieldViolation("visit.start_time"));
}

TEST_F(OnSiteTest, CustomersAndMonthlyLimit) {
  EXPECT_THAT(Check(Local(10), Local(14), "B"), IsOk());
  EXPECT_THAT(Check(Local(10), Local(14), "C", true), IsOk());
  EXPECT_THAT(Check(Local(10), Local(14), "C", false), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Check(Local(10), Local(14), "", true), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Check(Local(10), Local(14), "A", false, 1), IsOk());
  EXPECT_THAT(Check(Local(10), Local(14), "A", false, 2),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("at most 2")));
}

// ---------------------------------------------------------------- months (SCH-11)

TEST(ParseMonth, ValidAndInvalid) {
  absl::StatusOr<absl::CivilMonth> m = ParseMonth("2026-11", "claim.month");
  ASSERT_THAT(m, IsOk());
  EXPECT_EQ(*m, absl::CivilMonth(2026, 11));
  EXPECT_EQ(absl::CivilDay(*m), absl::CivilDay(2026, 11, 1));
  EXPECT_EQ(FormatMonth(*m), "2026-11");
  EXPECT_EQ(FormatMonth(absl::CivilMonth(2027, 1)), "2027-01");
  for (const char* bad : {"", "2026", "2026-13", "2026-00", "2026-1", "26-11", "2026/11", "2026-11-01",
                          "2026-1a", " 2026-11", "0000-05"}) {
    EXPECT_THAT(ParseMonth(bad, "claim.month"), HasFieldViolation("claim.month")) << bad;
  }
  EXPECT_THAT(ParseMonth("x", "month"), HasFieldViolation("month"));
}

}  // namespace
}  // namespace crm::scheduling
