// Work plans, the daily work log and summaries (SCH-10), expense claims
// (SCH-11) and the monthly on-site report (SCH-8).
#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/util/aip.h"
#include "common/util/proto_time.h"
#include "common/util/resource_name.h"
#include "services/scheduling/src/scheduling_service.h"

#include "common/calendar/period.h"
#include "services/scheduling/src/service_internal.h"

namespace crm::scheduling {
namespace {

using internal::CursorOf;
using internal::DayKey;
using internal::IdOf;

constexpr int kMaxPlanItems = 100;
constexpr int kMaxClaimLines = 200;
constexpr int64_t kMaxLineUnits = 1'000'000'000;
// SCH-10 "truthful": the log is written within the week it describes and
// never edited; a correction is a new entry.
constexpr int kLogBackfillDays = 7;

// The first day of the period starting on `start`, and the day after its
// last (common/calendar, as the gateway's dashboards cut it);
// INVALID_ARGUMENT naming `field` when `start` is not a period's first day.
absl::StatusOr<std::pair<absl::CivilDay, absl::CivilDay>> PeriodRange(pb::PlanPeriod period, absl::CivilDay start,
                                                                     const std::string& field) {
  calendar::Period kind;
  switch (period) {
    case pb::WEEK:
      kind = calendar::Period::kWeek;
      break;
    case pb::MONTH:
      kind = calendar::Period::kMonth;
      break;
    case pb::QUARTER:
      kind = calendar::Period::kQuarter;
      break;
    case pb::YEAR:
      kind = calendar::Period::kYear;
      break;
    default:
      return InvalidField("period", "WEEK, MONTH, QUARTER or YEAR");
  }
  auto range = calendar::PeriodRange(kind, start);
  if (!range.ok()) return InvalidField(field, std::string(range.status().message()));
  return *range;
}

std::string PlanKey(pb::PlanPeriod period, absl::CivilDay start) {
  return absl::StrCat(pb::PlanPeriod_Name(period), ":", DayKey(start));
}

template <typename T>
void FillMeta(const DocMeta& meta, absl::string_view collection, T& m) {
  m.set_name(absl::StrCat(collection, "/", meta.id));
  if constexpr (requires { m.set_etag(""); }) m.set_etag(absl::StrCat(meta.version));
  if constexpr (requires { m.set_owner(""); }) m.set_owner(meta.owner);
  if constexpr (requires { m.set_team(""); }) m.set_team(meta.team);
  ToProto(meta.create_time, m.mutable_create_time());
  if constexpr (requires { m.mutable_update_time(); }) ToProto(meta.update_time, m.mutable_update_time());
}

// Money as nanos (amounts are capped well inside int64).
int64_t Nanos(const type::v1::Money& m) { return m.units() * 1'000'000'000 + m.nanos(); }
void SetMoney(const std::string& currency, int64_t nanos, type::v1::Money* out) {
  out->set_currency_code(currency);
  out->set_units(nanos / 1'000'000'000);
  out->set_nanos(static_cast<int32_t>(nanos % 1'000'000'000));
}

void Recount(pb::ExpenseClaim& claim) {
  std::map<pb::ExpenseCategory, int64_t> by_category;
  int64_t total = 0;
  for (const pb::ExpenseLine& line : claim.lines()) {
    by_category[line.category()] += Nanos(line.amount());
    total += Nanos(line.amount());
  }
  claim.clear_totals();
  for (const auto& [category, nanos] : by_category) {
    pb::CategoryTotal* t = claim.add_totals();
    t->set_category(category);
    SetMoney(claim.currency_code(), nanos, t->mutable_total());
  }
  SetMoney(claim.currency_code(), total, claim.mutable_total());
}

}  // namespace

// ---------------------------------------------------------------- on-site report (SCH-8)

absl::StatusOr<pb::OnSiteReport> SchedulingService::GetOnSiteReport(const Call& call,
                                                                    const pb::GetOnSiteReportRequest& req) {
  ASSIGN_OR_RETURN(absl::CivilMonth month, ParseMonth(req.month(), "month"));
  // A manager sees their own; a supervisor the team (owner "") or one member.
  std::string owner = req.owner();
  if (call.principal.role == auth::Role::kManager || call.principal.role == auth::Role::kPhoneManager) {
    ASSIGN_OR_RETURN(owner, ActingFor(call, req.owner(), "owner"));
  }
  const absl::TimeZone& tz = calendar_.zone();
  pb::OnSiteReport report;
  report.set_month(FormatMonth(month));
  std::map<std::string, pb::OnSiteCustomerFigures> by_customer;
  pb::OnSiteCustomerFigures total;
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        for (const Stored<pb::Visit>& s : tx.OnSiteVisits(auth::ScopeFor(call.principal), owner,
                                                         absl::FromCivil(month, tz), absl::FromCivil(month + 1, tz))) {
          const pb::Visit& v = s.message;
          const double hours = absl::ToDoubleHours(FromProto(v.end_time()) - FromProto(v.start_time()));
          for (pb::OnSiteCustomerFigures* f : {&by_customer[v.customer()], &total}) {
            f->set_days(f->days() + 1);
            f->set_hours(f->hours() + hours);
            pb::OnSiteLog* t = f->mutable_totals();
            t->set_personal_inquiries(t->personal_inquiries() + v.on_site().personal_inquiries());
            t->set_group_inquiries(t->group_inquiries() + v.on_site().group_inquiries());
            t->set_personal_transactions(t->personal_transactions() + v.on_site().personal_transactions());
            t->set_group_transactions(t->group_transactions() + v.on_site().group_transactions());
          }
          by_customer[v.customer()].set_owner(v.owner());
        }
        return absl::OkStatus();
      },
      "GetOnSiteReport"));
  for (auto& [customer, figures] : by_customer) {
    figures.set_customer(customer);
    *report.add_customers() = std::move(figures);
  }
  *report.mutable_total() = std::move(total);
  return report;
}

// ---------------------------------------------------------------- work plans (SCH-10)

namespace {
void ValidatePlanItems(const pb::WorkPlan& plan, Violations& errors) {
  if (plan.items_size() > kMaxPlanItems) errors.Add("plan.items", absl::StrCat("at most ", kMaxPlanItems));
  for (int i = 0; i < plan.items_size(); ++i) {
    const std::string prefix = absl::StrCat("plan.items[", i, "].");
    CheckText(plan.items(i).text(), prefix + "text", 1000, true, errors);
    if (plan.items(i).target() < 0) errors.Add(prefix + "target", "not negative");
    if (!plan.items(i).customer().empty() && !ParseSingleId(plan.items(i).customer(), "customers", "c").ok()) {
      errors.Add(prefix + "customer", "expected customers/{id}");
    }
  }
}
}  // namespace

absl::StatusOr<pb::WorkPlan> SchedulingService::CreateWorkPlan(const Call& call,
                                                              const pb::CreateWorkPlanRequest& req) {
  RETURN_IF_ERROR(internal::CheckRequestId(req.request_id()));
  pb::WorkPlan plan = req.plan();
  Violations errors;
  ValidatePlanItems(plan, errors);
  absl::StatusOr<absl::CivilDay> start = internal::DayOf(plan.period_start(), "plan.period_start");
  if (!start.ok()) {
    errors.Add("plan.period_start", "not a valid date");
  } else if (auto range = PeriodRange(plan.period(), *start, "plan.period_start"); !range.ok()) {
    for (FieldViolation& f : FieldViolations(range.status())) {
      errors.Add(f.field == "period" ? "plan.period" : f.field, f.description);
    }
  }
  RETURN_IF_ERROR(errors.ToStatus());
  if (call.principal.role == auth::Role::kService) return Forbidden("write work plans (a manager does)");
  const absl::Time now = clock_.Now();
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        if (!req.request_id().empty()) {
          if (std::optional<std::string> done =
                  tx.FindRequest("CreateWorkPlan", call.principal.subject, req.request_id())) {
            std::optional<DocMeta> meta = tx.GetDoc(DocTable::kWorkPlans, IdOf(*done), false, plan);
            if (!meta) return absl::InternalError("idempotency key points at a missing plan");
            FillMeta(*meta, "workPlans", plan);
            return absl::OkStatus();
          }
        }
        plan.clear_name();
        plan.clear_etag();
        plan.clear_owner();
        plan.clear_team();
        DocMeta meta{.owner = call.principal.subject, .team = call.principal.team,
                     .key = PlanKey(plan.period(), *start)};
        // One plan per owner and period: the unique key answers ALREADY_EXISTS.
        meta.id = tx.InsertDoc(DocTable::kWorkPlans, meta, plan, now);
        meta.version = 1;
        meta.create_time = meta.update_time = now;
        FillMeta(meta, "workPlans", plan);
        tx.Audit(plan.name(), call.principal.subject, "CreateWorkPlan", meta.key, now);
        if (!req.request_id().empty()) {
          tx.RememberRequest("CreateWorkPlan", call.principal.subject, req.request_id(), plan.name(), now);
        }
        return absl::OkStatus();
      },
      "CreateWorkPlan"));
  return plan;
}

