#include "services/complaints/src/complaint_rules.h"

#include <set>
#include <string>
#include <vector>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::complaints {
namespace {

using ::crm::testing::HasFieldViolation;
using ::crm::testing::IsOk;
using ::crm::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// ---- helpers

// Every instant below is a fixed civil time in the business zone
// (Asia/Shanghai), so the tests never depend on the wall clock or on TZ.
absl::Time Sh(int y, int mo, int d, int h, int mi = 0) {
  return absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), calendar::WorkingCalendar().zone());
}

// A Monday morning, away from any weekend, for the elapsed-hours clocks.
const absl::Time kT0 = Sh(2027, 3, 1, 10);

ClockEntry Start(absl::Time t, absl::Duration target) { return {pb::START, t, "alice", "", target}; }
ClockEntry Retarget(absl::Time t, absl::Duration target) {
  return {pb::RETARGET, t, "system", "re-evaluated", target};
}
ClockEntry At(pb::ClockAction action, absl::Time t) { return {action, t, "alice", "", {}}; }

ClockView Elapsed(const std::vector<ClockEntry>& log, absl::Time now, double at_risk_fraction = 0.75) {
  return EvaluateClock(pb::ELAPSED_HOURS, log, now, calendar::WorkingCalendar(),
                       ClockSettings{at_risk_fraction});
}

ClockView Working(const std::vector<ClockEntry>& log, absl::Time now,
                  const calendar::WorkingCalendar& cal = calendar::WorkingCalendar()) {
  return EvaluateClock(pb::WORKING_HOURS, log, now, cal, ClockSettings{0.75});
}

// 2027-10: Fri 1st .. Thu 7th National Day, Sat 9th a make-up working day.
calendar::WorkingCalendar NationalDay2027() {
  calendar::CalendarConfig config;
  config.zone = *calendar::LoadBusinessZone("Asia/Shanghai");
  EXPECT_THAT(calendar::ParseHolidayTable("2027-10-01..2027-10-07 holiday  # National Day\n"
                                          "2027-10-09 workday\n",
                                          config),
              IsOk());
  return *calendar::WorkingCalendar::Create(config);
}

// A complaint that passes ValidateNewComplaint; tests break one field each.
pb::Complaint ValidComplaint() {
  pb::Complaint c;
  c.set_customer("customers/1");
  c.set_contact("customers/1/contacts/7");
  c.set_channel(pb::PHONE);
  c.set_category(pb::TARIFF);
  c.set_severity(pb::NORMAL);
  c.set_statement("billed twice for March");
  return c;
}

absl::Status ValidateNew(const pb::Complaint& c) {
  Violations v;
  ValidateNewComplaint(c, "complaint.", v);
  return v.ToStatus();
}

std::vector<PolicyKey> AllKeys() {
  std::vector<PolicyKey> keys;
  for (pb::ComplaintKind kind : {pb::COMPLAINT, pb::SERVICE_REQUEST, pb::FAULT_REPORT}) {
    for (pb::Severity severity : {pb::NORMAL, pb::MAJOR}) {
      for (bool vip : {false, true}) {
        for (pb::TierClass tier : {pb::TIER_A, pb::TIER_B, pb::TIER_C}) {
          keys.push_back({kind, severity, vip, tier});
        }
      }
    }
  }
  return keys;
}

// ---- SLA clock, elapsed hours

TEST(EvaluateClockTest, OnTrackBeforeTheAtRiskThreshold) {
  const ClockView v = Elapsed({Start(kT0, absl::Hours(10))}, kT0 + absl::Hours(2));
  EXPECT_EQ(v.state, pb::ON_TRACK);
  EXPECT_FALSE(v.paused);
  EXPECT_FALSE(v.stopped);
  EXPECT_EQ(v.target, absl::Hours(10));
  EXPECT_EQ(v.used, absl::Hours(2));
  EXPECT_EQ(v.remaining, absl::Hours(8));
  ASSERT_TRUE(v.due_time.has_value());
  EXPECT_EQ(*v.due_time, kT0 + absl::Hours(10));
  ASSERT_TRUE(v.at_risk_time.has_value());
  EXPECT_EQ(*v.at_risk_time, kT0 + absl::Hours(7) + absl::Minutes(30));
  EXPECT_FALSE(v.breach_time.has_value());
}

