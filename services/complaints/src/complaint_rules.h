#pragma once
// The complaints rules (DOMAIN.md §3) as pure functions: the SLA policy table
// and target selection (CMP-3), the SLA clock computed from its transition
// log (CMP-6), the status machine (CMP-5, CMP-7), validation (CMP-1, CMP-9)
// and the revisit window (CMP-7). No I/O; time comes in as arguments.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/calendar/working_calendar.h"
#include "common/status/status.h"
#include "crm/complaints/v1/complaints.pb.h"

namespace crm::complaints {

namespace pb = ::crm::complaints::v1;

// ---- policy table (CMP-3)

struct PolicyKey {
  pb::ComplaintKind kind = pb::COMPLAINT;
  pb::Severity severity = pb::NORMAL;
  bool vip = false;
  pb::TierClass tier_class = pb::TIER_C;
};

struct SlaPolicy {
  PolicyKey key;
  absl::Duration first_response;
  absl::Duration resolution;
  pb::ClockBasis basis = pb::ELAPSED_HOURS;
  int64_t version = 1;
};

// Every kind × severity × VIP × tier class with the handbook's defaults:
// resolution 24 h for VIP or MAJOR, otherwise A 48 h, B 72 h, C 120 h;
// first response 2 h for VIP or MAJOR, otherwise 2 h / 4 h / 8 h by tier.
std::vector<SlaPolicy> DefaultPolicies();
// "slaPolicies/complaint-major-vip-a" and back (INVALID_ARGUMENT on `field`).
std::string PolicyName(const PolicyKey& key);
absl::StatusOr<PolicyKey> ParsePolicyName(const std::string& name, const std::string& field);
pb::SlaPolicy PolicyToProto(const SlaPolicy& policy);
// NOT_FOUND when the table has no row for the key.
absl::StatusOr<SlaPolicy> PolicyFor(const std::vector<SlaPolicy>& table, const PolicyKey& key);
// The shortest targets of a kind over every row: used when the customer's
// tier and VIP status cannot be read (never looser than the truth).
absl::StatusOr<SlaPolicy> StrictestPolicy(const std::vector<SlaPolicy>& table, pb::ComplaintKind kind);

// "A1"/"A2" → A, "B1"/"B2" → B, "C" and not ranked ("") → C.
pb::TierClass TierClassOf(const std::string& tier);

// ---- SLA clock (CMP-6)

struct ClockEntry {
  pb::ClockAction action = pb::CLOCK_ACTION_UNSPECIFIED;
  absl::Time time;
  std::string actor;
  std::string reason;
  absl::Duration target;  // START and RETARGET
};

struct ClockView {
  pb::ClockState state = pb::ON_TRACK;
  bool paused = false;
  bool stopped = false;
  absl::Duration target;
  absl::Duration used;
  absl::Duration remaining;
  std::optional<absl::Time> due_time;       // running only
  std::optional<absl::Time> at_risk_time;   // running and not yet at risk
  std::optional<absl::Time> breach_time;    // from a BREACH entry
};

struct ClockSettings {
  // AT_RISK once this fraction of the target is used (0 < f < 1).
  double at_risk_fraction = 0.75;
};

// The clock as of `now` from its log (in time order; the first entry is
// START). Counted time is elapsed time or business hours of `calendar`. A
// BREACH entry makes the clock BREACHED for good; a clock stopped within
// its target is MET.
ClockView EvaluateClock(pb::ClockBasis basis, const std::vector<ClockEntry>& log, absl::Time now,
                        const calendar::WorkingCalendar& calendar, const ClockSettings& settings);

// FAILED_PRECONDITION when `action` does not apply to the clock's state
// (pause a paused clock, resume a running one, anything after STOP).
absl::Status CheckClockAction(const std::vector<ClockEntry>& log, pb::ClockAction action);

// ---- status machine

// OPEN → IN_PROGRESS (first response) → WAITING_ON_CUSTOMER ⇄ IN_PROGRESS →
// RESOLUTION_PROPOSED → RESOLVED (accepted) or IN_PROGRESS (rejected) →
// CLOSED → REVISITED. FAILED_PRECONDITION naming the allowed moves.
absl::Status CheckTransition(pb::ComplaintStatus from, pb::ComplaintStatus to);
bool IsOpen(pb::ComplaintStatus status);

// ---- validation

// A complaint as given to RecordComplaint (fields under `prefix`).
void ValidateNewComplaint(const pb::Complaint& c, const std::string& prefix, Violations& v);
// The updatable fields of UpdateComplaint.
void ValidateComplaintFields(const pb::Complaint& c, const std::string& prefix, Violations& v);

// ---- revisit (CMP-7)

// The end of the calendar month (business time zone) in which `closed` falls.
absl::Time RevisitDue(absl::Time closed, const calendar::WorkingCalendar& calendar);
// CMP-7: satisfied means 4 or 5; the VIP target is more than 95 % satisfied.
inline constexpr double kVipSatisfactionTarget = 0.95;
inline bool Satisfied(int satisfaction) { return satisfaction >= 4; }

}  // namespace crm::complaints
