// Fuzz target over the scheduling service's request validation (DOMAIN.md
// §4): visit fields and times, the one-place-at-a-time conflict check (SCH-2),
// on-site days (SCH-8), the day planner (SCH-3), expense claim months (SCH-11)
// and the festivals flag (SCH-6). Bad input must come back as INVALID_ARGUMENT
// naming the field (FAILED_PRECONDITION for an on-site day the rules refuse);
// nothing may crash or hang, and a plan never double-books the manager.

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/db/idempotency.h"
#include "common/util/proto_time.h"
#include "crm/fuzz/v1/fuzz_inputs.pb.h"
#include "services/scheduling/src/day_planner.h"
#include "services/scheduling/src/scheduling_rules.h"
#include "tests/fuzz/fuzz_support.h"

namespace crm::scheduling {
namespace {

using fuzz::CheckRefusal;
using fuzz::v1::SchedulingInput;

const absl::TimeZone& Zone() {
  static const absl::TimeZone zone = [] {
    absl::TimeZone tz;
    if (!absl::LoadTimeZone("Asia/Shanghai", &tz)) tz = absl::FixedTimeZone(8 * 3600);
    return tz;
  }();
  return zone;
}

bool Booked(const pb::Visit& v) {
  Violations errors;
  ValidateVisitFields(v, errors);
  return errors.empty();
}

GeoPoint PointOf(const pb::Visit& v) {
  if (!v.has_location()) return {};
  return {v.location().latitude(), v.location().longitude(), true};
}

Slot SlotOf(const pb::Visit& v, int index) {
  return {absl::StrCat("visits/", index + 1), FromProto(v.start_time()), FromProto(v.end_time()), PointOf(v),
          v.place()};
}

void BookVisit(const pb::BookVisitRequest& req, const SchedulingInput& input) {
  CheckRefusal(db::ValidateRequestId(req.request_id()));
  Violations errors;
  ValidateVisitFields(req.visit(), errors);
  const absl::Status status = errors.ToStatus();
  CheckRefusal(status);
  if (!status.ok()) return;
  // The others were booked through the same checks.
  std::vector<Slot> others;
  int on_site = 0;
  for (int i = 0; i < input.others_size(); ++i) {
    if (!Booked(input.others(i))) continue;
    others.push_back(SlotOf(input.others(i), i));
    if (input.others(i).purpose() == pb::ON_SITE_SERVICE) ++on_site;
  }
  const Slot candidate{"", FromProto(req.visit().start_time()), FromProto(req.visit().end_time()),
                       PointOf(req.visit()), req.visit().place()};
  if (const std::optional<Conflict> conflict = FindConflict(candidate, others, TravelSettings())) {
    // Intervals are half-open: an overlap leaves negative room, a travel
    // conflict leaves less room than the gap it needs.
    const std::string detail = absl::StrCat(absl::FormatDuration(conflict->available), " of ",
                                            absl::FormatDuration(conflict->needed));
    if (conflict->kind == Conflict::Kind::kOverlap) {
      CRM_FUZZ_CHECK(conflict->available < absl::ZeroDuration(), detail);
    } else {
      CRM_FUZZ_CHECK(conflict->available >= absl::ZeroDuration() && conflict->available < conflict->needed, detail);
    }
  }
  if (req.visit().purpose() == pb::ON_SITE_SERVICE) {
    CheckRefusal(CheckOnSiteDay(candidate.start, candidate.end, Zone(), "A", false, on_site, OnSiteRules()),
                 {absl::StatusCode::kInvalidArgument, absl::StatusCode::kFailedPrecondition});
  }
}

std::string Describe(const DayPlanResult& plan) {
  std::string out = plan.algorithm;
  for (const Stop& s : plan.stops) {
    absl::StrAppend(&out, "\n  ", s.fixed ? s.visit : s.customer, " ", absl::FormatTime("%H:%M", s.start, Zone()),
                    "-", absl::FormatTime("%H:%M", s.end, Zone()), " at (", s.where.lat, ",", s.where.lng,
                    s.where.known ? "" : " unknown", ") travel ", absl::FormatDuration(s.travel));
  }
  return out;
}

// PlanDay after the service's request checks (window, visit length, at most
// 30 distinct candidates), on 2026-12-01 with the manager's booked visits of
// that day as fixed stops.
void PlanDayCase(const SchedulingInput::DayPlan& plan, const SchedulingInput& input) {
  const pb::PlanDayRequest& req = plan.request();
  const bool default_window = req.day_start_minute() == 0 && req.day_end_minute() == 0;
  const int day_start = default_window ? 9 * 60 : req.day_start_minute();
  const int day_end = default_window ? 18 * 60 : req.day_end_minute();
  if (day_start < 0 || day_end > 24 * 60 || day_start >= day_end) return;
  if (req.visit_minutes() < 0 || req.visit_minutes() > 600) return;
  if (plan.candidate_locations_size() == 0 || plan.candidate_locations_size() > 30) return;

  const absl::Time midnight = absl::FromCivil(absl::CivilDay(2026, 12, 1), Zone());
  PlanInput in;
  in.day_start = midnight + absl::Minutes(day_start);
  in.day_end = midnight + absl::Minutes(day_end);
  in.visit_length = absl::Minutes(req.visit_minutes() == 0 ? 60 : req.visit_minutes());
  if (req.has_home()) {
    if (!(std::abs(req.home().latitude()) <= 90 && std::abs(req.home().longitude()) <= 180)) return;
    in.home = GeoPoint{req.home().latitude(), req.home().longitude(), true};
  }
  for (int i = 0; i < plan.candidate_locations_size(); ++i) {
    const auto& at = plan.candidate_locations(i);
    GeoPoint where;
    if (std::abs(at.latitude()) <= 90 && std::abs(at.longitude()) <= 180) where = {at.latitude(), at.longitude(), true};
    in.candidates.push_back({absl::StrCat("customers/", i + 1), where});
  }
  for (int i = 0; i < input.others_size() && i < 200; ++i) {
    const pb::Visit& v = input.others(i);
    if (!Booked(v)) continue;
    // Moved onto the planned day, keeping the time of day and the length.
    const absl::Time start = midnight + absl::Seconds(v.start_time().seconds() % 86400 + 86400) - absl::Hours(24);
    const absl::Duration length = FromProto(v.end_time()) - FromProto(v.start_time());
    in.fixed.push_back({absl::StrCat("visits/", i + 1), absl::StrCat("customers/", 1000 + i), PointOf(v), start,
                        start + length});
  }

  const DayPlanResult result = PlanDay(in);
  std::set<std::string> placed;
  std::vector<Slot> stops;
  for (const Stop& s : result.stops) {
    if (!s.fixed) {
      CRM_FUZZ_CHECK(placed.insert(s.customer).second, s.customer + " proposed twice");
      CRM_FUZZ_CHECK(s.start >= in.day_start && s.end <= in.day_end, s.customer + " outside the day");
      CRM_FUZZ_CHECK(s.end - s.start == in.visit_length, s.customer);
    }
    stops.push_back({s.fixed ? s.visit : s.customer, s.start, s.end, s.where, ""});
  }
  for (const std::string& c : result.unscheduled) {
    CRM_FUZZ_CHECK(placed.insert(c).second, c + " both proposed and unscheduled");
  }
  CRM_FUZZ_CHECK(placed.size() == in.candidates.size(),
                 absl::StrCat(placed.size(), " of ", in.candidates.size(), " candidates accounted for"));
  // SCH-2: booking each proposed visit would pass BookVisit's check, which
  // compares it with its neighbours (the latest visit ending before it, the
  // earliest starting after it) and anything overlapping it.
  for (size_t i = 0; i < result.stops.size(); ++i) {
    if (i > 0) CRM_FUZZ_CHECK(result.stops[i - 1].start <= result.stops[i].start, "stops out of time order");
    if (result.stops[i].fixed) continue;
    const Slot& candidate = stops[i];
    std::vector<Slot> neighbours;
    const Slot* before = nullptr;
    const Slot* after = nullptr;
    for (size_t j = 0; j < stops.size(); ++j) {
      if (j == i) continue;
      const Slot& other = stops[j];
      if (other.start < candidate.end && candidate.start < other.end) {
        neighbours.push_back(other);
      } else if (other.end <= candidate.start) {
        if (before == nullptr || other.end > before->end) before = &other;
      } else if (after == nullptr || other.start < after->start) {
        after = &other;
      }
    }
    if (before != nullptr) neighbours.push_back(*before);
    if (after != nullptr) neighbours.push_back(*after);
    const std::optional<Conflict> conflict = FindConflict(candidate, neighbours, in.travel);
    CRM_FUZZ_CHECK(!conflict.has_value(), absl::StrCat(result.stops[i].customer, " conflicts with ",
                                                       conflict ? conflict->with : "", "; ", Describe(result)));
  }
}

void CreateExpenseClaim(const pb::CreateExpenseClaimRequest& req) {
  CheckRefusal(db::ValidateRequestId(req.request_id()));
  absl::StatusOr<absl::CivilMonth> month = ParseMonth(req.claim().month(), "claim.month");
  CheckRefusal(month.status());
  if (!month.ok()) return;
  absl::StatusOr<absl::CivilMonth> again = ParseMonth(FormatMonth(*month), "claim.month");
  CRM_FUZZ_CHECK(again.ok() && *again == *month, FormatMonth(*month));
}

// A start-up flag, not a request: refused as INVALID_ARGUMENT with a message
// (the process stops), no field violations.
void Festivals(const std::string& flag) {
  absl::StatusOr<std::vector<Festival>> festivals = ParseFestivals(flag);
  if (!festivals.ok()) {
    CRM_FUZZ_CHECK(festivals.status().code() == absl::StatusCode::kInvalidArgument, festivals.status().ToString());
    return;
  }
  for (const Festival& f : *festivals) {
    CRM_FUZZ_CHECK(f.month >= 1 && f.month <= 12 && f.day >= 1 && f.day <= 31, f.title);
    NextOccurrence(f.month, f.day, absl::CivilDay(2026, 12, 1), 7);
  }
}

}  // namespace
}  // namespace crm::scheduling

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace s = crm::scheduling;
  using crm::fuzz::v1::SchedulingInput;
  SchedulingInput input;
  if (!crm::fuzz::ParseInput(data, size, input)) return -1;  // not kept in the corpus
  switch (input.request_case()) {
    case SchedulingInput::kBookVisit: s::BookVisit(input.book_visit(), input); break;
    case SchedulingInput::kPlanDay: s::PlanDayCase(input.plan_day(), input); break;
    case SchedulingInput::kCreateExpenseClaim: s::CreateExpenseClaim(input.create_expense_claim()); break;
    case SchedulingInput::kFestivalsFlag: s::Festivals(input.festivals_flag()); break;
    case SchedulingInput::REQUEST_NOT_SET: break;
  }
  return 0;
}