absl::StatusOr<pb::WorkPlan> SchedulingService::GetWorkPlan(const Call& call, const pb::GetWorkPlanRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseSingleId(req.name(), "workPlans", "name"));
  pb::WorkPlan plan;
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        std::optional<DocMeta> meta = tx.GetDoc(DocTable::kWorkPlans, id, false, plan);
        if (!meta || !auth::InScope(auth::ScopeFor(call.principal), meta->owner, meta->team)) {
          return absl::NotFoundError(absl::StrCat(req.name(), " not found"));
        }
        FillMeta(*meta, "workPlans", plan);
        return absl::OkStatus();
      },
      "GetWorkPlan"));
  return plan;
}

absl::StatusOr<pb::WorkPlan> SchedulingService::UpdateWorkPlan(const Call& call,
                                                              const pb::UpdateWorkPlanRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseSingleId(req.plan().name(), "workPlans", "plan.name"));
  ASSIGN_OR_RETURN(std::vector<std::string> paths, MaskPaths(req.update_mask(), {"items"}));
  Violations errors;
  ValidatePlanItems(req.plan(), errors);
  RETURN_IF_ERROR(errors.ToStatus());
  const absl::Time now = clock_.Now();
  pb::WorkPlan plan;
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        std::optional<DocMeta> meta = tx.GetDoc(DocTable::kWorkPlans, id, true, plan);
        if (!meta || !auth::InScope(auth::ScopeFor(call.principal), meta->owner, meta->team)) {
          return absl::NotFoundError(absl::StrCat(req.plan().name(), " not found"));
        }
        if (meta->owner != call.principal.subject) return Forbidden("change another manager's plan");
        RETURN_IF_ERROR(CheckEtag(req.plan().etag(), absl::StrCat(meta->version)));
        ApplyMask(req.plan(), paths, plan);
        tx.UpdateDoc(DocTable::kWorkPlans, id, 0, plan, now);
        ++meta->version;
        meta->update_time = now;
        FillMeta(*meta, "workPlans", plan);
        tx.Audit(plan.name(), call.principal.subject, "UpdateWorkPlan", absl::StrCat(plan.items_size(), " items"),
                 now);
        return absl::OkStatus();
      },
      "UpdateWorkPlan"));
  return plan;
}

