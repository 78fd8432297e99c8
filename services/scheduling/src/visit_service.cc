// Visits (SCH-1, SCH-2, SCH-4, SCH-8), the day plan (SCH-3) and the
// iCalendar export (SCH-12).
#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/util/aip.h"
#include "common/util/proto_time.h"
#include "common/util/resource_name.h"
#include "crm/scheduling/v1/events.pb.h"
#include "services/scheduling/src/day_planner.h"
#include "services/scheduling/src/ical.h"
#include "services/scheduling/src/scheduling_service.h"
#include "services/scheduling/src/service_internal.h"

namespace crm::scheduling {
namespace {

using auth::Role;
using internal::CursorOf;
using internal::IdOf;

constexpr int kMaxPlanCandidates = 30;
constexpr int kMaxCalendarItems = 5000;
// A booking may start a little in the past (booked on arrival), not more.
constexpr absl::Duration kBookingSlack = absl::Minutes(15);

GeoPoint PointOf(const pb::Visit& v) {
  if (!v.has_location()) return {};
  return {v.location().latitude(), v.location().longitude(), true};
}

void SetPoint(const GeoPoint& p, type::v1::LatLng* out) {
  out->set_latitude(p.lat);
  out->set_longitude(p.lng);
}

std::string ConflictMessage(const Conflict& c) {
  if (c.kind == Conflict::Kind::kOverlap) {
    return absl::StrCat("the manager is already booked: overlaps ", c.with, " (SCH-2)");
  }
  return absl::StrCat("not enough time to travel between this visit and ", c.with, ": needs ",
                      absl::FormatDuration(c.needed), " (travel and the 10-minute early-arrival margin), has ",
                      absl::FormatDuration(c.available), " (SCH-2)");
}

pb::VisitBooked BookedEvent(const pb::Visit& v) {
  pb::VisitBooked e;
  e.set_visit(v.name());
  e.set_customer(v.customer());
  e.set_owner(v.owner());
  e.set_team(v.team());
  e.set_purpose(pb::VisitPurpose_Name(v.purpose()));
  *e.mutable_start_time() = v.start_time();
  *e.mutable_end_time() = v.end_time();
  return e;
}

}  // namespace

absl::StatusOr<std::string> SchedulingService::ActingFor(const Call& call, const std::string& requested,
                                                         const std::string& field) const {
  const auth::Principal& p = call.principal;
  if (requested.empty() || requested == p.subject) {
    if (p.role == Role::kService) return InvalidField(field, "required for SERVICE callers");
    return p.subject;
  }
  Violations v;
  CheckText(requested, field, 100, true, v);
  RETURN_IF_ERROR(v.ToStatus());
  if (p.role == Role::kAdmin || p.role == Role::kService || p.role == Role::kSupervisor) return requested;
  return Forbidden(absl::StrCat("act for another manager (", field, ")"));
}

absl::StatusOr<Stored<pb::Visit>> SchedulingService::VisibleVisit(SchedulingTx& tx, const Call& call,
                                                                  const std::string& name, bool for_update) const {
  ASSIGN_OR_RETURN(int64_t id, ParseSingleId(name, "visits", "name"));
  std::optional<Stored<pb::Visit>> visit = tx.GetVisit(id, for_update);
  if (!visit || !auth::InScope(auth::ScopeFor(call.principal), visit->message.owner(), visit->message.team())) {
    return absl::NotFoundError(absl::StrCat(name, " not found"));
  }
  return *std::move(visit);
}

absl::Status SchedulingService::CheckBookable(SchedulingTx& tx, const pb::Visit& visit, int64_t except_id,
                                              const CustomerSite& site) const {
  const absl::Time start = FromProto(visit.start_time());
  const absl::Time end = FromProto(visit.end_time());
  if (visit.purpose() == pb::ON_SITE_SERVICE) {
    const absl::TimeZone& tz = calendar_.zone();
    const absl::CivilMonth month = absl::CivilMonth(absl::ToCivilSecond(start, tz));
    const int already = tx.CountOnSiteVisits(visit.customer(), absl::FromCivil(month, tz),
                                             absl::FromCivil(month + 1, tz), except_id);
    RETURN_IF_ERROR(
        CheckOnSiteDay(start, end, tz, site.tier_class, site.high_value, already, settings_.on_site));
  }
  Slot candidate{visit.name(), start, end, PointOf(visit), visit.place()};
  if (std::optional<Conflict> c =
          FindConflict(candidate, tx.BusyVisitsNear(visit.owner(), start, end), settings_.travel)) {
    return absl::FailedPreconditionError(ConflictMessage(*c));
  }
  return absl::OkStatus();
}

absl::StatusOr<pb::Visit> SchedulingService::BookVisit(const Call& call, const pb::BookVisitRequest& req) {
  RETURN_IF_ERROR(internal::CheckRequestId(req.request_id()));
  pb::Visit visit = req.visit();
  Violations errors;
  if (ParseSingleId(visit.customer(), "customers", "visit.customer").status().code() != absl::StatusCode::kOk) {
    errors.Add("visit.customer", "expected customers/{id}");
  }
  ValidateVisitFields(visit, errors);
  RETURN_IF_ERROR(errors.ToStatus());
  const absl::Time now = clock_.Now();
  if (FromProto(visit.start_time()) < now - kBookingSlack) {
    return InvalidField("visit.start_time", "in the past: a visit is booked ahead");
  }
  ASSIGN_OR_RETURN(std::string owner, ActingFor(call, visit.owner(), "visit.owner"));

  ASSIGN_OR_RETURN(CustomerSite site, customers_.Lookup(call.upstream, visit.customer()));
  if (site.archived) return absl::FailedPreconditionError(absl::StrCat(visit.customer(), " is archived"));
  visit.set_owner(owner);
  // The team that sees the visit: the manager's own, or (booked by a
  // supervisor or ADMIN for someone else) the customer's team.
  visit.set_team(owner == call.principal.subject ? call.principal.team : site.team);
  if (owner != call.principal.subject && call.principal.role == Role::kSupervisor &&
      !auth::IsSupervisorOf(call.principal, visit.team())) {
    return Forbidden("book visits for managers outside your team");
  }
  if (visit.place().empty()) visit.set_place(site.address);
  if (!visit.has_location() && site.location.known) SetPoint(site.location, visit.mutable_location());
  visit.set_status(pb::PLANNED);
  visit.clear_log();
  visit.clear_on_site();
  visit.clear_cancel_reason();
  visit.clear_name();

  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        // The manager's lock first: retries of one request and bookings of
        // one manager are serialised from here to commit.
        tx.LockManager(owner);
        if (!req.request_id().empty()) {
          if (std::optional<std::string> done =
                  tx.FindRequest("BookVisit", call.principal.subject, req.request_id())) {
            ASSIGN_OR_RETURN(Stored<pb::Visit> first, VisibleVisit(tx, call, *done, false));
            visit = std::move(first.message);
            return absl::OkStatus();
          }
        }
        RETURN_IF_ERROR(CheckBookable(tx, visit, 0, site));
        const int64_t id = tx.InsertVisit(visit, now);
        visit.set_name(absl::StrCat("visits/", id));
        visit.set_etag("1");
        ToProto(now, visit.mutable_create_time());
        ToProto(now, visit.mutable_update_time());
        tx.Audit(visit.name(), call.principal.subject, "BookVisit",
                 absl::StrCat(visit.customer(), " ", pb::VisitPurpose_Name(visit.purpose())), now);
        if (!req.request_id().empty()) {
          tx.RememberRequest("BookVisit", call.principal.subject, req.request_id(), visit.name(), now);
        }
        tx.Publish(visit.name(), BookedEvent(visit), now);
        return absl::OkStatus();
      },
      "BookVisit"));
  return visit;
}