TEST(EvaluateClockTest, AtRiskExactlyAtTheConfiguredFraction) {
  const std::vector<ClockEntry> log = {Start(kT0, absl::Hours(10))};
  // 0.75 of 10 h is 7 h 30 min.
  EXPECT_EQ(Elapsed(log, kT0 + absl::Hours(7) + absl::Minutes(29), 0.75).state, pb::ON_TRACK);
  const ClockView at = Elapsed(log, kT0 + absl::Hours(7) + absl::Minutes(30), 0.75);
  EXPECT_EQ(at.state, pb::AT_RISK);
  EXPECT_FALSE(at.at_risk_time.has_value());  // already at risk
  ASSERT_TRUE(at.due_time.has_value());
  EXPECT_EQ(*at.due_time, kT0 + absl::Hours(10));

  // Another fraction moves the threshold: 0.5 of 10 h is 5 h.
  EXPECT_EQ(Elapsed(log, kT0 + absl::Hours(4) + absl::Minutes(59), 0.5).state, pb::ON_TRACK);
  EXPECT_EQ(Elapsed(log, kT0 + absl::Hours(5), 0.5).state, pb::AT_RISK);
  // ...and 0.9 of 24 h is 21 h 36 min (no floating-point drift at the edge).
  const std::vector<ClockEntry> day = {Start(kT0, absl::Hours(24))};
  EXPECT_EQ(Elapsed(day, kT0 + absl::Hours(21) + absl::Minutes(35), 0.9).state, pb::ON_TRACK);
  EXPECT_EQ(Elapsed(day, kT0 + absl::Hours(21) + absl::Minutes(36), 0.9).state, pb::AT_RISK);
  EXPECT_EQ(*Elapsed(day, kT0, 0.9).at_risk_time, kT0 + absl::Hours(21) + absl::Minutes(36));
}

TEST(EvaluateClockTest, BreachedAtAndAfterTheTargetWhileRunning) {
  const std::vector<ClockEntry> log = {Start(kT0, absl::Hours(4))};
  EXPECT_EQ(Elapsed(log, kT0 + absl::Hours(4) - absl::Seconds(1)).state, pb::AT_RISK);

  const ClockView at = Elapsed(log, kT0 + absl::Hours(4));
  EXPECT_EQ(at.state, pb::BREACHED);
  EXPECT_EQ(at.remaining, absl::ZeroDuration());

  const ClockView after = Elapsed(log, kT0 + absl::Hours(6));
  EXPECT_EQ(after.state, pb::BREACHED);
  EXPECT_EQ(after.remaining, absl::Hours(-2));  // negative when breached
  EXPECT_EQ(after.used, absl::Hours(6));
}

TEST(EvaluateClockTest, StopWithinTheTargetIsMet) {
  const std::vector<ClockEntry> log = {Start(kT0, absl::Hours(4)), At(pb::STOP, kT0 + absl::Hours(3))};
  // Evaluated long after the target would have passed: the stop froze it.
  const ClockView v = Elapsed(log, kT0 + absl::Hours(100));
  EXPECT_EQ(v.state, pb::MET);
  EXPECT_TRUE(v.stopped);
  EXPECT_EQ(v.used, absl::Hours(3));
  EXPECT_EQ(v.remaining, absl::Hours(1));
  EXPECT_FALSE(v.due_time.has_value());
  EXPECT_FALSE(v.at_risk_time.has_value());

  // Stopping exactly at the target still meets it.
  EXPECT_EQ(Elapsed({Start(kT0, absl::Hours(4)), At(pb::STOP, kT0 + absl::Hours(4))}, kT0 + absl::Hours(9)).state,
            pb::MET);
}

TEST(EvaluateClockTest, StopAfterTheTargetIsBreached) {
  const std::vector<ClockEntry> log = {Start(kT0, absl::Hours(4)), At(pb::STOP, kT0 + absl::Hours(5))};
  const ClockView v = Elapsed(log, kT0 + absl::Hours(100));
  EXPECT_EQ(v.state, pb::BREACHED);
  EXPECT_TRUE(v.stopped);
  EXPECT_EQ(v.used, absl::Hours(5));
  EXPECT_EQ(v.remaining, absl::Hours(-1));
  EXPECT_FALSE(v.due_time.has_value());
}