absl::StatusOr<pb::ListWorkPlansResponse> SchedulingService::ListWorkPlans(const Call& call,
                                                                          const pb::ListWorkPlansRequest& req) {
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  if (!pb::PlanPeriod_IsValid(req.period())) return InvalidField("period", "unknown period");
  Violations errors;
  CheckText(req.owner(), "owner", 100, false, errors);
  RETURN_IF_ERROR(errors.ToStatus());
  const std::string query =
      Fingerprint({"ListWorkPlans", call.principal.subject, req.owner(), absl::StrCat(req.period())});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  DocFilter filter;
  filter.scope = auth::ScopeFor(call.principal);
  filter.owner = req.owner();
  if (req.period() != pb::PLAN_PERIOD_UNSPECIFIED) {
    filter.key_from = absl::StrCat(pb::PlanPeriod_Name(req.period()), ":");
    filter.key_to = absl::StrCat(pb::PlanPeriod_Name(req.period()), ":9999-12-31");  // keys hold dates
  }
  pb::ListWorkPlansResponse resp;
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        std::vector<std::pair<DocMeta, std::string>> rows =
            tx.ListDocs(DocTable::kWorkPlans, filter, CursorOf(cursor), page_size + 1);
        if (static_cast<int>(rows.size()) > page_size) {
          rows.pop_back();
          resp.set_next_page_token(tokens_.Encode(query, absl::StrCat(rows.back().first.id)));
        }
        for (const auto& [meta, body] : rows) {
          pb::WorkPlan* p = resp.add_plans();
          (void)p->ParseFromString(body);
          FillMeta(meta, "workPlans", *p);
        }
        return absl::OkStatus();
      },
      "ListWorkPlans"));
  return resp;
}