absl::StatusOr<pb::Visit> SchedulingService::GetVisit(const Call& call, const pb::GetVisitRequest& req) {
  pb::Visit out;
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        ASSIGN_OR_RETURN(Stored<pb::Visit> v, VisibleVisit(tx, call, req.name(), false));
        out = std::move(v.message);
        return absl::OkStatus();
      },
      "GetVisit"));
  return out;
}

absl::StatusOr<pb::Visit> SchedulingService::MutateVisit(
    const Call& call, const std::string& name, const std::string& etag, const char* method,
    const std::function<absl::Status(SchedulingTx&, pb::Visit&)>& change) {
  // The owner (which never changes) is read in its own transaction, so the
  // mutation's first statement is the manager's lock: its reads then see
  // every booking committed under that lock. Lock order as in BookVisit.
  ASSIGN_OR_RETURN(pb::Visit peek, GetVisit(call, [&] {
                     pb::GetVisitRequest get;
                     get.set_name(name);
                     return get;
                   }()));
  pb::Visit out;
  const absl::Time now = clock_.Now();
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        tx.LockManager(peek.owner());
        ASSIGN_OR_RETURN(Stored<pb::Visit> current, VisibleVisit(tx, call, name, true));
        RETURN_IF_ERROR(CheckEtag(etag, current.message.etag()));
        pb::Visit next = current.message;
        RETURN_IF_ERROR(change(tx, next));
        tx.UpdateVisit(current.id, next, now);
        next.set_etag(absl::StrCat(current.version + 1));
        ToProto(now, next.mutable_update_time());
        tx.Audit(name, call.principal.subject, method, pb::VisitStatus_Name(next.status()), now);
        out = std::move(next);
        return absl::OkStatus();
      },
      method));
  return out;
}

