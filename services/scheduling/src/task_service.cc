// Tasks (SCH-9) and urgent government business (SCH-7).
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/util/aip.h"
#include "common/util/proto_time.h"
#include "common/util/resource_name.h"
#include "crm/scheduling/v1/events.pb.h"
#include "services/scheduling/src/scheduling_service.h"
#include "services/scheduling/src/service_internal.h"

namespace crm::scheduling {
namespace {

using internal::CursorOf;

pb::TaskCompleted CompletedEvent(const pb::Task& t, absl::Time now) {
  pb::TaskCompleted e;
  e.set_task(t.name());
  e.set_kind(pb::TaskKind_Name(t.kind()));
  e.set_customer(t.customer());
  e.set_owner(t.owner());
  e.set_resolution(t.resolution());
  e.set_late(now > FromProto(t.due_time()));
  return e;
}

void Close(SchedulingTx& tx, const Stored<pb::Task>& stored, const std::string& resolution, absl::Time now) {
  pb::Task t = stored.message;
  t.set_state(pb::TASK_DONE);
  ToProto(now, t.mutable_done_time());
  t.set_resolution(resolution);
  tx.UpdateTask(stored.id, t, now);
  tx.Publish(t.name(), CompletedEvent(t, now), now);
}

}  // namespace

std::optional<pb::Task> OpenTask(SchedulingTx& tx, pb::Task task, const std::string& source_key, absl::Time now) {
  task.set_state(pb::TASK_OPEN);
  std::optional<int64_t> id = tx.InsertTask(task, source_key, now);
  if (!id) return std::nullopt;
  task.set_name(absl::StrCat("tasks/", *id));
  task.set_etag("1");
  ToProto(now, task.mutable_create_time());
  pb::TaskCreated e;
  e.set_task(task.name());
  e.set_kind(pb::TaskKind_Name(task.kind()));
  e.set_customer(task.customer());
  e.set_owner(task.owner());
  e.set_team(task.team());
  e.set_source(task.source());
  *e.mutable_due_time() = task.due_time();
  tx.Publish(task.name(), e, now);
  return task;
}

void CloseTasks(SchedulingTx& tx, pb::TaskKind kind, const std::string& source, const std::string& customer,
                const std::string& resolution, absl::Time now) {
  if (source.empty() && customer.empty()) return;  // never "every task of the kind"
  TaskFilter filter;
  filter.scope.kind = auth::AccessScope::Kind::kAll;
  filter.kind = kind;
  filter.state = pb::TASK_OPEN;
  filter.source = source;
  filter.customer = customer;
  for (const Stored<pb::Task>& t : tx.ListTasks(filter, 0, 1000)) Close(tx, t, resolution, now);
}

void SchedulingService::TaskOverdue(pb::Task& task, absl::Time now) const {
  task.set_overdue(task.state() == pb::TASK_OPEN && FromProto(task.due_time()) < now);
}

absl::StatusOr<Stored<pb::Task>> SchedulingService::VisibleTask(SchedulingTx& tx, const Call& call,
                                                               const std::string& name, bool for_update) const {
  ASSIGN_OR_RETURN(int64_t id, ParseSingleId(name, "tasks", "name"));
  std::optional<Stored<pb::Task>> task = tx.GetTask(id, for_update);
  if (!task || !auth::InScope(auth::ScopeFor(call.principal), task->message.owner(), task->message.team())) {
    return absl::NotFoundError(absl::StrCat(name, " not found"));
  }
  return *std::move(task);
}

absl::StatusOr<pb::Task> SchedulingService::GetTask(const Call& call, const pb::GetTaskRequest& req) {
  pb::Task out;
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        ASSIGN_OR_RETURN(Stored<pb::Task> t, VisibleTask(tx, call, req.name(), false));
        out = std::move(t.message);
        return absl::OkStatus();
      },
      "GetTask"));
  TaskOverdue(out, clock_.Now());
  return out;
}

absl::StatusOr<pb::ListTasksResponse> SchedulingService::ListTasks(const Call& call, const pb::ListTasksRequest& req) {
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  Violations errors;
  if (!pb::TaskState_IsValid(req.state())) errors.Add("state", "unknown state");
  if (!pb::TaskKind_IsValid(req.kind())) errors.Add("kind", "unknown kind");
  if (!req.customer().empty() &&
      ParseSingleId(req.customer(), "customers", "customer").status().code() != absl::StatusCode::kOk) {
    errors.Add("customer", "expected customers/{id}");
  }
  CheckText(req.owner(), "owner", 100, false, errors);
  CheckText(req.source(), "source", 200, false, errors);
  RETURN_IF_ERROR(errors.ToStatus());
  const std::string query =
      Fingerprint({"ListTasks", call.principal.subject, req.owner(), req.customer(), req.source(),
                   absl::StrCat(req.state(), ",", req.kind(), ",", req.due_before().seconds())});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  TaskFilter filter;
  filter.scope = auth::ScopeFor(call.principal);
  filter.owner = req.owner();
  filter.customer = req.customer();
  filter.state = req.state();
  filter.kind = req.kind();
  filter.source = req.source();
  if (req.has_due_before()) filter.due_before = FromProto(req.due_before());
  pb::ListTasksResponse resp;
  const absl::Time now = clock_.Now();
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        std::vector<Stored<pb::Task>> rows = tx.ListTasks(filter, CursorOf(cursor), page_size + 1);
        internal::FinishPage(rows, page_size, tokens_, query, resp);
        for (Stored<pb::Task>& r : rows) {
          TaskOverdue(r.message, now);
          *resp.add_tasks() = std::move(r.message);
        }
        return absl::OkStatus();
      },
      "ListTasks"));
  return resp;
}