// ---------------------------------------------------------------- daily work log (SCH-10)

absl::StatusOr<pb::WorkLogEntry> SchedulingService::AddWorkLogEntry(const Call& call,
                                                                   const pb::AddWorkLogEntryRequest& req) {
  RETURN_IF_ERROR(internal::CheckRequestId(req.request_id()));
  pb::WorkLogEntry entry = req.entry();
  const absl::Time now = clock_.Now();
  const absl::CivilDay today = calendar_.DayOf(now);
  Violations errors;
  absl::StatusOr<absl::CivilDay> day = internal::DayOf(entry.date(), "entry.date");
  if (!day.ok()) {
    errors.Add("entry.date", "not a valid date");
  } else if (*day > today || today - *day > kLogBackfillDays) {
    errors.Add("entry.date", absl::StrCat("today or up to ", kLogBackfillDays, " days back"));
  }
  CheckText(entry.text(), "entry.text", 4000, true, errors);
  if (entry.minutes() < 0 || entry.minutes() > 24 * 60) errors.Add("entry.minutes", "between 0 and 1440");
  if (!entry.customer().empty() && !ParseSingleId(entry.customer(), "customers", "entry.customer").ok()) {
    errors.Add("entry.customer", "expected customers/{id}");
  }
  if (!entry.corrects().empty() && !ParseSingleId(entry.corrects(), "workLogEntries", "entry.corrects").ok()) {
    errors.Add("entry.corrects", "expected workLogEntries/{id}");
  }
  RETURN_IF_ERROR(errors.ToStatus());
  if (call.principal.role == auth::Role::kService) return Forbidden("write a work log (a manager does)");
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        if (!req.request_id().empty()) {
          if (std::optional<std::string> done =
                  tx.FindRequest("AddWorkLogEntry", call.principal.subject, req.request_id())) {
            std::optional<DocMeta> meta = tx.GetDoc(DocTable::kWorkLog, IdOf(*done), false, entry);
            if (!meta) return absl::InternalError("idempotency key points at a missing entry");
            FillMeta(*meta, "workLogEntries", entry);
            return absl::OkStatus();
          }
        }
        if (!entry.corrects().empty()) {
          pb::WorkLogEntry corrected;
          std::optional<DocMeta> meta = tx.GetDoc(DocTable::kWorkLog, IdOf(entry.corrects()), false, corrected);
          if (!meta || meta->owner != call.principal.subject) {
            return absl::NotFoundError(absl::StrCat(entry.corrects(), " not found among your entries"));
          }
        }
        entry.clear_name();
        entry.clear_owner();
        // Minutes go in the status column so summaries can add them up.
        DocMeta meta{.owner = call.principal.subject, .team = call.principal.team, .key = DayKey(*day),
                     .status = entry.minutes()};
        meta.id = tx.InsertDoc(DocTable::kWorkLog, meta, entry, now);
        meta.create_time = meta.update_time = now;
        FillMeta(meta, "workLogEntries", entry);
        if (!req.request_id().empty()) {
          tx.RememberRequest("AddWorkLogEntry", call.principal.subject, req.request_id(), entry.name(), now);
        }
        return absl::OkStatus();
      },
      "AddWorkLogEntry"));
  return entry;
}

