// Care cadence (SCH-5) and special days (SCH-6) over the care projection
// that the customer-event intake keeps current.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/util/aip.h"
#include "common/util/proto_time.h"
#include "common/util/resource_name.h"
#include "services/scheduling/src/scheduling_service.h"
#include "services/scheduling/src/service_internal.h"

namespace crm::scheduling {
namespace {

using internal::CursorOf;

constexpr int kMaxSpecialDaysAhead = 366;

pb::CarePolicy ToProto(const CareRule& r, int64_t version) {
  pb::CarePolicy p;
  p.set_name(absl::StrCat("carePolicies/", r.id));
  p.set_priority(r.priority);
  p.set_contact_role(r.contact_role);
  p.set_vip_level(r.vip_level);
  p.set_tier_class(r.tier_class);
  p.set_interval_days(r.interval_days);
  p.set_description(r.description);
  p.set_etag(absl::StrCat(version));
  return p;
}

}  // namespace

std::vector<CareDueItem> CareDueAt(SchedulingTx& tx, const auth::AccessScope& scope, const std::string& owner,
                                   absl::Time now) {
  const std::vector<CareRule> rules = tx.CareRules();
  std::vector<CareDueItem> out;
  for (CareContact& c : tx.CareContacts(scope, owner)) {
    const CareRule* rule = MatchCareRule(rules, {c.role, c.vip_level, TierClassOf(c.tier)});
    if (rule == nullptr || rule->interval_days <= 0) continue;
    const absl::Time due_time = c.last_care.value_or(c.since) + absl::Hours(24) * rule->interval_days;
    out.push_back({std::move(c), *rule, due_time, due_time <= now});
  }
  return out;
}

absl::Status SchedulingService::SeedCarePolicies(absl::Time deadline) {
  return store_.Transact(
      deadline,
      [](SchedulingTx& tx) {
        tx.SeedCareRules(DefaultCareRules());
        return absl::OkStatus();
      },
      "SeedCarePolicies");
}

absl::StatusOr<pb::ListCareDueResponse> SchedulingService::ListCareDue(const Call& call,
                                                                      const pb::ListCareDueRequest& req) {
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  ASSIGN_OR_RETURN(std::string owner, ActingFor(call, req.owner(), "owner"));
  if (req.horizon_days() < 0 || req.horizon_days() > 366) return InvalidField("horizon_days", "between 0 and 366");
  const int horizon = req.horizon_days() == 0 ? 7 : req.horizon_days();
  const std::string query =
      Fingerprint({"ListCareDue", call.principal.subject, owner, absl::StrCat(horizon, ",", req.overdue_only())});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  const int64_t offset = CursorOf(cursor);
  const absl::Time now = clock_.Now();

  std::vector<pb::CareDue> due;
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        for (const CareDueItem& item : CareDueAt(tx, auth::ScopeFor(call.principal), owner, now)) {
          if (req.overdue_only() ? !item.overdue : item.due_time > now + absl::Hours(24) * horizon) continue;
          const CareContact& c = item.contact;
          pb::CareDue& d = due.emplace_back();
          d.set_contact(c.contact);
          d.set_customer(c.customer);
          d.set_contact_display_name(c.display_name);
          d.set_owner(c.owner);
          d.set_interval_days(item.rule.interval_days);
          d.set_policy(absl::StrCat("carePolicies/", item.rule.id));
          if (c.last_care) crm::ToProto(*c.last_care, d.mutable_last_care_time());
          crm::ToProto(item.due_time, d.mutable_due_time());
          d.set_overdue(item.overdue);
        }
        return absl::OkStatus();
      },
      "ListCareDue"));
  // Most urgent first; the page cursor is the position in this order.
  std::stable_sort(due.begin(), due.end(), [](const pb::CareDue& a, const pb::CareDue& b) {
    if (a.due_time().seconds() != b.due_time().seconds()) return a.due_time().seconds() < b.due_time().seconds();
    return a.contact() < b.contact();
  });
  pb::ListCareDueResponse resp;
  const int64_t end = std::min<int64_t>(static_cast<int64_t>(due.size()), offset + page_size);
  for (int64_t i = offset; i < end; ++i) *resp.add_care() = std::move(due[i]);
  if (end < static_cast<int64_t>(due.size())) resp.set_next_page_token(tokens_.Encode(query, absl::StrCat(end)));
  return resp;
}

