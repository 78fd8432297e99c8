// crmctl visits | plan-day | care | tasks | calendar: the
// crm.scheduling.v1.SchedulingService calls.

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "crm/scheduling/v1/scheduling.grpc.pb.h"
#include "services/crmctl/command.h"
#include "services/crmctl/rpc.h"

namespace crm::crmctl {
namespace {

namespace v1 = crm::scheduling::v1;

std::unique_ptr<v1::SchedulingService::Stub> Stub(Invocation& inv) {
  return v1::SchedulingService::NewStub(inv.Channel());
}

// An optional RFC 3339 time flag into message.*field(); an absent flag
// leaves the field unset (to the service: unbounded, or its default).
template <typename Message>
absl::Status OptionalTimeArg(const Args& args, std::string_view flag, Message& message,
                             google::protobuf::Timestamp* (Message::*field)()) {
  if (!args.Has(flag)) return absl::OkStatus();
  return ParseTimeArg(args, flag, *(message.*field)());
}

// An optional enum flag into `set` (only when given).
template <typename Enum, typename Setter>
absl::Status OptionalEnumArg(const Args& args, std::string_view flag, const google::protobuf::EnumDescriptor& descriptor,
                             Setter set) {
  if (!args.Has(flag)) return absl::OkStatus();
  absl::StatusOr<int> value = ParseEnumArg(args, flag, descriptor);
  if (!value.ok()) return value.status();
  set(static_cast<Enum>(*value));
  return absl::OkStatus();
}

// An optional integer flag within [min, max] into `set` (only when given).
template <typename Setter>
absl::Status OptionalIntArg(const Args& args, std::string_view flag, int32_t min, int32_t max, Setter set) {
  if (!args.Has(flag)) return absl::OkStatus();
  absl::StatusOr<int32_t> value = ParseIntArg(args, flag, min, max);
  if (!value.ok()) return value.status();
  set(*value);
  return absl::OkStatus();
}

// --date as YYYY-MM-DD.
absl::Status ParseDateArg(const Args& args, std::string_view flag, type::v1::Date& date) {
  const std::string text = *args.Get(flag);
  absl::CivilDay day;
  // ParseCivilTime also takes "2026-11-3"; only the full form is meant.
  if (text.size() != 10 || !absl::ParseCivilTime(text, &day)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", std::string(flag), " must be a date such as 2026-11-24, got \"", text, "\""));
  }
  date.set_year(static_cast<int32_t>(day.year()));
  date.set_month(day.month());
  date.set_day(day.day());
  return absl::OkStatus();
}

// An optional local time of day, HH:MM, as minutes since midnight.
absl::Status OptionalMinuteOfDayArg(const Args& args, std::string_view flag, int32_t& minutes) {
  if (!args.Has(flag)) return absl::OkStatus();
  const std::string text = *args.Get(flag);
  const std::vector<std::string> parts = absl::StrSplit(text, ':');
  int32_t hours = -1, mins = -1;
  if (parts.size() != 2 || parts[0].size() != 2 || parts[1].size() != 2 || !absl::SimpleAtoi(parts[0], &hours) ||
      !absl::SimpleAtoi(parts[1], &mins) || hours < 0 || hours > 24 || mins < 0 || mins > 59 ||
      (hours == 24 && mins != 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", std::string(flag), " must be a time of day HH:MM (00:00 to 24:00), got \"", text, "\""));
  }
  minutes = hours * 60 + mins;
  return absl::OkStatus();
}

// An optional "latitude,longitude" in degrees into message.*field().
template <typename Message>
absl::Status OptionalLatLngArg(const Args& args, std::string_view flag, Message& message,
                               type::v1::LatLng* (Message::*field)()) {
  if (!args.Has(flag)) return absl::OkStatus();
  const std::string text = *args.Get(flag);
  const std::vector<std::string> parts = absl::StrSplit(text, ',');
  double lat = 0, lng = 0;
  if (parts.size() != 2 || !absl::SimpleAtod(parts[0], &lat) || !absl::SimpleAtod(parts[1], &lng) ||
      !(lat >= -90 && lat <= 90) || !(lng >= -180 && lng <= 180)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", std::string(flag), " must be latitude,longitude in degrees such as 26.08,119.30, got \"", text, "\""));
  }
  type::v1::LatLng* point = (message.*field)();
  point->set_latitude(lat);
  point->set_longitude(lng);
  return absl::OkStatus();
}

// ---- visits ----