absl::StatusOr<pb::ListWorkLogEntriesResponse> SchedulingService::ListWorkLogEntries(
    const Call& call, const pb::ListWorkLogEntriesRequest& req) {
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  Violations errors;
  CheckText(req.owner(), "owner", 100, false, errors);
  std::string from, to;
  if (req.has_start_date()) {
    absl::StatusOr<absl::CivilDay> d = internal::DayOf(req.start_date(), "start_date");
    d.ok() ? void(from = DayKey(*d)) : errors.Add("start_date", "not a valid date");
  }
  if (req.has_end_date()) {
    absl::StatusOr<absl::CivilDay> d = internal::DayOf(req.end_date(), "end_date");
    d.ok() ? void(to = DayKey(*d)) : errors.Add("end_date", "not a valid date");
  }
  RETURN_IF_ERROR(errors.ToStatus());
  const std::string query = Fingerprint({"ListWorkLogEntries", call.principal.subject, req.owner(), from, to});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  DocFilter filter{.scope = auth::ScopeFor(call.principal), .owner = req.owner(), .key_from = from, .key_to = to};
  pb::ListWorkLogEntriesResponse resp;
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        std::vector<std::pair<DocMeta, std::string>> rows =
            tx.ListDocs(DocTable::kWorkLog, filter, CursorOf(cursor), page_size + 1);
        if (static_cast<int>(rows.size()) > page_size) {
          rows.pop_back();
          resp.set_next_page_token(tokens_.Encode(query, absl::StrCat(rows.back().first.id)));
        }
        for (const auto& [meta, body] : rows) {
          pb::WorkLogEntry* e = resp.add_entries();
          (void)e->ParseFromString(body);
          FillMeta(meta, "workLogEntries", *e);
        }
        return absl::OkStatus();
      },
      "ListWorkLogEntries"));
  return resp;
}

absl::StatusOr<pb::WorkSummary> SchedulingService::GetWorkSummary(const Call& call,
                                                                 const pb::GetWorkSummaryRequest& req) {
  // A manager's summary, or a whole team's (GW-4 team dashboards): the
  // scope narrows to the team, which a supervisor may ask only for their own.
  std::string owner;
  auth::AccessScope scope = auth::ScopeFor(call.principal);
  if (!req.team().empty()) {
    if (!req.owner().empty()) return InvalidField("team", "give owner or team, not both");
    ASSIGN_OR_RETURN(scope, auth::TeamReportScope(call.principal, req.team()));
  } else {
    ASSIGN_OR_RETURN(owner, ActingFor(call, req.owner(), "owner"));
  }
  ASSIGN_OR_RETURN(absl::CivilDay start, internal::DayOf(req.period_start(), "period_start"));
  ASSIGN_OR_RETURN(auto range, PeriodRange(req.period(), start, "period_start"));
  const absl::TimeZone& tz = calendar_.zone();
  const absl::Time now = clock_.Now();
  pb::WorkSummary summary;
  summary.set_owner(owner);
  summary.set_team(req.team());
  internal::SetDate(range.first, summary.mutable_start_date());
  internal::SetDate(range.second - 1, summary.mutable_end_date());
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        if (!owner.empty()) {  // a team has no plan of its own
          DocFilter plans{.scope = scope, .owner = owner,
                          .key_from = PlanKey(req.period(), range.first), .key_to = PlanKey(req.period(), range.first)};
          for (const auto& [meta, body] : tx.ListDocs(DocTable::kWorkPlans, plans, 0, 1)) {
            summary.set_plan(absl::StrCat("workPlans/", meta.id));
          }
        }
        const WorkCounts w = tx.CountWork(scope, owner, absl::FromCivil(range.first, tz), absl::FromCivil(range.second, tz),
                                          DayKey(range.first), DayKey(range.second), now);
        summary.set_visits_planned(w.visits_planned);
        summary.set_visits_done(w.visits_done);
        summary.set_visits_no_show(w.visits_no_show);
        summary.set_tasks_done(w.tasks_done);
        summary.set_tasks_overdue(w.tasks_overdue);
        summary.set_care_records(w.care_records);
        summary.set_log_entries(w.log_entries);
        summary.set_log_minutes(w.log_minutes);
        // Coverage (SCH-5): the care ListCareDue would list for this owner, as of now.
        const std::vector<CareDueItem> care = CareDueAt(tx, scope, owner, now);
        const int targets = static_cast<int>(care.size());
        const int overdue = static_cast<int>(
            std::count_if(care.begin(), care.end(), [](const CareDueItem& c) { return c.overdue; }));
        summary.set_care_targets(targets);
        summary.set_care_overdue(overdue);
        summary.set_care_coverage(targets == 0 ? 1.0 : static_cast<double>(targets - overdue) / targets);
        return absl::OkStatus();
      },
      "GetWorkSummary"));
  return summary;
}