// CMP-6: waiting on the customer stops the clock, even across the instant
// that would have been the deadline.
TEST(EvaluateClockTest, PauseAcrossTheDeadlineDoesNotBreach) {
  const std::vector<ClockEntry> log = {Start(kT0, absl::Hours(4)), At(pb::PAUSE, kT0 + absl::Hours(1))};
  const ClockView before = Elapsed(log, kT0 + absl::Hours(2));
  const ClockView after = Elapsed(log, kT0 + absl::Hours(30));  // 26 h past the unpaused deadline
  for (const ClockView& v : {before, after}) {
    EXPECT_EQ(v.state, pb::ON_TRACK);
    EXPECT_TRUE(v.paused);
    EXPECT_EQ(v.used, absl::Hours(1));
    EXPECT_EQ(v.remaining, absl::Hours(3));
    EXPECT_FALSE(v.due_time.has_value());      // no due time while paused
    EXPECT_FALSE(v.at_risk_time.has_value());
  }
}

TEST(EvaluateClockTest, ResumeShiftsTheDueTimeByThePausedDuration) {
  const absl::Duration paused_for = absl::Hours(29);
  const std::vector<ClockEntry> log = {Start(kT0, absl::Hours(4)), At(pb::PAUSE, kT0 + absl::Hours(1)),
                                       At(pb::RESUME, kT0 + absl::Hours(1) + paused_for)};
  const ClockView resumed = Elapsed(log, kT0 + absl::Hours(30));
  EXPECT_FALSE(resumed.paused);
  EXPECT_EQ(resumed.used, absl::Hours(1));
  ASSERT_TRUE(resumed.due_time.has_value());
  EXPECT_EQ(*resumed.due_time, kT0 + absl::Hours(4) + paused_for);
  ASSERT_TRUE(resumed.at_risk_time.has_value());
  EXPECT_EQ(*resumed.at_risk_time, kT0 + absl::Hours(3) + paused_for);

  EXPECT_EQ(Elapsed(log, kT0 + absl::Hours(4) + paused_for - absl::Seconds(1)).state, pb::AT_RISK);
  EXPECT_EQ(Elapsed(log, kT0 + absl::Hours(4) + paused_for).state, pb::BREACHED);
}

TEST(EvaluateClockTest, SeveralPausesAddUp) {
  // Running 10:00-11:00, paused, 13:00-14:00, paused, 15:00 onwards.
  const std::vector<ClockEntry> log = {
      Start(kT0, absl::Hours(4)),
      At(pb::PAUSE, kT0 + absl::Hours(1)), At(pb::RESUME, kT0 + absl::Hours(3)),
      At(pb::PAUSE, kT0 + absl::Hours(4)), At(pb::RESUME, kT0 + absl::Hours(5))};
  const ClockView v = Elapsed(log, kT0 + absl::Hours(5) + absl::Minutes(30));
  EXPECT_EQ(v.used, absl::Hours(2) + absl::Minutes(30));
  EXPECT_EQ(*v.due_time, kT0 + absl::Hours(7));
}

// A breach once detected (and notified) stays: a later, looser target must
// not turn it back into "on track".
TEST(EvaluateClockTest, BreachEntryKeepsTheClockBreachedAfterALongerRetarget) {
  const absl::Time breach = kT0 + absl::Hours(2);
  const std::vector<ClockEntry> log = {Start(kT0, absl::Hours(2)), At(pb::BREACH, breach),
                                       Retarget(kT0 + absl::Hours(3), absl::Hours(120))};
  const ClockView v = Elapsed(log, kT0 + absl::Hours(4));
  EXPECT_EQ(v.target, absl::Hours(120));
  EXPECT_EQ(v.remaining, absl::Hours(116));
  EXPECT_EQ(v.state, pb::BREACHED);
  ASSERT_TRUE(v.breach_time.has_value());
  EXPECT_EQ(*v.breach_time, breach);

  // Stopping it later does not make it MET either.
  std::vector<ClockEntry> stopped = log;
  stopped.push_back(At(pb::STOP, kT0 + absl::Hours(5)));
  EXPECT_EQ(Elapsed(stopped, kT0 + absl::Hours(6)).state, pb::BREACHED);
}

