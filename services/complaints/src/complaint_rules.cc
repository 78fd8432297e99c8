#include "services/complaints/src/complaint_rules.h"

#include <algorithm>
#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace crm::complaints {
namespace {

constexpr pb::ComplaintKind kKinds[] = {pb::COMPLAINT, pb::SERVICE_REQUEST, pb::FAULT_REPORT};
constexpr pb::TierClass kTierClasses[] = {pb::TIER_A, pb::TIER_B, pb::TIER_C};

std::string Lower(absl::string_view s) { return absl::AsciiStrToLower(s); }

// "TIER_A" → "a".
std::string TierSegment(pb::TierClass t) { return Lower(pb::TierClass_Name(t).substr(5)); }

}  // namespace

// ---------------------------------------------------------------- policy

std::vector<SlaPolicy> DefaultPolicies() {
  std::vector<SlaPolicy> rows;
  for (pb::ComplaintKind kind : kKinds) {
    for (pb::Severity severity : {pb::NORMAL, pb::MAJOR}) {
      for (bool vip : {false, true}) {
        for (pb::TierClass tier : kTierClasses) {
          const bool urgent = vip || severity == pb::MAJOR;
          const int tier_index = tier == pb::TIER_A ? 0 : tier == pb::TIER_B ? 1 : 2;
          SlaPolicy p;
          p.key = {kind, severity, vip, tier};
          p.first_response = urgent ? absl::Hours(2) : absl::Hours(std::array{2, 4, 8}[tier_index]);
          p.resolution = urgent ? absl::Hours(24) : absl::Hours(std::array{48, 72, 120}[tier_index]);
          rows.push_back(p);
        }
      }
    }
  }
  return rows;
}

std::string PolicyName(const PolicyKey& key) {
  std::string kind = Lower(pb::ComplaintKind_Name(key.kind));
  kind.erase(std::remove(kind.begin(), kind.end(), '_'), kind.end());
  return absl::StrCat("slaPolicies/", kind, "-", Lower(pb::Severity_Name(key.severity)), "-",
                      key.vip ? "vip" : "regular", "-", TierSegment(key.tier_class));
}

absl::StatusOr<PolicyKey> ParsePolicyName(const std::string& name, const std::string& field) {
  for (pb::ComplaintKind kind : kKinds) {
    for (pb::Severity severity : {pb::NORMAL, pb::MAJOR}) {
      for (bool vip : {false, true}) {
        for (pb::TierClass tier : kTierClasses) {
          const PolicyKey key{kind, severity, vip, tier};
          if (PolicyName(key) == name) return key;
        }
      }
    }
  }
  return InvalidField(field, "expected slaPolicies/{complaint|servicerequest|faultreport}-{normal|major}-"
                             "{regular|vip}-{a|b|c}");
}

pb::SlaPolicy PolicyToProto(const SlaPolicy& policy) {
  pb::SlaPolicy out;
  out.set_name(PolicyName(policy.key));
  out.set_kind(policy.key.kind);
  out.set_severity(policy.key.severity);
  out.set_vip(policy.key.vip);
  out.set_tier_class(policy.key.tier_class);
  out.mutable_first_response_target()->set_seconds(absl::ToInt64Seconds(policy.first_response));
  out.mutable_resolution_target()->set_seconds(absl::ToInt64Seconds(policy.resolution));
  out.set_basis(policy.basis);
  out.set_etag(absl::StrCat(policy.version));
  return out;
}

absl::StatusOr<SlaPolicy> PolicyFor(const std::vector<SlaPolicy>& table, const PolicyKey& key) {
  for (const SlaPolicy& p : table) {
    if (p.key.kind == key.kind && p.key.severity == key.severity && p.key.vip == key.vip &&
        p.key.tier_class == key.tier_class) {
      return p;
    }
  }
  return absl::NotFoundError(absl::StrCat("no SLA policy ", PolicyName(key)));
}

absl::StatusOr<SlaPolicy> StrictestPolicy(const std::vector<SlaPolicy>& table, pb::ComplaintKind kind) {
  std::optional<SlaPolicy> strictest;
  for (const SlaPolicy& p : table) {
    if (p.key.kind != kind) continue;
    if (!strictest) {
      strictest = p;
      continue;
    }
    strictest->first_response = std::min(strictest->first_response, p.first_response);
    strictest->resolution = std::min(strictest->resolution, p.resolution);
    // Elapsed hours run through nights and weekends: never slower than
    // working hours for the same target.
    if (p.basis == pb::ELAPSED_HOURS) strictest->basis = pb::ELAPSED_HOURS;
  }
  if (!strictest) return absl::NotFoundError(absl::StrCat("no SLA policy for ", pb::ComplaintKind_Name(kind)));
  return *strictest;
}