// ---------------------------------------------------------------- expense claims (SCH-11)

absl::StatusOr<pb::ExpenseClaim> SchedulingService::CreateExpenseClaim(const Call& call,
                                                                      const pb::CreateExpenseClaimRequest& req) {
  RETURN_IF_ERROR(internal::CheckRequestId(req.request_id()));
  pb::ExpenseClaim claim;
  ASSIGN_OR_RETURN(absl::CivilMonth month, ParseMonth(req.claim().month(), "claim.month"));
  const absl::Time now = clock_.Now();
  if (month > absl::CivilMonth(calendar_.DayOf(now))) return InvalidField("claim.month", "not in the future");
  const std::string currency = req.claim().currency_code().empty() ? "CNY" : req.claim().currency_code();
  if (currency.size() != 3 || !absl::ascii_isupper(currency[0]) || !absl::ascii_isupper(currency[1]) ||
      !absl::ascii_isupper(currency[2])) {
    return InvalidField("claim.currency_code", "an ISO 4217 code such as CNY");
  }
  if (call.principal.role == auth::Role::kService) return Forbidden("claim expenses (a manager does)");
  claim.set_month(FormatMonth(month));
  claim.set_currency_code(currency);
  claim.set_status(pb::DRAFT);
  Recount(claim);
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        if (!req.request_id().empty()) {
          if (std::optional<std::string> done =
                  tx.FindRequest("CreateExpenseClaim", call.principal.subject, req.request_id())) {
            std::optional<DocMeta> meta = tx.GetDoc(DocTable::kExpenseClaims, IdOf(*done), false, claim);
            if (!meta) return absl::InternalError("idempotency key points at a missing claim");
            FillMeta(*meta, "expenseClaims", claim);
            return absl::OkStatus();
          }
        }
        DocMeta meta{.owner = call.principal.subject, .team = call.principal.team, .key = claim.month(),
                     .status = pb::DRAFT};
        // One claim per owner and month: the unique key answers ALREADY_EXISTS.
        meta.id = tx.InsertDoc(DocTable::kExpenseClaims, meta, claim, now);
        meta.version = 1;
        meta.create_time = meta.update_time = now;
        FillMeta(meta, "expenseClaims", claim);
        tx.Audit(claim.name(), call.principal.subject, "CreateExpenseClaim", claim.month(), now);
        if (!req.request_id().empty()) {
          tx.RememberRequest("CreateExpenseClaim", call.principal.subject, req.request_id(), claim.name(), now);
        }
        return absl::OkStatus();
      },
      "CreateExpenseClaim"));
  return claim;
}