absl::StatusOr<pb::Visit> SchedulingService::UpdateVisit(const Call& call, const pb::UpdateVisitRequest& req) {
  RETURN_IF_ERROR(ParseSingleId(req.visit().name(), "visits", "visit.name").status());
  ASSIGN_OR_RETURN(std::vector<std::string> paths,
                   MaskPaths(req.update_mask(), {"contact", "purpose", "place", "location", "start_time",
                                                 "end_time", "checklist"}));
  const bool moves = std::any_of(paths.begin(), paths.end(), [](const std::string& p) {
    return p == "start_time" || p == "end_time" || p == "location" || p == "place" || p == "purpose";
  });
  // The on-site rules need the customer's tier: read it before the
  // transaction (the customers service is not called while rows are locked).
  std::optional<CustomerSite> site;
  const auto prepare = [&](const pb::Visit& current) -> absl::Status {
    if (!site) {
      ASSIGN_OR_RETURN(CustomerSite s, customers_.Lookup(call.upstream, current.customer()));
      site = std::move(s);
    }
    return absl::OkStatus();
  };
  if (moves) {
    ASSIGN_OR_RETURN(pb::Visit current, GetVisit(call, [&] {
                       pb::GetVisitRequest g;
                       g.set_name(req.visit().name());
                       return g;
                     }()));
    RETURN_IF_ERROR(prepare(current));
  }
  return MutateVisit(call, req.visit().name(), req.visit().etag(), "UpdateVisit",
                     [&](SchedulingTx& tx, pb::Visit& visit) -> absl::Status {
                       if (visit.status() != pb::PLANNED) {
                         return absl::FailedPreconditionError("only PLANNED visits can be changed");
                       }
                       ApplyMask(req.visit(), paths, visit);
                       Violations errors;
                       ValidateVisitFields(visit, errors);
                       RETURN_IF_ERROR(errors.ToStatus());
                       if (!moves) return absl::OkStatus();
                       return CheckBookable(tx, visit, IdOf(visit.name()), *site);
                     });
}