pb::TierClass TierClassOf(const std::string& tier) {
  if (!tier.empty() && tier[0] == 'A') return pb::TIER_A;
  if (!tier.empty() && tier[0] == 'B') return pb::TIER_B;
  return pb::TIER_C;
}

// ---------------------------------------------------------------- clock

ClockView EvaluateClock(pb::ClockBasis basis, const std::vector<ClockEntry>& log, absl::Time now,
                        const calendar::WorkingCalendar& calendar, const ClockSettings& settings) {
  auto counted = [&](absl::Time from, absl::Time to) {
    if (to <= from) return absl::ZeroDuration();
    return basis == pb::WORKING_HOURS ? calendar.WorkingHoursBetween(from, to) : to - from;
  };
  auto advance = [&](absl::Time from, absl::Duration d) {
    return basis == pb::WORKING_HOURS ? calendar.AddWorkingHours(from, d) : from + d;
  };
  ClockView view;
  std::optional<absl::Time> running_since;
  for (const ClockEntry& e : log) {
    // Nothing changes a stopped clock except the breach job's BREACH entry
    // for a clock stopped late, which is logged after the STOP.
    if (view.stopped && e.action != pb::BREACH) continue;
    switch (e.action) {
      case pb::START:
        view.target = e.target;
        running_since = e.time;
        break;
      case pb::RETARGET:
        view.target = e.target;
        break;
      case pb::PAUSE:
        if (running_since) view.used += counted(*running_since, e.time);
        running_since.reset();
        view.paused = true;
        break;
      case pb::RESUME:
        running_since = e.time;
        view.paused = false;
        break;
      case pb::BREACH:
        view.breach_time = e.time;
        break;
      case pb::STOP:
        if (running_since) view.used += counted(*running_since, e.time);
        running_since.reset();
        view.stopped = true;
        view.paused = false;
        break;
      case pb::CLOCK_ACTION_UNSPECIFIED:
      default:
        break;
    }
  }
  if (running_since) view.used += counted(*running_since, now);
  view.remaining = view.target - view.used;
  const absl::Duration at_risk_after = view.target * settings.at_risk_fraction;
  if (view.breach_time || view.remaining < absl::ZeroDuration() ||
      (!view.stopped && view.remaining == absl::ZeroDuration())) {
    view.state = pb::BREACHED;
  } else if (view.stopped) {
    view.state = pb::MET;
  } else if (view.used >= at_risk_after) {
    view.state = pb::AT_RISK;
  } else {
    view.state = pb::ON_TRACK;
  }
  if (running_since && !view.stopped) {
    view.due_time = advance(now, std::max(view.remaining, absl::ZeroDuration()));
    if (view.used < at_risk_after) view.at_risk_time = advance(now, at_risk_after - view.used);
  }
  return view;
}

absl::Status CheckClockAction(const std::vector<ClockEntry>& log, pb::ClockAction action) {
  bool started = false, paused = false, stopped = false;
  for (const ClockEntry& e : log) {
    started |= e.action == pb::START;
    if (e.action == pb::PAUSE) paused = true;
    if (e.action == pb::RESUME) paused = false;
    stopped |= e.action == pb::STOP;
  }
  if (stopped) return absl::FailedPreconditionError("the clock is stopped");
  switch (action) {
    case pb::START:
      if (started) return absl::FailedPreconditionError("the clock is already started");
      return absl::OkStatus();
    case pb::PAUSE:
      if (paused) return absl::FailedPreconditionError("the clock is already paused");
      break;
    case pb::RESUME:
      if (!paused) return absl::FailedPreconditionError("the clock is not paused");
      break;
    default:
      break;
  }
  if (!started) return absl::FailedPreconditionError("the clock is not started");
  return absl::OkStatus();
}

// ---------------------------------------------------------------- status