absl::StatusOr<pb::Task> SchedulingService::CompleteTask(const Call& call, const pb::CompleteTaskRequest& req) {
  Violations errors;
  CheckText(req.resolution(), "resolution", 2000, true, errors);
  RETURN_IF_ERROR(errors.ToStatus());
  const absl::Time now = clock_.Now();
  pb::Task out;
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        ASSIGN_OR_RETURN(Stored<pb::Task> t, VisibleTask(tx, call, req.name(), true));
        RETURN_IF_ERROR(CheckEtag(req.etag(), t.message.etag()));
        if (t.message.state() != pb::TASK_OPEN) return absl::FailedPreconditionError("the task is not open");
        Close(tx, t, req.resolution(), now);
        tx.Audit(t.message.name(), call.principal.subject, "CompleteTask", req.resolution(), now);
        out = t.message;
        out.set_state(pb::TASK_DONE);
        ToProto(now, out.mutable_done_time());
        out.set_resolution(req.resolution());
        out.set_etag(absl::StrCat(t.version + 1));
        return absl::OkStatus();
      },
      "CompleteTask"));
  TaskOverdue(out, now);
  return out;
}

absl::StatusOr<pb::Task> SchedulingService::CreateUrgentTask(const Call& call,
                                                            const pb::CreateUrgentTaskRequest& req) {
  RETURN_IF_ERROR(internal::CheckRequestId(req.request_id()));
  const absl::Time now = clock_.Now();
  Violations errors;
  if (ParseSingleId(req.customer(), "customers", "customer").status().code() != absl::StatusCode::kOk) {
    errors.Add("customer", "expected customers/{id}");
  }
  if (req.kind() != pb::URGENT_CARD_SERVICE && req.kind() != pb::URGENT_GOODS) {
    errors.Add("kind", "URGENT_CARD_SERVICE or URGENT_GOODS");
  }
  CheckText(req.title(), "title", 500, true, errors);
  const absl::Time received = req.has_receive_time() ? FromProto(req.receive_time()) : now;
  if (received > now + absl::Minutes(5) || received < now - absl::Hours(1)) {
    errors.Add("receive_time", "not in the future and at most an hour back");
  }
  RETURN_IF_ERROR(errors.ToStatus());
  if (call.principal.role == auth::Role::kService) return Forbidden("take urgent requests (a manager does)");
  // Visibility of the customer is the customers service's decision (GW-2).
  ASSIGN_OR_RETURN(CustomerSite site, customers_.Lookup(call.upstream, req.customer()));

  pb::Task task;
  task.set_kind(req.kind());
  task.set_customer(site.name);
  task.set_owner(call.principal.subject);
  task.set_team(call.principal.team);
  task.set_title(req.title());
  task.set_source(site.name);
  task.set_state(pb::TASK_OPEN);
  ToProto(received + UrgentDeadline(req.kind()), task.mutable_due_time());
  RETURN_IF_ERROR(store_.Transact(
      call.deadline,
      [&](SchedulingTx& tx) -> absl::Status {
        if (!req.request_id().empty()) {
          if (std::optional<std::string> done =
                  tx.FindRequest("CreateUrgentTask", call.principal.subject, req.request_id())) {
            ASSIGN_OR_RETURN(Stored<pb::Task> first, VisibleTask(tx, call, *done, false));
            task = std::move(first.message);
            return absl::OkStatus();
          }
        }
        // SCH-7 is the government key customers' rule.
        if (!tx.HasContactRole(site.name, "GOVERNMENT")) {
          return absl::FailedPreconditionError(
              absl::StrCat(site.name, " has no GOVERNMENT contact: urgent business (SCH-7) is for government key "
                           "customers"));
        }
        const std::string key =
            absl::StrCat("urgent:", call.principal.subject, ":", absl::ToUnixNanos(now), ":", req.request_id());
        std::optional<pb::Task> created = OpenTask(tx, task, key, now);
        if (!created) return absl::AbortedError("a concurrent urgent task took the same key; retry");
        task = *std::move(created);
        tx.Audit(task.name(), call.principal.subject, "CreateUrgentTask", pb::TaskKind_Name(task.kind()), now);
        if (!req.request_id().empty()) {
          tx.RememberRequest("CreateUrgentTask", call.principal.subject, req.request_id(), task.name(), now);
        }
        return absl::OkStatus();
      },
      "CreateUrgentTask"));
  TaskOverdue(task, now);
  return task;
}

}  // namespace crm::scheduling