int BookVisit(Invocation& inv) {
  const Args& args = inv.args();
  v1::BookVisitRequest request;
  v1::Visit& visit = *request.mutable_visit();
  visit.set_customer(*args.Get("customer"));
  visit.set_contact(args.GetOr("contact", ""));
  visit.set_place(args.GetOr("place", ""));
  visit.set_owner(args.GetOr("owner", ""));
  absl::StatusOr<int> purpose = ParseEnumArg(args, "purpose", *v1::VisitPurpose_descriptor());
  if (absl::Status s = FirstError({purpose.status(), ParseTimeArg(args, "start", *visit.mutable_start_time()),
                                   ParseTimeArg(args, "end", *visit.mutable_end_time())});
      !s.ok()) {
    return inv.UsageError(s.message());
  }
  visit.set_purpose(static_cast<v1::VisitPurpose>(*purpose));
  request.set_request_id(args.GetOr("request-id", ""));
  auto stub = Stub(inv);
  return CallAndPrint<v1::Visit>(inv,
                                 [&](auto* ctx, auto* resp) { return stub->BookVisit(ctx, request, resp); });
}

int GetVisit(Invocation& inv) {
  v1::GetVisitRequest request;
  request.set_name(inv.args().positional()[0]);
  auto stub = Stub(inv);
  return CallAndPrint<v1::Visit>(inv, [&](auto* ctx, auto* resp) { return stub->GetVisit(ctx, request, resp); });
}

int ListVisits(Invocation& inv) {
  const Args& args = inv.args();
  v1::ListVisitsRequest request;
  if (absl::Status s = FirstError(
          {ApplyPaging(args, request),
           OptionalEnumArg<v1::VisitStatus>(args, "status", *v1::VisitStatus_descriptor(),
                                            [&](v1::VisitStatus s) { request.set_status(s); }),
           OptionalTimeArg(args, "start", request, &v1::ListVisitsRequest::mutable_start_time),
           OptionalTimeArg(args, "end", request, &v1::ListVisitsRequest::mutable_end_time)});
      !s.ok()) {
    return inv.UsageError(s.message());
  }
  request.set_owner(args.GetOr("owner", ""));
  request.set_customer(args.GetOr("customer", ""));
  request.set_unverified_only(args.Enabled("unverified-only"));
  auto stub = Stub(inv);
  return CallAndPrint<v1::ListVisitsResponse>(
      inv, [&](auto* ctx, auto* resp) { return stub->ListVisits(ctx, request, resp); });
}

int CancelVisit(Invocation& inv) {
  auto request = OnNamed<v1::CancelVisitRequest>(inv);
  request.set_reason(*inv.args().Get("reason"));
  auto stub = Stub(inv);
  return CallAndPrint<v1::Visit>(inv,
                                 [&](auto* ctx, auto* resp) { return stub->CancelVisit(ctx, request, resp); });
}

int CompleteVisit(Invocation& inv) {
  const Args& args = inv.args();
  auto request = OnNamed<v1::CompleteVisitRequest>(inv);
  absl::StatusOr<int> status = ParseEnumArg(args, "status", *v1::VisitStatus_descriptor());
  if (!status.ok() || (*status != v1::DONE && *status != v1::NO_SHOW)) {
    return inv.UsageError("--status must be DONE or NO_SHOW");
  }
  request.set_status(static_cast<v1::VisitStatus>(*status));
  const bool has_log = args.Has("discussed") || args.Has("needs-found") || args.Has("handover-issues");
  if (request.status() == v1::DONE && !args.Has("discussed")) {
    return inv.UsageError("--status DONE needs the visit log: --discussed (SCH-4)");
  }
  if (request.status() == v1::NO_SHOW && has_log) {
    return inv.UsageError("--status NO_SHOW takes no log (--discussed, --needs-found, --handover-issues)");
  }
  if (has_log) {
    v1::VisitLog& log = *request.mutable_log();
    log.set_discussed(args.GetOr("discussed", ""));
    log.set_needs_found(args.GetOr("needs-found", ""));
    log.set_handover_issues(args.GetOr("handover-issues", ""));
  }
  auto stub = Stub(inv);
  return CallAndPrint<v1::Visit>(inv,
                                 [&](auto* ctx, auto* resp) { return stub->CompleteVisit(ctx, request, resp); });
}

// ---- day plan ----