absl::StatusOr<pb::ExpenseClaim> SchedulingService::GetExpenseClaim(const Call& call,
                                                                   const pb::GetExpenseClaimRequest& req) {
  ASSIGN_OR_RETURN(int64_t id, ParseSingleId(req.name(), "expenseClaims", "name"));
  pb::ExpenseClaim claim;
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        std::optional<DocMeta> meta = tx.GetDoc(DocTable::kExpenseClaims, id, false, claim);
        if (!meta || !auth::InScope(auth::ScopeFor(call.principal), meta->owner, meta->team)) {
          return absl::NotFoundError(absl::StrCat(req.name(), " not found"));
        }
        FillMeta(*meta, "expenseClaims", claim);
        return absl::OkStatus();
      },
      "GetExpenseClaim"));
  return claim;
}

absl::StatusOr<pb::ListExpenseClaimsResponse> SchedulingService::ListExpenseClaims(
    const Call& call, const pb::ListExpenseClaimsRequest& req) {
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  if (!pb::ClaimStatus_IsValid(req.status())) return InvalidField("status", "unknown status");
  Violations errors;
  CheckText(req.owner(), "owner", 100, false, errors);
  RETURN_IF_ERROR(errors.ToStatus());
  const std::string query =
      Fingerprint({"ListExpenseClaims", call.principal.subject, req.owner(), absl::StrCat(req.status())});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  DocFilter filter{.scope = auth::ScopeFor(call.principal), .owner = req.owner(), .status = req.status()};
  pb::ListExpenseClaimsResponse resp;
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        std::vector<std::pair<DocMeta, std::string>> rows =
            tx.ListDocs(DocTable::kExpenseClaims, filter, CursorOf(cursor), page_size + 1);
        if (static_cast<int>(rows.size()) > page_size) {
          rows.pop_back();
          resp.set_next_page_token(tokens_.Encode(query, absl::StrCat(rows.back().first.id)));
        }
        for (const auto& [meta, body] : rows) {
          pb::ExpenseClaim* c = resp.add_claims();
          (void)c->ParseFromString(body);
          FillMeta(meta, "expenseClaims", *c);
        }
        return absl::OkStatus();
      },
      "ListExpenseClaims"));
  return resp;
}

absl::StatusOr<pb::ExpenseClaim> SchedulingService::MutateClaim(
    const Call& call, const std::string& name, const std::string& etag, const char* method,
    const std::function<absl::Status(pb::ExpenseClaim&)>& change) {
  ASSIGN_OR_RETURN(int64_t id, ParseSingleId(name, "expenseClaims", "name"));
  const absl::Time now = clock_.Now();
  pb::ExpenseClaim claim;
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        std::optional<DocMeta> meta = tx.GetDoc(DocTable::kExpenseClaims, id, true, claim);
        if (!meta || !auth::InScope(auth::ScopeFor(call.principal), meta->owner, meta->team)) {
          return absl::NotFoundError(absl::StrCat(name, " not found"));
        }
        RETURN_IF_ERROR(CheckEtag(etag, absl::StrCat(meta->version)));
        claim.set_owner(meta->owner);
        claim.set_team(meta->team);
        RETURN_IF_ERROR(change(claim));
        Recount(claim);
        claim.clear_name();
        claim.clear_etag();
        tx.UpdateDoc(DocTable::kExpenseClaims, id, claim.status(), claim, now);
        ++meta->version;
        meta->update_time = now;
        FillMeta(*meta, "expenseClaims", claim);
        tx.Audit(claim.name(), call.principal.subject, method, pb::ClaimStatus_Name(claim.status()), now);
        return absl::OkStatus();
      },
      method));
  return claim;
}