namespace {

std::vector<pb::ComplaintStatus> NextStatuses(pb::ComplaintStatus from) {
  switch (from) {
    case pb::OPEN: return {pb::IN_PROGRESS, pb::WAITING_ON_CUSTOMER, pb::RESOLUTION_PROPOSED};
    case pb::IN_PROGRESS: return {pb::WAITING_ON_CUSTOMER, pb::RESOLUTION_PROPOSED};
    case pb::WAITING_ON_CUSTOMER: return {pb::IN_PROGRESS};
    case pb::RESOLUTION_PROPOSED: return {pb::RESOLVED, pb::IN_PROGRESS};
    case pb::RESOLVED: return {pb::CLOSED};
    case pb::CLOSED: return {pb::REVISITED};
    default: return {};
  }
}

}  // namespace

absl::Status CheckTransition(pb::ComplaintStatus from, pb::ComplaintStatus to) {
  const std::vector<pb::ComplaintStatus> next = NextStatuses(from);
  if (std::find(next.begin(), next.end(), to) != next.end()) return absl::OkStatus();
  std::vector<std::string> names;
  for (pb::ComplaintStatus s : next) names.push_back(pb::ComplaintStatus_Name(s));
  return absl::FailedPreconditionError(absl::StrCat(
      "a ", pb::ComplaintStatus_Name(from), " complaint cannot become ", pb::ComplaintStatus_Name(to),
      names.empty() ? "; it is final" : absl::StrCat("; allowed: ", absl::StrJoin(names, ", "))));
}

bool IsOpen(pb::ComplaintStatus status) {
  return status != pb::RESOLVED && status != pb::CLOSED && status != pb::REVISITED;
}

// ---------------------------------------------------------------- validation

namespace {

bool IsResourceName(const std::string& name, const std::vector<absl::string_view>& collections) {
  std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() != collections.size() * 2) return false;
  for (size_t i = 0; i < parts.size(); i += 2) {
    if (parts[i] != collections[i / 2] || parts[i + 1].empty() || parts[i + 1].size() > 18 ||
        parts[i + 1][0] == '0' || !std::all_of(parts[i + 1].begin(), parts[i + 1].end(), absl::ascii_isdigit)) {
      return false;
    }
  }
  return true;
}

}  // namespace

void ValidateComplaintFields(const pb::Complaint& c, const std::string& prefix, Violations& v) {
  if (!c.contact().empty()) {
    if (!IsResourceName(c.contact(), {"customers", "contacts"})) {
      v.Add(prefix + "contact", "expected customers/{id}/contacts/{id}");
    } else if (!c.customer().empty() && c.contact().rfind(c.customer() + "/", 0) != 0) {
      v.Add(prefix + "contact", "must be a contact of the complaint's customer");
    }
  }
  if (c.category() == pb::CATEGORY_UNSPECIFIED || !pb::Category_IsValid(c.category())) {
    v.Add(prefix + "category", "one of TARIFF, SERVICE, BUSINESS, NETWORK, OTHER");
  }
  if (!pb::Resolvability_IsValid(c.resolvability())) v.Add(prefix + "resolvability", "unknown value");
  CheckText(c.confirmed_statement(), prefix + "confirmed_statement", 4000, false, v);
}

void ValidateNewComplaint(const pb::Complaint& c, const std::string& prefix, Violations& v) {
  if (!IsResourceName(c.customer(), {"customers"})) v.Add(prefix + "customer", "expected customers/{id}");
  if (!pb::ComplaintKind_IsValid(c.kind())) v.Add(prefix + "kind", "unknown kind");
  if (c.channel() == pb::CHANNEL_UNSPECIFIED || !pb::Channel_IsValid(c.channel())) {
    v.Add(prefix + "channel", "one of PHONE, VISIT, SMS, EMAIL, WEB, HALL");
  }
  if (!pb::Severity_IsValid(c.severity())) v.Add(prefix + "severity", "one of NORMAL, MAJOR");
  CheckText(c.statement(), prefix + "statement", 4000, true, v);
  ValidateComplaintFields(c, prefix, v);
}

// ---------------------------------------------------------------- revisit

absl::Time RevisitDue(absl::Time closed, const calendar::WorkingCalendar& calendar) {
  const absl::CivilDay day = calendar.DayOf(closed);
  const absl::CivilMonth next_month = absl::CivilMonth(day) + 1;
  return calendar.StartOf(absl::CivilDay(next_month));
}

}  // namespace crm::complaints