absl::StatusOr<pb::ListVisitsResponse> SchedulingService::ListVisits(const Call& call,
                                                                    const pb::ListVisitsRequest& req) {
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  Violations errors;
  if (!pb::VisitStatus_IsValid(req.status())) errors.Add("status", "unknown status");
  if (!req.customer().empty() &&
      ParseSingleId(req.customer(), "customers", "customer").status().code() != absl::StatusCode::kOk) {
    errors.Add("customer", "expected customers/{id}");
  }
  CheckText(req.owner(), "owner", 100, false, errors);
  if (req.has_start_time() && !IsValidTimestamp(req.start_time())) errors.Add("start_time", "not a valid time");
  if (req.has_end_time() && !IsValidTimestamp(req.end_time())) errors.Add("end_time", "not a valid time");
  RETURN_IF_ERROR(errors.ToStatus());
  const std::string query = Fingerprint(
      {"ListVisits", call.principal.subject, req.owner(), req.customer(),
       absl::StrCat(req.status(), ",", req.start_time().seconds(), ",", req.end_time().seconds(), ",",
                    req.unverified_only())});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  VisitFilter filter;
  filter.scope = auth::ScopeFor(call.principal);
  filter.owner = req.owner();
  filter.customer = req.customer();
  filter.status = req.status();
  if (req.has_start_time()) filter.start_from = FromProto(req.start_time());
  if (req.has_end_time()) filter.start_before = FromProto(req.end_time());
  filter.unverified_only = req.unverified_only();
  pb::ListVisitsResponse resp;
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        std::vector<Stored<pb::Visit>> rows = tx.ListVisits(filter, CursorOf(cursor), page_size + 1);
        internal::FinishPage(rows, page_size, tokens_, query, resp);
        for (Stored<pb::Visit>& r : rows) *resp.add_visits() = std::move(r.message);
        return absl::OkStatus();
      },
      "ListVisits"));
  return resp;
}

absl::StatusOr<pb::Visit> SchedulingService::CancelVisit(const Call& call, const pb::CancelVisitRequest& req) {
  Violations errors;
  CheckText(req.reason(), "reason", 1000, true, errors);
  RETURN_IF_ERROR(errors.ToStatus());
  const absl::Time now = clock_.Now();
  return MutateVisit(call, req.name(), req.etag(), "CancelVisit", [&](SchedulingTx& tx, pb::Visit& visit) {
    if (visit.status() != pb::PLANNED) return absl::FailedPreconditionError("only PLANNED visits can be cancelled");
    visit.set_status(pb::CANCELLED);
    visit.set_cancel_reason(req.reason());
    pb::VisitCancelled e;
    e.set_visit(visit.name());
    e.set_customer(visit.customer());
    e.set_owner(visit.owner());
    e.set_reason(req.reason());
    tx.Publish(visit.name(), e, now);
    return absl::OkStatus();
  });
}

absl::StatusOr<pb::Visit> SchedulingService::CompleteVisit(const Call& call, const pb::CompleteVisitRequest& req) {
  Violations errors;
  if (req.status() != pb::DONE && req.status() != pb::NO_SHOW) errors.Add("status", "DONE or NO_SHOW");
  if (req.status() == pb::DONE) {
    CheckText(req.log().discussed(), "log.discussed", 4000, true, errors);
    CheckText(req.log().needs_found(), "log.needs_found", 4000, false, errors);
    CheckText(req.log().handover_issues(), "log.handover_issues", 4000, false, errors);
  }
  RETURN_IF_ERROR(errors.ToStatus());
  const absl::Time now = clock_.Now();
  return MutateVisit(call, req.name(), req.etag(), "CompleteVisit", [&](SchedulingTx& tx, pb::Visit& visit) {
    if (visit.status() != pb::PLANNED) return absl::FailedPreconditionError("only PLANNED visits can be completed");
    if (FromProto(visit.start_time()) > now) {
      return absl::FailedPreconditionError("the visit has not started yet; its outcome cannot be logged");
    }
    visit.set_status(req.status());
    if (req.status() == pb::DONE) {
      *visit.mutable_log() = req.log();
      visit.mutable_log()->clear_verified_by();
      visit.mutable_log()->clear_verify_time();
      ToProto(now, visit.mutable_log()->mutable_log_time());
      // SCH-5: the visit is care for the person visited.
      if (!visit.contact().empty()) tx.TouchCare(visit.contact(), FromProto(visit.end_time()));
      // SCH-9: a revisit closes the customer's open revisit tasks.
      if (visit.purpose() == pb::REVISIT) {
        CloseTasks(tx, pb::COMPLAINT_REVISIT, "", visit.customer(), visit.name(), now);
        CloseTasks(tx, pb::AFTER_SALES_REVISIT, "", visit.customer(), visit.name(), now);
      }
    }
    pb::VisitCompleted e;
    e.set_visit(visit.name());
    e.set_customer(visit.customer());
    e.set_contact(visit.contact());
    e.set_owner(visit.owner());
    e.set_team(visit.team());
    e.set_status(pb::VisitStatus_Name(visit.status()));
    e.set_purpose(pb::VisitPurpose_Name(visit.purpose()));
    tx.Publish(visit.name(), e, now);
    return absl::OkStatus();
  });
}