int PlanDay(Invocation& inv) {
  const Args& args = inv.args();
  v1::PlanDayRequest request;
  request.set_manager(args.GetOr("manager", ""));
  for (absl::string_view c : absl::StrSplit(*args.Get("candidates"), ',', absl::SkipWhitespace())) {
    request.add_candidates(std::string(absl::StripAsciiWhitespace(c)));
  }
  if (request.candidates_size() == 0) return inv.UsageError("--candidates names no customer");
  // One of the two alone: the other keeps the service's default (09:00 or 18:00).
  int32_t day_start = 9 * 60, day_end = 18 * 60;
  if (absl::Status s = FirstError(
          {ParseDateArg(args, "date", *request.mutable_date()),
           OptionalIntArg(args, "visit-minutes", 1, 600, [&](int32_t m) { request.set_visit_minutes(m); }),
           OptionalMinuteOfDayArg(args, "day-start", day_start), OptionalMinuteOfDayArg(args, "day-end", day_end),
           OptionalLatLngArg(args, "home", request, &v1::PlanDayRequest::mutable_home)});
      !s.ok()) {
    return inv.UsageError(s.message());
  }
  if (args.Has("day-start") || args.Has("day-end")) {
    if (day_start >= day_end) return inv.UsageError("--day-start must be before --day-end");
    request.set_day_start_minute(day_start);
    request.set_day_end_minute(day_end);
  }
  auto stub = Stub(inv);
  return CallAndPrint<v1::DayPlan>(inv, [&](auto* ctx, auto* resp) { return stub->PlanDay(ctx, request, resp); });
}

// ---- care ----

int ListCareDue(Invocation& inv) {
  const Args& args = inv.args();
  v1::ListCareDueRequest request;
  if (absl::Status s = FirstError(
          {ApplyPaging(args, request),
           OptionalIntArg(args, "horizon-days", 1, 366, [&](int32_t d) { request.set_horizon_days(d); })});
      !s.ok()) {
    return inv.UsageError(s.message());
  }
  request.set_owner(args.GetOr("owner", ""));
  request.set_overdue_only(args.Enabled("overdue-only"));
  auto stub = Stub(inv);
  return CallAndPrint<v1::ListCareDueResponse>(
      inv, [&](auto* ctx, auto* resp) { return stub->ListCareDue(ctx, request, resp); });
}

int ListSpecialDays(Invocation& inv) {
  const Args& args = inv.args();
  v1::ListSpecialDaysRequest request;
  if (absl::Status s =
          OptionalIntArg(args, "days-ahead", 1, 366, [&](int32_t d) { request.set_days_ahead(d); });
      !s.ok()) {
    return inv.UsageError(s.message());
  }
  request.set_owner(args.GetOr("owner", ""));
  auto stub = Stub(inv);
  return CallAndPrint<v1::ListSpecialDaysResponse>(
      inv, [&](auto* ctx, auto* resp) { return stub->ListSpecialDays(ctx, request, resp); });
}

// ---- tasks ----

int ListTasks(Invocation& inv) {
  const Args& args = inv.args();
  v1::ListTasksRequest request;
  if (absl::Status s = FirstError(
          {ApplyPaging(args, request),
           OptionalEnumArg<v1::TaskState>(args, "state", *v1::TaskState_descriptor(),
                                          [&](v1::TaskState s) { request.set_state(s); }),
           OptionalEnumArg<v1::TaskKind>(args, "kind", *v1::TaskKind_descriptor(),
                                         [&](v1::TaskKind k) { request.set_kind(k); }),
           OptionalTimeArg(args, "due-before", request, &v1::ListTasksRequest::mutable_due_before)});
      !s.ok()) {
    return inv.UsageError(s.message());
  }
  request.set_owner(args.GetOr("owner", ""));
  request.set_customer(args.GetOr("customer", ""));
  request.set_source(args.GetOr("source", ""));
  auto stub = Stub(inv);
  return CallAndPrint<v1::ListTasksResponse>(
      inv, [&](auto* ctx, auto* resp) { return stub->ListTasks(ctx, request, resp); });
}

int CompleteTask(Invocation& inv) {
  auto request = OnNamed<v1::CompleteTaskRequest>(inv);
  request.set_resolution(*inv.args().Get("resolution"));
  auto stub = Stub(inv);
  return CallAndPrint<v1::Task>(inv,
                                [&](auto* ctx, auto* resp) { return stub->CompleteTask(ctx, request, resp); });
}

// ---- calendar ----