absl::StatusOr<pb::ListSpecialDaysResponse> SchedulingService::ListSpecialDays(
    const Call& call, const pb::ListSpecialDaysRequest& req) {
  ASSIGN_OR_RETURN(std::string owner, ActingFor(call, req.owner(), "owner"));
  if (req.days_ahead() < 0 || req.days_ahead() > kMaxSpecialDaysAhead) {
    return InvalidField("days_ahead", absl::StrCat("between 0 and ", kMaxSpecialDaysAhead));
  }
  const int ahead = req.days_ahead() == 0 ? settings_.special_day_lead_days : req.days_ahead();
  const absl::TimeZone& tz = calendar_.zone();
  const absl::CivilDay today = calendar_.DayOf(clock_.Now());
  pb::ListSpecialDaysResponse resp;
  const auto add = [&](pb::SpecialDayKind kind, absl::CivilDay day, std::string subject, std::string title,
                       int years) {
    pb::SpecialDay* d = resp.add_days();
    d->set_kind(kind);
    internal::SetDate(day, d->mutable_date());
    d->set_subject(std::move(subject));
    d->set_title(std::move(title));
    d->set_days_until(static_cast<int32_t>(day - today));
    d->set_years(years);
  };
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        const auth::AccessScope scope = auth::ScopeFor(call.principal);
        for (const CareContact& c : tx.CareContacts(scope, owner)) {
          if (c.birth_month == 0) continue;
          if (auto day = NextOccurrence(c.birth_month, c.birth_day, today, ahead)) {
            add(pb::BIRTHDAY, *day, c.contact, absl::StrCat("Birthday of ", c.display_name), 0);
          }
        }
        for (const CareCustomer& c : tx.CareCustomers(scope, owner)) {
          if (!c.since) continue;
          const absl::CivilDay since = absl::ToCivilDay(*c.since, tz);
          auto day = NextOccurrence(since.month(), since.day(), today, ahead);
          if (!day) continue;
          const int years = static_cast<int>(day->year() - since.year());
          if (years < 1) continue;
          add(pb::CUSTOMER_ANNIVERSARY, *day, c.customer,
              absl::StrCat(years, " years with ", c.display_name.empty() ? c.customer : c.display_name), years);
        }
        return absl::OkStatus();
      },
      "ListSpecialDays"));
  for (const Festival& f : settings_.festivals) {
    if (f.year == 0) {
      if (auto day = NextOccurrence(f.month, f.day, today, ahead)) add(pb::FESTIVAL, *day, "", f.title, 0);
    } else {
      const absl::CivilDay day(f.year, f.month, f.day);
      if (day >= today && day - today <= ahead) add(pb::FESTIVAL, day, "", f.title, 0);
    }
  }
  std::stable_sort(resp.mutable_days()->begin(), resp.mutable_days()->end(),
                   [](const pb::SpecialDay& a, const pb::SpecialDay& b) { return a.days_until() < b.days_until(); });
  return resp;
}

absl::StatusOr<pb::CareRecord> SchedulingService::RecordCare(const Call& call, const pb::RecordCareRequest& req) {
  RETURN_IF_ERROR(internal::CheckRequestId(req.request_id()));
  pb::CareRecord care = req.care();
  const absl::Time now = clock_.Now();
  Violations errors;
  if (!ParseResourceName(care.contact(), {"customers", "contacts"}, "care.contact").ok()) {
    errors.Add("care.contact", "expected customers/{id}/contacts/{id}");
  }
  if (care.kind() == pb::CARE_KIND_UNSPECIFIED || !pb::CareKind_IsValid(care.kind())) {
    errors.Add("care.kind", "one of CARE_VISIT, CARE_CALL, CARE_GIFT, CARE_GREETING");
  }
  CheckText(care.note(), "care.note", 2000, false, errors);
  const absl::Time when = care.has_care_time() ? FromProto(care.care_time()) : now;
  if (when > now + absl::Minutes(5) || when < now - absl::Hours(24 * 366)) {
    errors.Add("care.care_time", "not in the future and at most a year back");
  }
  RETURN_IF_ERROR(errors.ToStatus());
  if (call.principal.role == auth::Role::kService) return Forbidden("record care (a manager does)");
  // A phone manager serves the team's ordinary C customers (CUS-5), which
  // the owner/team rule below cannot tell (the projection has no
  // high-value flag): for them the customers service decides (GW-2).
  bool served_by_phone = false;
  if (call.principal.role == auth::Role::kPhoneManager) {
    const std::string customer = care.contact().substr(0, care.contact().find("/contacts/"));
    absl::StatusOr<CustomerSite> site = customers_.Lookup(call.upstream, customer);
    if (site.ok()) {
      served_by_phone = true;
    } else if (site.status().code() != absl::StatusCode::kNotFound) {
      return site.status();
    }
  }
  care.set_owner(call.principal.subject);
  crm::ToProto(when, care.mutable_care_time());
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        if (!req.request_id().empty()) {
          if (std::optional<std::string> done =
                  tx.FindRequest("RecordCare", call.principal.subject, req.request_id())) {
            std::optional<DocMeta> meta = tx.GetDoc(DocTable::kCareRecords, internal::IdOf(*done), false, care);
            if (!meta) return absl::InternalError("idempotency key points at a missing care record");
            care.set_name(*done);
            return absl::OkStatus();
          }
        }
        std::optional<CareContact> contact = tx.GetCareContact(care.contact());
        if (!contact ||
            !(served_by_phone || auth::InScope(auth::ScopeFor(call.principal), contact->owner, contact->team))) {
          return absl::NotFoundError(absl::StrCat(care.contact(), " not found"));
        }
        care.clear_name();
        const int64_t id = tx.InsertDoc(DocTable::kCareRecords,
                                        {.owner = care.owner(), .team = contact->team, .key = care.contact()}, care, now);
        care.set_name(absl::StrCat("careRecords/", id));
        tx.TouchCare(care.contact(), when);
        tx.Audit(care.name(), call.principal.subject, "RecordCare", pb::CareKind_Name(care.kind()), now);
        if (!req.request_id().empty()) {
          tx.RememberRequest("RecordCare", call.principal.subject, req.request_id(), care.name(), now);
        }
        return absl::OkStatus();
      },
      "RecordCare"));
  return care;
}