absl::StatusOr<pb::Visit> SchedulingService::VerifyVisitLog(const Call& call, const pb::VerifyVisitLogRequest& req) {
  const absl::Time now = clock_.Now();
  return MutateVisit(call, req.name(), req.etag(), "VerifyVisitLog", [&](SchedulingTx&, pb::Visit& visit) {
    if (!auth::IsSupervisorOf(call.principal, visit.team())) {
      return Forbidden("verify visit logs (the supervisor of the manager's team does, SCH-4)");
    }
    if (visit.status() != pb::DONE) return absl::FailedPreconditionError("only DONE visits have a log to verify");
    if (!visit.log().verified_by().empty()) return absl::FailedPreconditionError("the log is already verified");
    visit.mutable_log()->set_verified_by(call.principal.subject);
    ToProto(now, visit.mutable_log()->mutable_verify_time());
    return absl::OkStatus();
  });
}

absl::StatusOr<pb::Visit> SchedulingService::RecordOnSiteLog(const Call& call,
                                                            const pb::RecordOnSiteLogRequest& req) {
  Violations errors;
  const pb::OnSiteLog& log = req.on_site();
  const std::pair<const char*, int32_t> counts[] = {{"on_site.personal_inquiries", log.personal_inquiries()},
                                                    {"on_site.group_inquiries", log.group_inquiries()},
                                                    {"on_site.personal_transactions", log.personal_transactions()},
                                                    {"on_site.group_transactions", log.group_transactions()}};
  for (const auto& [field, n] : counts) {
    if (n < 0 || n > 100000) errors.Add(field, "between 0 and 100000");
  }
  CheckText(log.notes(), "on_site.notes", 4000, false, errors);
  RETURN_IF_ERROR(errors.ToStatus());
  return MutateVisit(call, req.name(), req.etag(), "RecordOnSiteLog", [&](SchedulingTx&, pb::Visit& visit) {
    if (visit.purpose() != pb::ON_SITE_SERVICE) {
      return absl::FailedPreconditionError("only ON_SITE_SERVICE visits have an on-site log");
    }
    if (visit.status() != pb::PLANNED && visit.status() != pb::DONE) {
      return absl::FailedPreconditionError("the visit was cancelled or missed");
    }
    *visit.mutable_on_site() = log;
    return absl::OkStatus();
  });
}

// ---------------------------------------------------------------- day plan