// The breach job logs BREACH for a clock that was stopped late; that entry
// comes after STOP and must still be seen, or the job would find the clock
// "breached but not yet notified" again on every later evaluation.
TEST(EvaluateClockTest, BreachLoggedAfterALateStopIsKept) {
  const absl::Time breach = kT0 + absl::Hours(5) + absl::Minutes(1);
  const std::vector<ClockEntry> log = {Start(kT0, absl::Hours(4)), At(pb::STOP, kT0 + absl::Hours(5)),
                                       At(pb::BREACH, breach)};
  const ClockView v = Elapsed(log, kT0 + absl::Hours(6));
  EXPECT_EQ(v.state, pb::BREACHED);
  EXPECT_TRUE(v.stopped);
  EXPECT_EQ(v.used, absl::Hours(5));
  ASSERT_TRUE(v.breach_time.has_value());
  EXPECT_EQ(*v.breach_time, breach);
}

TEST(EvaluateClockTest, ShorterRetargetChangesRemainingAndDueTime) {
  const std::vector<ClockEntry> log = {Start(kT0, absl::Hours(10)),
                                       Retarget(kT0 + absl::Hours(1), absl::Hours(6))};
  const ClockView v = Elapsed(log, kT0 + absl::Hours(2));
  EXPECT_EQ(v.target, absl::Hours(6));
  EXPECT_EQ(v.used, absl::Hours(2));
  EXPECT_EQ(v.remaining, absl::Hours(4));
  EXPECT_EQ(*v.due_time, kT0 + absl::Hours(6));
  EXPECT_EQ(v.state, pb::ON_TRACK);
  // 5 h used of the new 6 h target is at risk, where of 10 h it was not.
  EXPECT_EQ(Elapsed(log, kT0 + absl::Hours(5)).state, pb::AT_RISK);
  EXPECT_EQ(Elapsed(log, kT0 + absl::Hours(6)).state, pb::BREACHED);
}

// ---- SLA clock, working hours

TEST(EvaluateClockTest, WorkingHoursSkipTheWeekend) {
  // Friday 2027-03-05 17:00: one working hour on Friday, seven on Monday.
  const std::vector<ClockEntry> log = {Start(Sh(2027, 3, 5, 17), absl::Hours(8))};

  const ClockView friday = Working(log, Sh(2027, 3, 5, 17, 30));
  EXPECT_EQ(friday.used, absl::Minutes(30));
  EXPECT_EQ(*friday.due_time, Sh(2027, 3, 8, 16));

  // Used time does not grow over the weekend or the night before Monday.
  for (absl::Time now : {Sh(2027, 3, 5, 23), Sh(2027, 3, 6, 12), Sh(2027, 3, 7, 20), Sh(2027, 3, 8, 9)}) {
    const ClockView v = Working(log, now);
    EXPECT_EQ(v.used, absl::Hours(1)) << absl::FormatTime(now);
    EXPECT_EQ(v.remaining, absl::Hours(7)) << absl::FormatTime(now);
    EXPECT_EQ(v.state, pb::ON_TRACK) << absl::FormatTime(now);
    ASSERT_TRUE(v.due_time.has_value());
    EXPECT_EQ(*v.due_time, Sh(2027, 3, 8, 16)) << absl::FormatTime(now);
    // 6 of 8 working hours: Friday's one plus Monday 09:00-14:00.
    ASSERT_TRUE(v.at_risk_time.has_value());
    EXPECT_EQ(*v.at_risk_time, Sh(2027, 3, 8, 14)) << absl::FormatTime(now);
  }

  EXPECT_EQ(Working(log, Sh(2027, 3, 8, 13, 59)).state, pb::ON_TRACK);
  EXPECT_EQ(Working(log, Sh(2027, 3, 8, 14)).state, pb::AT_RISK);
  EXPECT_EQ(Working(log, Sh(2027, 3, 8, 15, 59)).state, pb::AT_RISK);
  EXPECT_EQ(Working(log, Sh(2027, 3, 8, 16)).state, pb::BREACHED);
}

TEST(EvaluateClockTest, WorkingHoursSkipHolidaysFromTheTable) {
  const calendar::WorkingCalendar cal = NationalDay2027();
  // Thursday 2027-09-30 17:00, the eve of National Day.
  const std::vector<ClockEntry> log = {Start(Sh(2027, 9, 30, 17), absl::Hours(8))};

  // Mid-holiday (a Tuesday): only Thursday's hour is used.
  const ClockView v = Working(log, Sh(2027, 10, 5, 12), cal);
  EXPECT_EQ(v.used, absl::Hours(1));
  EXPECT_EQ(v.state, pb::ON_TRACK);
  EXPECT_EQ(*v.due_time, Sh(2027, 10, 8, 16));
  // Without the holiday table it would have been due Friday 1 October.
  EXPECT_EQ(*Working(log, Sh(2027, 9, 30, 17)).due_time, Sh(2027, 10, 1, 16));

  // The make-up Saturday counts: 1 h + 9 h on the 8th + 6 h on the 9th.
  const std::vector<ClockEntry> longer = {Start(Sh(2027, 9, 30, 17), absl::Hours(16))};
  EXPECT_EQ(*Working(longer, Sh(2027, 10, 5, 12), cal).due_time, Sh(2027, 10, 9, 15));
  EXPECT_EQ(Working(longer, Sh(2027, 10, 9, 15), cal).state, pb::BREACHED);
}

