// Fuzz target over the complaints service's request validation (DOMAIN.md
// §3): new complaints and their updates (CMP-1, CMP-9), SLA policy names
// (CMP-3) and the SLA clock read from its transition log (CMP-6). Bad input
// must come back as INVALID_ARGUMENT naming the field (FAILED_PRECONDITION
// for a clock action its state forbids); nothing may crash or hang.

#include <string>
#include <vector>

#include "common/db/idempotency.h"
#include "common/util/aip.h"
#include "common/util/proto_time.h"
#include "common/util/resource_name.h"
#include "crm/fuzz/v1/fuzz_inputs.pb.h"
#include "services/complaints/src/complaint_rules.h"
#include "tests/fuzz/fuzz_support.h"

namespace crm::complaints {
namespace {

using fuzz::CheckRefusal;
using fuzz::v1::ComplaintsInput;

void RecordComplaint(const pb::RecordComplaintRequest& req) {
  CheckRefusal(db::ValidateRequestId(req.request_id()));
  Violations v;
  ValidateNewComplaint(req.complaint(), "complaint.", v);
  CheckRefusal(v.ToStatus());
}

void UpdateComplaint(const pb::UpdateComplaintRequest& req, pb::Complaint stored) {
  CheckRefusal(ParseSingleId(req.complaint().name(), "complaints", "complaint.name").status());
  absl::StatusOr<std::vector<std::string>> paths =
      MaskPaths(req.update_mask(),
                {"contact", "category", "resolvability", "confirmed_statement", "difficult", "skip_level"});
  CheckRefusal(paths.status());
  if (!paths.ok()) return;
  ApplyMask(req.complaint(), *paths, stored);
  Violations v;
  ValidateComplaintFields(stored, "complaint.", v);
  CheckRefusal(v.ToStatus());
}

void UpdateSlaPolicy(const pb::UpdateSlaPolicyRequest& req) {
  CheckRefusal(MaskPaths(req.update_mask(), {"first_response_target", "resolution_target", "basis"}).status());
  absl::StatusOr<PolicyKey> key = ParsePolicyName(req.policy().name(), "policy.name");
  CheckRefusal(key.status());
  if (!key.ok()) return;
  // A name that parses names a row of the table, and back again.
  CRM_FUZZ_CHECK(PolicyName(*key) == req.policy().name(), req.policy().name());
  absl::StatusOr<SlaPolicy> row = PolicyFor(DefaultPolicies(), *key);
  CRM_FUZZ_CHECK(row.ok(), row.status().ToString());
}

// Times the service's clock can give: well inside 2000 … 2100.
absl::Time Clamp(absl::Time t) {
  static const absl::Time kFirst = absl::FromUnixSeconds(946684800);   // 2000-01-01
  static const absl::Time kLast = absl::FromUnixSeconds(4102444800);   // 2100-01-01
  return std::clamp(t, kFirst, kLast);
}

// The log as the service writes it: in time order, each action appended
// only when CheckClockAction allows it, targets within the policy bounds.
void Clock(const ComplaintsInput::ClockLog& in) {
  if (in.basis() == pb::CLOCK_BASIS_UNSPECIFIED || !pb::ClockBasis_IsValid(in.basis())) return;
  std::vector<ClockEntry> log;
  for (const auto& e : in.entries()) {
    const absl::Time at = Clamp(FromProto(e.time()));
    if (!log.empty() && at < log.back().time) continue;
    const absl::Status allowed = CheckClockAction(log, e.action());
    CheckRefusal(allowed, {absl::StatusCode::kFailedPrecondition});
    if (!allowed.ok()) continue;
    const absl::Duration target =
        std::clamp(absl::Seconds(e.target_seconds()), absl::Minutes(1), absl::Hours(24 * 90));
    log.push_back({e.action(), at, "fuzz", "", target});
  }
  if (log.empty()) return;
  const absl::Time now = std::max(Clamp(FromProto(in.now())), log.back().time);
  const ClockView view = EvaluateClock(in.basis(), log, now, calendar::WorkingCalendar(), ClockSettings());
  CRM_FUZZ_CHECK(pb::ClockState_IsValid(view.state) && view.state != pb::CLOCK_STATE_UNSPECIFIED,
                 std::to_string(view.state));
  CRM_FUZZ_CHECK(view.used >= absl::ZeroDuration(), absl::FormatDuration(view.used));
  CRM_FUZZ_CHECK(!view.due_time.has_value() || (!view.paused && !view.stopped), "due time of a clock not running");
  CheckRefusal(CheckClockAction(log, in.next_action()), {absl::StatusCode::kFailedPrecondition});
}

}  // namespace
}  // namespace crm::complaints

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace c = crm::complaints;
  using crm::fuzz::v1::ComplaintsInput;
  ComplaintsInput input;
  if (!crm::fuzz::ParseInput(data, size, input)) return -1;  // not kept in the corpus
  switch (input.request_case()) {
    case ComplaintsInput::kRecordComplaint: c::RecordComplaint(input.record_complaint()); break;
    case ComplaintsInput::kUpdateComplaint:
      c::UpdateComplaint(input.update_complaint(), input.stored_complaint());
      break;
    case ComplaintsInput::kUpdateSlaPolicy: c::UpdateSlaPolicy(input.update_sla_policy()); break;
    case ComplaintsInput::kClock: c::Clock(input.clock()); break;
    case ComplaintsInput::REQUEST_NOT_SET: break;
  }
  return 0;
}