// The .ics text itself, not JSON: to stdout, or to --out.
int ExportCalendar(Invocation& inv) {
  const Args& args = inv.args();
  v1::ExportCalendarRequest request;
  if (absl::Status s =
          FirstError({OptionalTimeArg(args, "start", request, &v1::ExportCalendarRequest::mutable_start_time),
                      OptionalTimeArg(args, "end", request, &v1::ExportCalendarRequest::mutable_end_time)});
      !s.ok()) {
    return inv.UsageError(s.message());
  }
  request.set_owner(args.GetOr("owner", ""));
  std::ofstream file;
  if (std::optional<std::string> path = args.Get("out")) {
    // Opened before the call, so a bad path sends nothing.
    file.open(*path, std::ios::binary | std::ios::trunc);
    if (!file) return inv.UsageError(absl::StrCat("cannot write ", *path));
  }
  auto stub = Stub(inv);
  v1::CalendarExport calendar;
  if (!CallRpc(inv, [&](auto* ctx, auto* resp) { return stub->ExportCalendar(ctx, request, resp); }, calendar)) {
    return kExitFailed;
  }
  std::ostream& out = file.is_open() ? file : inv.out();
  out << calendar.ics();
  out.flush();
  if (!out) {
    inv.err() << "crmctl: writing the calendar failed\n";
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace

std::vector<CommandSpec> SchedulingCommands() {
  return {
      {.path = {"visits", "book"},
       .positional = {},
       .required_flags = {"customer", "start", "end", "purpose"},
       .optional_flags = {"contact", "place", "owner", "request-id"},
       .summary = "book a visit in [start, end) (RFC 3339 times) for the caller, or for --owner (SUPERVISOR, "
                  "ADMIN); --purpose e.g. COURTESY, NEGOTIATION, REVISIT; place defaults to the customer's "
                  "address; FAILED_PRECONDITION when it overlaps or leaves no travel time (SCH-2); "
                  "--request-id makes retries safe",
       .run = &BookVisit},
      {.path = {"visits", "get"},
       .positional = {"NAME"},
       .required_flags = {},
       .optional_flags = {},
       .summary = "one visit, e.g. visits/7",
       .run = &GetVisit},
      {.path = {"visits", "list"},
       .positional = {},
       .required_flags = {},
       .optional_flags = WithPaging({"owner", "customer", "status", "start", "end"}),
       .summary = "visits the caller may see that start in [--start, --end) (RFC 3339 times, each optional); "
                  "--status by name, e.g. PLANNED; --unverified-only: DONE visits whose log is not yet verified",
       .run = &ListVisits,
       .switches = {"unverified-only"}},
      {.path = {"visits", "cancel"},
       .positional = {"NAME"},
       .required_flags = {"reason"},
       .optional_flags = {"etag"},
       .summary = "cancel a PLANNED visit",
       .run = &CancelVisit},
      {.path = {"visits", "complete"},
       .positional = {"NAME"},
       .required_flags = {"status"},
       .optional_flags = {"discussed", "needs-found", "handover-issues", "etag"},
       .summary = "outcome of a started visit: --status DONE with the visit log (--discussed required, SCH-4) "
                  "or --status NO_SHOW",
       .run = &CompleteVisit},
      {.path = {"plan-day"},
       .positional = {},
       .required_flags = {"date", "candidates"},
       .optional_flags = {"manager", "visit-minutes", "day-start", "day-end", "home"},
       .summary = "order a day's visits (SCH-3): --date 2026-11-24, --candidates customers/1,customers/2 (at "
                  "most 30), around the visits already booked; --day-start/--day-end HH:MM (default "
                  "09:00-18:00), --home lat,lng where the day starts and ends",
       .run = &PlanDay},
      {.path = {"care", "due"},
       .positional = {},
       .required_flags = {},
       .optional_flags = WithPaging({"owner", "horizon-days"}),
       .summary = "contacts whose care falls due within --horizon-days (default 7) or is overdue, most urgent "
                  "first (SCH-5); --overdue-only",
       .run = &ListCareDue,
       .switches = {"overdue-only"}},
      {.path = {"care", "special-days"},
       .positional = {},
       .required_flags = {},
       .optional_flags = {"owner", "days-ahead"},
       .summary = "birthdays, customer anniversaries and festivals in the next --days-ahead days (SCH-6)",
       .run = &ListSpecialDays},
      {.path = {"tasks", "list"},
       .positional = {},
       .required_flags = {},
       .optional_flags = WithPaging({"owner", "customer", "state", "kind", "due-before", "source"}),
       .summary = "tasks the caller may see; --state TASK_OPEN, TASK_DONE or TASK_CANCELLED; --kind e.g. "
                  "COMPLAINT_REVISIT; --due-before an RFC 3339 time; --source e.g. complaints/7",
       .run = &ListTasks},
      {.path = {"tasks", "complete"},
       .positional = {"NAME"},
       .required_flags = {"resolution"},
       .optional_flags = {"etag"},
       .summary = "close an open task with the action taken",
       .run = &CompleteTask},
      {.path = {"calendar", "export"},
       .positional = {},
       .required_flags = {},
       .optional_flags = {"owner", "start", "end", "out"},
       .summary = "the caller's (or --owner's) visits and open task deadlines as iCalendar (RFC 5545) on "
                  "stdout, or in the --out file; [--start, --end) RFC 3339 times, default 30 days back to 90 "
                  "days ahead",
       .run = &ExportCalendar},
  };
}

}  // namespace crm::crmctl