TEST(EvaluateClockTest, WorkingHoursPauseOverTheWeekend) {
  // Paused Friday 17:30, resumed Monday 10:00: 30 min used before, 7.5 h after.
  const std::vector<ClockEntry> log = {Start(Sh(2027, 3, 5, 17), absl::Hours(8)),
                                       At(pb::PAUSE, Sh(2027, 3, 5, 17, 30)),
                                       At(pb::RESUME, Sh(2027, 3, 8, 10))};
  const ClockView v = Working(log, Sh(2027, 3, 8, 10));
  EXPECT_EQ(v.used, absl::Minutes(30));
  EXPECT_EQ(*v.due_time, Sh(2027, 3, 8, 17, 30));
}

// ---- clock actions

TEST(CheckClockActionTest, AllowedActions) {
  EXPECT_THAT(CheckClockAction({}, pb::START), IsOk());
  const std::vector<ClockEntry> running = {Start(kT0, absl::Hours(4))};
  EXPECT_THAT(CheckClockAction(running, pb::PAUSE), IsOk());
  EXPECT_THAT(CheckClockAction(running, pb::STOP), IsOk());
  EXPECT_THAT(CheckClockAction(running, pb::RETARGET), IsOk());
  const std::vector<ClockEntry> paused = {Start(kT0, absl::Hours(4)), At(pb::PAUSE, kT0 + absl::Hours(1))};
  EXPECT_THAT(CheckClockAction(paused, pb::RESUME), IsOk());
  EXPECT_THAT(CheckClockAction(paused, pb::STOP), IsOk());
}