absl::StatusOr<pb::ListCarePoliciesResponse> SchedulingService::ListCarePolicies(
    const Call& call, const pb::ListCarePoliciesRequest&) {
  pb::ListCarePoliciesResponse resp;
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        for (const CareRule& r : tx.CareRules()) {
          std::optional<std::pair<CareRule, int64_t>> row = tx.GetCareRule(r.id, false);
          if (row) *resp.add_policies() = ToProto(row->first, row->second);
        }
        return absl::OkStatus();
      },
      "ListCarePolicies"));
  return resp;
}

absl::StatusOr<pb::CarePolicy> SchedulingService::UpdateCarePolicy(const Call& call,
                                                                  const pb::UpdateCarePolicyRequest& req) {
  if (call.principal.role != auth::Role::kAdmin) return Forbidden("change care policies (ADMIN only)");
  ASSIGN_OR_RETURN(int64_t id, ParseSingleId(req.policy().name(), "carePolicies", "policy.name"));
  ASSIGN_OR_RETURN(std::vector<std::string> paths,
                   MaskPaths(req.update_mask(), {"priority", "contact_role", "vip_level", "tier_class",
                                                 "interval_days", "description"}));
  pb::CarePolicy out;
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        std::optional<std::pair<CareRule, int64_t>> row = tx.GetCareRule(id, true);
        if (!row) return absl::NotFoundError(absl::StrCat(req.policy().name(), " not found"));
        pb::CarePolicy next = ToProto(row->first, row->second);
        RETURN_IF_ERROR(CheckEtag(req.policy().etag(), next.etag()));
        ApplyMask(req.policy(), paths, next);
        Violations errors;
        if (next.interval_days() < 0 || next.interval_days() > 3660) {
          errors.Add("policy.interval_days", "between 0 and 3660");
        }
        if (!next.tier_class().empty() && next.tier_class() != "A" && next.tier_class() != "B" &&
            next.tier_class() != "C") {
          errors.Add("policy.tier_class", "A, B, C or empty");
        }
        CheckText(next.contact_role(), "policy.contact_role", 32, false, errors);
        CheckText(next.vip_level(), "policy.vip_level", 32, false, errors);
        CheckText(next.description(), "policy.description", 500, false, errors);
        RETURN_IF_ERROR(errors.ToStatus());
        CareRule rule{id,
                      next.priority(),
                      next.contact_role(),
                      next.vip_level(),
                      next.tier_class(),
                      next.interval_days(),
                      next.description()};
        tx.UpdateCareRule(rule);
        tx.Audit(next.name(), call.principal.subject, "UpdateCarePolicy",
                 absl::StrCat("interval_days=", rule.interval_days), clock_.Now());
        out = ToProto(rule, row->second + 1);
        return absl::OkStatus();
      },
      "UpdateCarePolicy"));
  return out;
}

}  // namespace crm::scheduling