absl::StatusOr<pb::DayPlan> SchedulingService::PlanDay(const Call& call, const pb::PlanDayRequest& req) {
  Violations errors;
  ASSIGN_OR_RETURN(std::string manager, ActingFor(call, req.manager(), "manager"));
  absl::StatusOr<absl::CivilDay> day = internal::DayOf(req.date(), "date");
  if (!day.ok()) errors.Add("date", "not a valid date");
  if (req.candidates_size() == 0) errors.Add("candidates", "at least one customer");
  if (req.candidates_size() > kMaxPlanCandidates) {
    errors.Add("candidates", absl::StrCat("at most ", kMaxPlanCandidates));
  }
  std::set<std::string> seen;
  for (int i = 0; i < req.candidates_size(); ++i) {
    const std::string field = absl::StrCat("candidates[", i, "]");
    if (!ParseSingleId(req.candidates(i), "customers", field).ok()) {
      errors.Add(field, "expected customers/{id}");
    } else if (!seen.insert(req.candidates(i)).second) {
      errors.Add(field, "listed twice");
    }
  }
  if (req.visit_minutes() < 0 || req.visit_minutes() > 600) errors.Add("visit_minutes", "between 0 and 600");
  const int day_start = req.day_start_minute() == 0 && req.day_end_minute() == 0 ? 9 * 60 : req.day_start_minute();
  const int day_end = req.day_start_minute() == 0 && req.day_end_minute() == 0 ? 18 * 60 : req.day_end_minute();
  if (day_start < 0 || day_end > 24 * 60 || day_start >= day_end) {
    errors.Add("day_end_minute", "the day window must be 0 <= start < end <= 1440");
  }
  if (req.has_home() && !(std::abs(req.home().latitude()) <= 90 && std::abs(req.home().longitude()) <= 180)) {
    errors.Add("home", "latitude within ±90, longitude within ±180");
  }
  RETURN_IF_ERROR(errors.ToStatus());

  const absl::TimeZone& tz = calendar_.zone();
  PlanInput input;
  input.day_start = absl::FromCivil(*day, tz) + absl::Minutes(day_start);
  input.day_end = absl::FromCivil(*day, tz) + absl::Minutes(day_end);
  input.visit_length = absl::Minutes(req.visit_minutes() == 0 ? 60 : req.visit_minutes());
  input.travel = settings_.travel;
  if (req.has_home()) input.home = GeoPoint{req.home().latitude(), req.home().longitude(), true};
  for (const std::string& customer : req.candidates()) {
    ASSIGN_OR_RETURN(CustomerSite site, customers_.Lookup(call.upstream, customer));
    input.candidates.push_back({customer, site.location});
  }
  VisitFilter filter;
  filter.scope = auth::ScopeFor(call.principal);
  filter.owner = manager;
  filter.start_from = absl::FromCivil(*day, tz);
  filter.start_before = absl::FromCivil(*day + 1, tz);
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        for (const Stored<pb::Visit>& v : tx.ListVisits(filter, 0, 200)) {
          if (v.message.status() != pb::PLANNED && v.message.status() != pb::DONE) continue;
          input.fixed.push_back({v.message.name(), v.message.customer(), PointOf(v.message),
                                 FromProto(v.message.start_time()), FromProto(v.message.end_time())});
        }
        return absl::OkStatus();
      },
      "PlanDay"));
  // A customer already visited that day is not proposed again.
  std::erase_if(input.candidates, [&](const Candidate& c) {
    return std::any_of(input.fixed.begin(), input.fixed.end(),
                       [&](const FixedVisit& f) { return f.customer == c.customer; });
  });
  const DayPlanResult plan = scheduling::PlanDay(input);
  pb::DayPlan out;
  for (const Stop& s : plan.stops) {
    pb::PlannedStop* stop = out.add_stops();
    stop->set_customer(s.customer);
    if (s.where.known) SetPoint(s.where, stop->mutable_location());
    ToProto(s.arrive, stop->mutable_arrive_time());
    ToProto(s.start, stop->mutable_start_time());
    ToProto(s.end, stop->mutable_end_time());
    stop->set_visit(s.visit);
    stop->set_fixed(s.fixed);
    stop->set_travel_minutes(static_cast<int32_t>(absl::ToInt64Minutes(s.travel)));
  }
  for (const std::string& u : plan.unscheduled) out.add_unscheduled(u);
  out.set_total_travel_km(plan.travel_km);
  out.set_total_travel_minutes(static_cast<int32_t>(absl::ToInt64Minutes(plan.travel_time)));
  out.set_algorithm(plan.algorithm);
  return out;
}