TEST(CheckClockActionTest, RefusedActions) {
  const std::vector<ClockEntry> running = {Start(kT0, absl::Hours(4))};
  const std::vector<ClockEntry> paused = {Start(kT0, absl::Hours(4)), At(pb::PAUSE, kT0 + absl::Hours(1))};
  const std::vector<ClockEntry> resumed = {Start(kT0, absl::Hours(4)), At(pb::PAUSE, kT0 + absl::Hours(1)),
                                           At(pb::RESUME, kT0 + absl::Hours(2))};
  EXPECT_THAT(CheckClockAction(paused, pb::PAUSE),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("paused")));
  EXPECT_THAT(CheckClockAction(running, pb::RESUME), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(CheckClockAction(resumed, pb::RESUME), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(CheckClockAction(running, pb::START), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(CheckClockAction({}, pb::PAUSE), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(CheckClockActionTest, NothingAfterStop) {
  const std::vector<ClockEntry> stopped = {Start(kT0, absl::Hours(4)), At(pb::STOP, kT0 + absl::Hours(1))};
  for (pb::ClockAction a : {pb::START, pb::PAUSE, pb::RESUME, pb::RETARGET, pb::BREACH, pb::STOP}) {
    EXPECT_THAT(CheckClockAction(stopped, a),
                StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("stopped")))
        << pb::ClockAction_Name(a);
  }
}

// ---- policy table (CMP-3)

TEST(PolicyTableTest, DefaultsFollowTheHandbook) {
  const std::vector<SlaPolicy> table = DefaultPolicies();
  ASSERT_EQ(table.size(), 36u);
  std::set<std::string> names;
  for (const SlaPolicy& p : table) {
    names.insert(PolicyName(p.key));
    const bool urgent = p.key.vip || p.key.severity == pb::MAJOR;
    SCOPED_TRACE(PolicyName(p.key));
    EXPECT_EQ(p.basis, pb::ELAPSED_HOURS);
    if (urgent) {
      EXPECT_EQ(p.resolution, absl::Hours(24));
      EXPECT_EQ(p.first_response, absl::Hours(2));
    } else if (p.key.tier_class == pb::TIER_A) {
      EXPECT_EQ(p.resolution, absl::Hours(48));
      EXPECT_EQ(p.first_response, absl::Hours(2));
    } else if (p.key.tier_class == pb::TIER_B) {
      EXPECT_EQ(p.resolution, absl::Hours(72));
      EXPECT_EQ(p.first_response, absl::Hours(4));
    } else {
      EXPECT_EQ(p.key.tier_class, pb::TIER_C);
      EXPECT_EQ(p.resolution, absl::Hours(120));
      EXPECT_EQ(p.first_response, absl::Hours(8));
    }
  }
  EXPECT_EQ(names.size(), 36u);  // no key twice
}

TEST(PolicyTableTest, PolicyForFindsEveryKey) {
  const std::vector<SlaPolicy> table = DefaultPolicies();
  for (const PolicyKey& key : AllKeys()) {
    SCOPED_TRACE(PolicyName(key));
    absl::StatusOr<SlaPolicy> p = PolicyFor(table, key);
    ASSERT_THAT(p, IsOk());
    EXPECT_EQ(p->key.kind, key.kind);
    EXPECT_EQ(p->key.severity, key.severity);
    EXPECT_EQ(p->key.vip, key.vip);
    EXPECT_EQ(p->key.tier_class, key.tier_class);
  }
  // Spot checks of distinct rows.
  EXPECT_EQ(PolicyFor(table, {pb::COMPLAINT, pb::NORMAL, false, pb::TIER_B})->resolution, absl::Hours(72));
  EXPECT_EQ(PolicyFor(table, {pb::FAULT_REPORT, pb::NORMAL, true, pb::TIER_C})->resolution, absl::Hours(24));
  EXPECT_EQ(PolicyFor(table, {pb::SERVICE_REQUEST, pb::MAJOR, false, pb::TIER_C})->first_response,
            absl::Hours(2));
  EXPECT_THAT(PolicyFor({}, {pb::COMPLAINT, pb::NORMAL, false, pb::TIER_A}),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(PolicyTableTest, StrictestPolicyTakesTheMinimumTargets) {
  EXPECT_EQ(StrictestPolicy(DefaultPolicies(), pb::COMPLAINT)->resolution, absl::Hours(24));
  EXPECT_EQ(StrictestPolicy(DefaultPolicies(), pb::COMPLAINT)->first_response, absl::Hours(2));

  // The minima may come from different rows and other kinds must not count.
  std::vector<SlaPolicy> table = DefaultPolicies();
  for (SlaPolicy& p : table) {
    if (p.key.kind == pb::SERVICE_REQUEST && p.key.tier_class == pb::TIER_B && !p.key.vip &&
        p.key.severity == pb::NORMAL) {
      p.resolution = absl::Hours(10);
    }
    if (p.key.kind == pb::SERVICE_REQUEST && p.key.tier_class == pb::TIER_C && p.key.vip) {
      p.first_response = absl::Minutes(30);
    }
    if (p.key.kind == pb::COMPLAINT) p.resolution = absl::Hours(1);
  }
  absl::StatusOr<SlaPolicy> s = StrictestPolicy(table, pb::SERVICE_REQUEST);
  ASSERT_THAT(s, IsOk());
  EXPECT_EQ(s->resolution, absl::Hours(10));
  EXPECT_EQ(s->first_response, absl::Minutes(30));

  // Elapsed hours are never looser than working hours for the same target.
  std::vector<SlaPolicy> mixed = DefaultPolicies();
  for (SlaPolicy& p : mixed) p.basis = pb::WORKING_HOURS;
  EXPECT_EQ(StrictestPolicy(mixed, pb::COMPLAINT)->basis, pb::WORKING_HOURS);
  mixed.back().basis = pb::ELAPSED_HOURS;  // a FAULT_REPORT row
  EXPECT_EQ(StrictestPolicy(mixed, pb::FAULT_REPORT)->basis, pb::ELAPSED_HOURS);

  EXPECT_THAT(StrictestPolicy({}, pb::COMPLAINT), StatusIs(absl::StatusCode::kNotFound));
}

TEST(PolicyNameTest, RoundTripsEveryKey) {
  EXPECT_EQ(PolicyName({pb::COMPLAINT, pb::MAJOR, true, pb::TIER_A}), "slaPolicies/complaint-major-vip-a");
  EXPECT_EQ(PolicyName({pb::SERVICE_REQUEST, pb::NORMAL, false, pb::TIER_C}),
            "slaPolicies/servicerequest-normal-regular-c");
  EXPECT_EQ(PolicyName({pb::FAULT_REPORT, pb::NORMAL, false, pb::TIER_B}),
            "slaPolicies/faultreport-normal-regular-b");
  for (const PolicyKey& key : AllKeys()) {
    const std::string name = PolicyName(key);
    absl::StatusOr<PolicyKey> back = ParsePolicyName(name, "name");
    ASSERT_THAT(back, IsOk()) << name;
    EXPECT_EQ(back->kind, key.kind) << name;
    EXPECT_EQ(back->severity, key.severity) << name;
    EXPECT_EQ(back->vip, key.vip) << name;
    EXPECT_EQ(back->tier_class, key.tier_class) << name;
  }
}

TEST(PolicyNameTest, ParseRejectsGarbageNamingTheField) {
  for (const char* bad :
       {"", "slaPolicies/", "complaint-major-vip-a", "slaPolicies/complaint-major-vip-d",
        "slaPolicies/complaint-urgent-vip-a", "slaPolicies/COMPLAINT-major-vip-a",
        "slaPolicies/service_request-normal-regular-c", "slaPolicies/complaint-major-vip-a/x",
        "slaPolicies/complaint-major-vip"}) {
    EXPECT_THAT(ParsePolicyName(bad, "policy.name"), HasFieldViolation("policy.name")) << bad;
  }
}

TEST(PolicyNameTest, PolicyToProto) {
  const SlaPolicy p = *PolicyFor(DefaultPolicies(), {pb::COMPLAINT, pb::NORMAL, false, pb::TIER_B});
  const pb::SlaPolicy out = PolicyToProto(p);
  EXPECT_EQ(out.name(), "slaPolicies/complaint-normal-regular-b");
  EXPECT_EQ(out.kind(), pb::COMPLAINT);
  EXPECT_EQ(out.tier_class(), pb::TIER_B);
  EXPECT_FALSE(out.vip());
  EXPECT_EQ(out.first_response_target().seconds(), 4 * 3600);
  EXPECT_EQ(out.resolution_target().seconds(), 72 * 3600);
  EXPECT_EQ(out.etag(), "1");
}

TEST(TierClassTest, FromCustomerTier) {
  EXPECT_EQ(TierClassOf("A1"), pb::TIER_A);
  EXPECT_EQ(TierClassOf("A2"), pb::TIER_A);
  EXPECT_EQ(TierClassOf("B1"), pb::TIER_B);
  EXPECT_EQ(TierClassOf("B2"), pb::TIER_B);
  EXPECT_EQ(TierClassOf("C"), pb::TIER_C);
  EXPECT_EQ(TierClassOf(""), pb::TIER_C);  // not ranked
}

// ---- status machine

TEST(CheckTransitionTest, AllowedMoves) {
  const std::vector<std::pair<pb::ComplaintStatus, pb::ComplaintStatus>> allowed = {
      {pb::OPEN, pb::IN_PROGRESS},
      {pb::IN_PROGRESS, pb::WAITING_ON_CUSTOMER},
      {pb::WAITING_ON_CUSTOMER, pb::IN_PROGRESS},
      {pb::IN_PROGRESS, pb::RESOLUTION_PROPOSED},
      {pb::RESOLUTION_PROPOSED, pb::RESOLVED},     // accepted
      {pb::RESOLUTION_PROPOSED, pb::IN_PROGRESS},  // rejected (CMP-5)
      {pb::RESOLVED, pb::CLOSED},
      {pb::CLOSED, pb::REVISITED},
  };
  for (const auto& [from, to] : allowed) {
    EXPECT_THAT(CheckTransition(from, to), IsOk())
        << pb::ComplaintStatus_Name(from) << " → " << pb::ComplaintStatus_Name(to);
  }
}

TEST(CheckTransitionTest, RefusedMovesNameTheAllowedOnes) {
  EXPECT_THAT(CheckTransition(pb::OPEN, pb::CLOSED),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("OPEN"), HasSubstr("CLOSED"), HasSubstr("IN_PROGRESS"))));
  EXPECT_THAT(CheckTransition(pb::RESOLUTION_PROPOSED, pb::CLOSED),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("allowed: RESOLVED, IN_PROGRESS")));
  EXPECT_THAT(CheckTransition(pb::WAITING_ON_CUSTOMER, pb::RESOLVED),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("allowed: IN_PROGRESS")));
  EXPECT_THAT(CheckTransition(pb::CLOSED, pb::IN_PROGRESS),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("allowed: REVISITED")));
  EXPECT_THAT(CheckTransition(pb::RESOLVED, pb::OPEN), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(CheckTransition(pb::IN_PROGRESS, pb::IN_PROGRESS),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // REVISITED is final.
  EXPECT_THAT(CheckTransition(pb::REVISITED, pb::CLOSED),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("final")));
}

TEST(IsOpenTest, OpenUntilResolved) {
  EXPECT_TRUE(IsOpen(pb::OPEN));
  EXPECT_TRUE(IsOpen(pb::IN_PROGRESS));
  EXPECT_TRUE(IsOpen(pb::WAITING_ON_CUSTOMER));
  EXPECT_TRUE(IsOpen(pb::RESOLUTION_PROPOSED));
  EXPECT_FALSE(IsOpen(pb::RESOLVED));
  EXPECT_FALSE(IsOpen(pb::CLOSED));
  EXPECT_FALSE(IsOpen(pb::REVISITED));
}

// ---- validation (CMP-1)

TEST(ValidateNewComplaintTest, AcceptsAValidComplaint) {
  EXPECT_THAT(ValidateNew(ValidComplaint()), IsOk());
  pb::Complaint no_contact = ValidComplaint();
  no_contact.clear_contact();  // the contact is optional
  EXPECT_THAT(ValidateNew(no_contact), IsOk());
}

TEST(ValidateNewComplaintTest, MissingFieldsAreNamedWithThePrefix) {
  pb::Complaint c = ValidComplaint();
  c.clear_customer();
  c.clear_contact();
  c.clear_statement();
  c.clear_channel();
  c.clear_category();
  const absl::Status s = ValidateNew(c);
  EXPECT_THAT(s, HasFieldViolation("complaint.customer"));
  EXPECT_THAT(s, HasFieldViolation("complaint.statement"));
  EXPECT_THAT(s, HasFieldViolation("complaint.channel"));
  EXPECT_THAT(s, HasFieldViolation("complaint.category"));
  EXPECT_THAT(s, Not(HasFieldViolation("customer")));  // always under the prefix

  pb::Complaint bad_customer = ValidComplaint();
  bad_customer.set_customer("customer/1");
  EXPECT_THAT(ValidateNew(bad_customer), HasFieldViolation("complaint.customer"));
  pb::Complaint long_statement = ValidComplaint();
  long_statement.set_statement(std::string(4001, 'x'));
  EXPECT_THAT(ValidateNew(long_statement), HasFieldViolation("complaint.statement"));
}

TEST(ValidateNewComplaintTest, ContactMustBelongToTheCustomer) {
  pb::Complaint other = ValidComplaint();
  other.set_contact("customers/2/contacts/7");
  EXPECT_THAT(ValidateNew(other), HasFieldViolation("complaint.contact"));
  // customers/12 is not customers/1, even though it starts with it.
  other.set_contact("customers/12/contacts/7");
  EXPECT_THAT(ValidateNew(other), HasFieldViolation("complaint.contact"));
  other.set_contact("contacts/7");
  EXPECT_THAT(ValidateNew(other), HasFieldViolation("complaint.contact"));
}

// ---- revisit (CMP-7)

TEST(RevisitDueTest, EndOfTheCalendarMonthInTheBusinessZone) {
  const calendar::WorkingCalendar cal;
  // 23:30 on 31 March in Shanghai is still March there (15:30 UTC).
  EXPECT_EQ(RevisitDue(Sh(2027, 3, 31, 23, 30), cal), Sh(2027, 4, 1, 0));
  // 00:30 on 1 April in Shanghai is 31 March in UTC but April here.
  EXPECT_EQ(RevisitDue(Sh(2027, 4, 1, 0, 30), cal), Sh(2027, 5, 1, 0));
  EXPECT_EQ(RevisitDue(Sh(2027, 12, 15, 10), cal), Sh(2028, 1, 1, 0));
  EXPECT_EQ(RevisitDue(Sh(2028, 2, 1, 0), cal), Sh(2028, 3, 1, 0));
}

TEST(SatisfactionTest, FourAndFiveAreSatisfied) {
  EXPECT_FALSE(Satisfied(3));
  EXPECT_TRUE(Satisfied(4));
  EXPECT_TRUE(Satisfied(5));
}

}  // namespace
}  // namespace crm::complaints