absl::StatusOr<pb::ExpenseClaim> SchedulingService::AddExpenseLine(const Call& call,
                                                                  const pb::AddExpenseLineRequest& req) {
  const pb::ExpenseLine& line = req.line();
  Violations errors;
  if (line.category() == pb::EXPENSE_CATEGORY_UNSPECIFIED || !pb::ExpenseCategory_IsValid(line.category())) {
    errors.Add("line.category", "TRANSPORT, ENTERTAINMENT or OTHER_EXPENSE");
  }
  if (line.amount().units() < 0 || line.amount().nanos() < 0 || line.amount().nanos() > 999'999'999 ||
      Nanos(line.amount()) <= 0 || line.amount().units() > kMaxLineUnits) {
    errors.Add("line.amount", absl::StrCat("positive, at most ", kMaxLineUnits));
  }
  CheckText(line.description(), "line.description", 1000, true, errors);
  CheckText(line.receipt(), "line.receipt", 200, true, errors);
  absl::StatusOr<absl::CivilDay> day = internal::DayOf(line.date(), "line.date");
  if (!day.ok()) errors.Add("line.date", "not a valid date");
  if (!line.customer().empty() && !ParseSingleId(line.customer(), "customers", "line.customer").ok()) {
    errors.Add("line.customer", "expected customers/{id}");
  }
  RETURN_IF_ERROR(errors.ToStatus());
  return MutateClaim(call, req.claim(), req.etag(), "AddExpenseLine", [&](pb::ExpenseClaim& claim) -> absl::Status {
    if (claim.owner() != call.principal.subject) return Forbidden("add lines to another manager's claim");
    if (claim.status() != pb::DRAFT && claim.status() != pb::REJECTED) {
      return absl::FailedPreconditionError("the claim is submitted or approved");
    }
    if (FormatMonth(absl::CivilMonth(*day)) != claim.month()) {
      return InvalidField("line.date", absl::StrCat("within the claim's month ", claim.month()));
    }
    if (!line.amount().currency_code().empty() && line.amount().currency_code() != claim.currency_code()) {
      return InvalidField("line.amount.currency_code", absl::StrCat("the claim's currency ", claim.currency_code()));
    }
    if (claim.lines_size() >= kMaxClaimLines) {
      return absl::ResourceExhaustedError(absl::StrCat("a claim holds at most ", kMaxClaimLines, " lines"));
    }
    pb::ExpenseLine* added = claim.add_lines();
    *added = line;
    added->mutable_amount()->set_currency_code(claim.currency_code());
    claim.set_status(pb::DRAFT);  // a rejected claim is corrected as a draft
    return absl::OkStatus();
  });
}

absl::StatusOr<pb::ExpenseClaim> SchedulingService::SubmitExpenseClaim(const Call& call,
                                                                      const pb::SubmitExpenseClaimRequest& req) {
  return MutateClaim(call, req.name(), req.etag(), "SubmitExpenseClaim", [&](pb::ExpenseClaim& claim) {
    if (claim.owner() != call.principal.subject) return Forbidden("submit another manager's claim");
    if (claim.status() != pb::DRAFT) return absl::FailedPreconditionError("only a DRAFT claim can be submitted");
    if (claim.lines_size() == 0) return absl::FailedPreconditionError("the claim has no lines");
    claim.set_status(pb::SUBMITTED);
    return absl::OkStatus();
  });
}

absl::StatusOr<pb::ExpenseClaim> SchedulingService::DecideExpenseClaim(const Call& call,
                                                                      const pb::DecideExpenseClaimRequest& req) {
  if (!req.approve()) {
    Violations errors;
    CheckText(req.comment(), "comment", 2000, true, errors);
    RETURN_IF_ERROR(errors.ToStatus());
  }
  return MutateClaim(call, req.name(), req.etag(), "DecideExpenseClaim", [&](pb::ExpenseClaim& claim) {
    if (!auth::IsSupervisorOf(call.principal, claim.team()) || claim.owner() == call.principal.subject) {
      return Forbidden("decide this claim (the supervisor of the claimant's team does)");
    }
    if (claim.status() != pb::SUBMITTED) return absl::FailedPreconditionError("only a SUBMITTED claim is decided");
    claim.set_status(req.approve() ? pb::APPROVED : pb::REJECTED);
    claim.set_decided_by(call.principal.subject);
    claim.set_decision_comment(req.comment());
    return absl::OkStatus();
  });
}

}  // namespace crm::scheduling
