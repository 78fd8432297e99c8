#pragma once
// The scheduling service's use cases (DOMAIN.md §4): validation, access
// (GW-2), idempotency, etags, the conflict rule, care, tasks and reports,
// over a SchedulingStore and the customers service. Transport-free: the
// gRPC handler only authenticates and maps statuses. The RPCs are spread
// over visit_service.cc, care_service.cc, task_service.cc and
// work_service.cc by area.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/auth/principal.h"
#include "common/calendar/working_calendar.h"
#include "common/client/client.h"
#include "common/util/clock.h"
#include "common/util/page_token.h"
#include "crm/scheduling/v1/scheduling.pb.h"
#include "services/scheduling/src/customer_sites.h"
#include "services/scheduling/src/scheduling_rules.h"
#include "services/scheduling/src/scheduling_store.h"

namespace crm::scheduling {

// One incoming call: who, until when, and what to forward downstream.
struct Call {
  auth::Principal principal;
  absl::Time deadline;
  client::Caller upstream;
};

struct ServiceSettings {
  // The IANA name of the calendar's zone, for the iCalendar export.
  std::string time_zone_name = "Asia/Shanghai";
  TravelSettings travel;
  OnSiteRules on_site;
  std::vector<Festival> festivals;
  // SCH-6: how many days ahead special days are listed by default.
  int special_day_lead_days = 7;
};

// Every unary RPC of crm.scheduling.v1.SchedulingService: X(Rpc, Request, Response).
#define CRM_SCHEDULING_RPCS(X)                                                   \
  X(BookVisit, BookVisitRequest, Visit)                                          \
  X(GetVisit, GetVisitRequest, Visit)                                            \
  X(UpdateVisit, UpdateVisitRequest, Visit)                                      \
  X(ListVisits, ListVisitsRequest, ListVisitsResponse)                           \
  X(CancelVisit, CancelVisitRequest, Visit)                                      \
  X(CompleteVisit, CompleteVisitRequest, Visit)                                  \
  X(VerifyVisitLog, VerifyVisitLogRequest, Visit)                                \
  X(RecordOnSiteLog, RecordOnSiteLogRequest, Visit)                              \
  X(PlanDay, PlanDayRequest, DayPlan)                                            \
  X(ListCareDue, ListCareDueRequest, ListCareDueResponse)                        \
  X(ListSpecialDays, ListSpecialDaysRequest, ListSpecialDaysResponse)            \
  X(RecordCare, RecordCareRequest, CareRecord)                                   \
  X(ListCarePolicies, ListCarePoliciesRequest, ListCarePoliciesResponse)         \
  X(UpdateCarePolicy, UpdateCarePolicyRequest, CarePolicy)                       \
  X(GetTask, GetTaskRequest, Task)                                               \
  X(ListTasks, ListTasksRequest, ListTasksResponse)                              \
  X(CompleteTask, CompleteTaskRequest, Task)                                     \
  X(CreateUrgentTask, CreateUrgentTaskRequest, Task)                             \
  X(GetOnSiteReport, GetOnSiteReportRequest, OnSiteReport)                       \
  X(CreateWorkPlan, CreateWorkPlanRequest, WorkPlan)                             \
  X(GetWorkPlan, GetWorkPlanRequest, WorkPlan)                                   \
  X(UpdateWorkPlan, UpdateWorkPlanRequest, WorkPlan)                             \
  X(ListWorkPlans, ListWorkPlansRequest, ListWorkPlansResponse)                  \
  X(AddWorkLogEntry, AddWorkLogEntryRequest, WorkLogEntry)                       \
  X(ListWorkLogEntries, ListWorkLogEntriesRequest, ListWorkLogEntriesResponse)   \
  X(GetWorkSummary, GetWorkSummaryRequest, WorkSummary)                          \
  X(CreateExpenseClaim, CreateExpenseClaimRequest, ExpenseClaim)                 \
  X(GetExpenseClaim, GetExpenseClaimRequest, ExpenseClaim)                       \
  X(ListExpenseClaims, ListExpenseClaimsRequest, ListExpenseClaimsResponse)      \
  X(AddExpenseLine, AddExpenseLineRequest, ExpenseClaim)                         \
  X(SubmitExpenseClaim, SubmitExpenseClaimRequest, ExpenseClaim)                 \
  X(DecideExpenseClaim, DecideExpenseClaimRequest, ExpenseClaim)                 \
  X(ExportCalendar, ExportCalendarRequest, CalendarExport)

class SchedulingService {
 public:
  SchedulingService(SchedulingStore& store, CustomerSites& customers, const Clock& clock,
                    const PageTokenCodec& tokens, const calendar::WorkingCalendar& calendar,
                    ServiceSettings settings)
      : store_(store), customers_(customers), clock_(clock), tokens_(tokens), calendar_(calendar),
        settings_(std::move(settings)) {}

#define CRM_DECLARE(Rpc, Request, Response) \
  absl::StatusOr<pb::Response> Rpc(const Call& call, const pb::Request& req);
  CRM_SCHEDULING_RPCS(CRM_DECLARE)
#undef CRM_DECLARE