// ---------------------------------------------------------------- calendar

absl::StatusOr<pb::CalendarExport> SchedulingService::ExportCalendar(const Call& call,
                                                                    const pb::ExportCalendarRequest& req) {
  ASSIGN_OR_RETURN(std::string owner, ActingFor(call, req.owner(), "owner"));
  for (const auto& [ts, field] : {std::pair{&req.start_time(), "start_time"}, std::pair{&req.end_time(), "end_time"}}) {
    if (!IsValidTimestamp(*ts)) return InvalidField(field, "not a valid time");
  }
  const absl::Time now = clock_.Now();
  const absl::Time start = req.has_start_time() ? FromProto(req.start_time()) : now - absl::Hours(24 * 30);
  const absl::Time end = req.has_end_time() ? FromProto(req.end_time()) : now + absl::Hours(24 * 90);
  if (end <= start || end - start > absl::Hours(24 * 366)) {
    return InvalidField("end_time", "after start_time and at most 366 days after it");
  }
  std::vector<CalendarItem> items;
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        VisitFilter visits;
        visits.scope = auth::ScopeFor(call.principal);
        visits.owner = owner;
        visits.start_from = start;
        visits.start_before = end;
        for (int64_t after = 0;;) {
          std::vector<Stored<pb::Visit>> page = tx.ListVisits(visits, after, 500);
          for (const Stored<pb::Visit>& s : page) {
            const pb::Visit& v = s.message;
            CalendarItem item;
            item.kind = CalendarItem::Kind::kVisit;
            item.uid = v.name();
            item.start = FromProto(v.start_time());
            item.end = FromProto(v.end_time());
            item.summary = absl::StrCat(pb::VisitPurpose_Name(v.purpose()), ": ", v.customer());
            item.description = v.contact().empty() ? v.customer() : absl::StrCat(v.customer(), ", ", v.contact());
            for (const pb::ChecklistItem& c : v.checklist()) absl::StrAppend(&item.description, "\n- ", c.text());
            item.location = v.place();
            if (v.has_location()) item.geo = PointOf(v);
            item.status = pb::VisitStatus_Name(v.status());
            item.last_modified = FromProto(v.update_time());
            items.push_back(std::move(item));
          }
          if (page.size() < 500 || items.size() >= kMaxCalendarItems) break;
          after = page.back().id;
        }
        TaskFilter tasks;
        tasks.scope = auth::ScopeFor(call.principal);
        tasks.owner = owner;
        tasks.state = pb::TASK_OPEN;
        tasks.due_before = end;
        for (int64_t after = 0;;) {
          std::vector<Stored<pb::Task>> page = tx.ListTasks(tasks, after, 500);
          for (const Stored<pb::Task>& s : page) {
            const pb::Task& t = s.message;
            if (FromProto(t.due_time()) < start) continue;
            CalendarItem item;
            item.kind = CalendarItem::Kind::kTaskDue;
            item.uid = t.name();
            item.start = FromProto(t.due_time());
            item.end = item.start;
            item.summary = absl::StrCat("Due: ", t.title());
            item.description = absl::StrCat(pb::TaskKind_Name(t.kind()), " ", t.customer(), " ", t.source());
            item.status = "TENTATIVE";
            item.last_modified = FromProto(t.create_time());
            items.push_back(std::move(item));
          }
          if (page.size() < 500 || items.size() >= kMaxCalendarItems) break;
          after = page.back().id;
        }
        return absl::OkStatus();
      },
      "ExportCalendar"));
  pb::CalendarExport out;
  out.set_content_type("text/calendar; charset=utf-8");
  out.set_ics(RenderCalendar(items, absl::StrCat("CRM visits of ", owner), settings_.time_zone_name, now));
  return out;
}

}  // namespace crm::scheduling