  // Inserts the default care rules that are missing (start-up).
  absl::Status SeedCarePolicies(absl::Time deadline);

  const calendar::WorkingCalendar& calendar() const { return calendar_; }
  const Clock& clock() const { return clock_; }

 private:
  // The manager a call acts for: `requested` (empty = the caller), which a
  // MANAGER may only name as themself and a SUPERVISOR for their team.
  absl::StatusOr<std::string> ActingFor(const Call& call, const std::string& requested,
                                        const std::string& field) const;
  // Validates, checks SCH-2 and the on-site rules under the manager's lock;
  // `except_id` is the visit being moved (0 for a new one).
  absl::Status CheckBookable(SchedulingTx& tx, const pb::Visit& visit, int64_t except_id,
                             const CustomerSite& site) const;
  // The visit as `call` may see it (NOT_FOUND otherwise).
  absl::StatusOr<Stored<pb::Visit>> VisibleVisit(SchedulingTx& tx, const Call& call, const std::string& name,
                                                 bool for_update) const;
  absl::StatusOr<Stored<pb::Task>> VisibleTask(SchedulingTx& tx, const Call& call, const std::string& name,
                                               bool for_update) const;
  // Locks a visible PLANNED/DONE visit, checks the etag, runs `change`,
  // writes it with an audit row.
  absl::StatusOr<pb::Visit> MutateVisit(const Call& call, const std::string& name, const std::string& etag,
                                        const char* method,
                                        const std::function<absl::Status(SchedulingTx&, pb::Visit&)>& change);
  absl::StatusOr<pb::ExpenseClaim> MutateClaim(
      const Call& call, const std::string& name, const std::string& etag, const char* method,
      const std::function<absl::Status(pb::ExpenseClaim&)>& change);
  void TaskOverdue(pb::Task& task, absl::Time now) const;

  SchedulingStore& store_;
  CustomerSites& customers_;
  const Clock& clock_;
  const PageTokenCodec& tokens_;
  const calendar::WorkingCalendar& calendar_;
  const ServiceSettings settings_;
};

// SCH-5: a contact under a care cadence and when its care falls due.
struct CareDueItem {
  CareContact contact;
  CareRule rule;
  absl::Time due_time;
  bool overdue = false;  // due_time <= now
};

// The contacts in `scope` (and of `owner`, "" = all) that a care policy gives
// a cadence, each with when care falls due and whether it is overdue at
// `now`; ListCareDue lists from it and GetWorkSummary counts it.
std::vector<CareDueItem> CareDueAt(SchedulingTx& tx, const auth::AccessScope& scope, const std::string& owner,
                                   absl::Time now);

// Inserts `task` as OPEN unless a task with `source_key` exists, and
// publishes TaskCreated; the task with its name, or nullopt.
std::optional<pb::Task> OpenTask(SchedulingTx& tx, pb::Task task, const std::string& source_key, absl::Time now);

// Closes the open tasks of `kind` that came from `source`, with
// `resolution` (event intake and visits share it).
void CloseTasks(SchedulingTx& tx, pb::TaskKind kind, const std::string& source, const std::string& customer,
                const std::string& resolution, absl::Time now);

}  // namespace crm::scheduling
