#include "services/complaints/src/complaint_service.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/db/idempotency.h"
#include "common/status/status_macros.h"
#include "common/util/aip.h"
#include "common/util/proto_diff.h"
#include "common/util/proto_time.h"
#include "common/util/resource_name.h"
#include "crm/complaints/v1/events.pb.h"

namespace crm::complaints {
namespace {

using auth::Role;

absl::Status RequireRequestId(const std::string& request_id) {
  if (absl::Status s = db::ValidateRequestId(request_id); !s.ok()) {
    return InvalidField("request_id", std::string(s.message()));
  }
  return absl::OkStatus();
}

template <typename T>
std::shared_ptr<const google::protobuf::Message> Payload(T message) {
  return std::make_shared<T>(std::move(message));
}

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &d);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(d / absl::Nanoseconds(1)));
}

absl::Duration FromDuration(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

ClockRecord* FindClock(ComplaintRow& row, pb::ClockKind kind, int64_t transfer_id = 0) {
  for (ClockRecord& c : row.clocks) {
    if (c.kind == kind && c.transfer_id == transfer_id) return &c;
  }
  return nullptr;
}

ClockRecord NewClock(pb::ClockKind kind, pb::ClockBasis basis, absl::Duration target, const Actor& actor,
               std::string reason) {
  ClockRecord c;
  c.kind = kind;
  c.basis = basis;
  c.log.push_back({pb::START, actor.now, actor.subject, std::move(reason), target});
  return c;
}

// Appends `action` when it applies to the clock's state.
absl::Status Transition(ClockRecord& clock, pb::ClockAction action, const Actor& actor, std::string reason) {
  RETURN_IF_ERROR(CheckClockAction(clock.log, action));
  clock.log.push_back({action, actor.now, actor.subject, std::move(reason), absl::ZeroDuration()});
  return absl::OkStatus();
}

bool Stopped(const ClockRecord& c) {
  return std::any_of(c.log.begin(), c.log.end(), [](const ClockEntry& e) { return e.action == pb::STOP; });
}
bool Paused(const ClockRecord& c) {
  bool paused = false;
  for (const ClockEntry& e : c.log) {
    if (e.action == pb::PAUSE) paused = true;
    if (e.action == pb::RESUME) paused = false;
  }
  return paused && !Stopped(c);
}

// Stops a clock that is still running or paused (no-op when stopped).
void StopIfRunning(ClockRecord* clock, const Actor& actor, const std::string& reason) {
  if (clock != nullptr && !Stopped(*clock)) {
    clock->log.push_back({pb::STOP, actor.now, actor.subject, reason, absl::ZeroDuration()});
  }
}

absl::Status MoveTo(pb::Complaint& c, pb::ComplaintStatus to, Changes& changes, const std::string& why) {
  RETURN_IF_ERROR(CheckTransition(c.status(), to));
  changes.timeline.emplace_back(pb::STATUS_CHANGE, absl::StrCat(pb::ComplaintStatus_Name(c.status()), " → ",
                                                                pb::ComplaintStatus_Name(to), why.empty() ? "" : ": ",
                                                                why));
  c.set_status(to);
  return absl::OkStatus();
}

template <typename T>
T Addressed(const pb::Complaint& c) {
  T e;
  e.set_complaint(c.name());
  e.set_customer(c.customer());
  e.set_owner(c.owner());
  if constexpr (requires { e.set_team(std::string()); }) e.set_team(c.team());
  return e;
}

absl::StatusOr<std::pair<absl::Time, absl::Time>> Period(const google::protobuf::Timestamp& start,
                                                         const google::protobuf::Timestamp& end) {
  Violations v;
  if (start.seconds() == 0 && start.nanos() == 0) v.Add("start_time", "required");
  if (end.seconds() == 0 && end.nanos() == 0) v.Add("end_time", "required");
  if (!IsValidTimestamp(start)) v.Add("start_time", "not a valid time");
  if (!IsValidTimestamp(end)) v.Add("end_time", "not a valid time");
  RETURN_IF_ERROR(v.ToStatus());
  const absl::Time from = FromProto(start), to = FromProto(end);
  if (to <= from) return InvalidField("end_time", "must be after start_time");
  if (to - from > absl::Hours(24 * 400)) return InvalidField("end_time", "a period is at most 400 days");
  return std::make_pair(from, to);
}

double Ratio(int64_t part, int64_t whole) { return whole == 0 ? 0.0 : static_cast<double>(part) / whole; }

void Accumulate(const ComplianceRow& r, ComplianceRow& into) {
  into.complaints += r.complaints;
  into.first_response_decided += r.first_response_decided;
  into.first_response_met += r.first_response_met;
  into.resolution_decided += r.resolution_decided;
  into.resolution_met += r.resolution_met;
  into.closed += r.closed;
  into.revisits += r.revisits;
  into.satisfaction_sum += r.satisfaction_sum;
  into.vip_revisits += r.vip_revisits;
  into.vip_satisfied += r.vip_satisfied;
}

pb::ComplianceFigures Figures(const ComplianceRow& r) {
  pb::ComplianceFigures f;
  f.set_complaints(r.complaints);
  f.set_first_response_decided(r.first_response_decided);
  f.set_first_response_met(r.first_response_met);
  f.set_resolution_decided(r.resolution_decided);
  f.set_resolution_met(r.resolution_met);
  f.set_first_response_compliance(Ratio(r.first_response_met, r.first_response_decided));
  f.set_resolution_compliance(Ratio(r.resolution_met, r.resolution_decided));
  f.set_revisits(r.revisits);
  f.set_average_satisfaction(Ratio(r.satisfaction_sum, r.revisits));
  f.set_closed(r.closed);
  f.set_revisit_rate(Ratio(r.revisits, r.closed));
  return f;
}

// Pages over an in-memory list by offset (lists bounded by one complaint).
template <typename T, typename Rows>
std::string PageByOffset(const Rows& all, int offset, int page_size, google::protobuf::RepeatedPtrField<T>* out,
                         const PageTokenCodec& tokens, const std::string& query) {
  const int end = std::min<int>(static_cast<int>(all.size()), offset + page_size);
  for (int i = offset; i < end; ++i) *out->Add() = all[i];
  return end < static_cast<int>(all.size()) ? tokens.Encode(query, absl::StrCat(end)) : "";
}

int64_t CursorOf(const std::string& cursor) {
  int64_t v = 0;
  return absl::SimpleAtoi(cursor, &v) ? v : 0;
}

}  // namespace

Actor ComplaintService::ActorFor(const Call& call, std::string method) const {
  return Actor{call.principal.subject, std::move(method), clock_.Now()};
}

void ComplaintService::Evaluate(ComplaintRow& row, absl::Time now) const {
  row.complaint.clear_clocks();
  for (ClockRecord& clock : row.clocks) {
    clock.view = EvaluateClock(clock.basis, clock.log, now, calendar_, settings_.clock);
    pb::SlaClock& out = *row.complaint.add_clocks();
    out.set_kind(clock.kind);
    if (clock.transfer_id != 0) out.set_transfer(absl::StrCat(row.complaint.name(), "/transfers/", clock.transfer_id));
    SetDuration(clock.view.target, out.mutable_target());
    out.set_basis(clock.basis);
    out.set_state(clock.view.state);
    out.set_paused(clock.view.paused);
    out.set_stopped(clock.view.stopped);
    SetDuration(clock.view.used, out.mutable_used());
    SetDuration(clock.view.remaining, out.mutable_remaining());
    if (clock.view.due_time) ToProto(*clock.view.due_time, out.mutable_due_time());
    if (clock.view.breach_time) ToProto(*clock.view.breach_time, out.mutable_breach_time());
  }
}

absl::StatusOr<ComplaintRow> ComplaintService::LoadVisible(const Call& call, const std::string& name,
                                                           const std::string& field) {
  ASSIGN_OR_RETURN(int64_t id, ParseSingleId(name, "complaints", field));
  absl::StatusOr<ComplaintRow> row = repo_.Get(call.deadline, id);
  if (row.status().code() == absl::StatusCode::kNotFound ||
      (row.ok() && !auth::InScope(auth::ScopeFor(call.principal), row->complaint.owner(), row->complaint.team()))) {
    return absl::NotFoundError(absl::StrCat(name, " not found"));
  }
  RETURN_IF_ERROR(row.status());
  Evaluate(*row, clock_.Now());
  return row;
}

absl::StatusOr<MutateResult> ComplaintService::MutateVisible(const Call& call, const std::string& name,
                                                             const std::string& field, const char* method,
                                                             const std::string& etag, const Mutation& fn,
                                                             const std::string& request_id) {
  ASSIGN_OR_RETURN(std::vector<int64_t> ids, ParseResourceName(name, {"complaints"}, field));
  const auth::AccessScope scope = auth::ScopeFor(call.principal);
  const Actor actor = ActorFor(call, method);
  absl::StatusOr<MutateResult> result = repo_.Mutate(
      call.deadline, ids.front(), actor,
      [&](ComplaintRow& current, Changes& changes) -> absl::Status {
        if (!auth::InScope(scope, current.complaint.owner(), current.complaint.team())) {
          return absl::NotFoundError(absl::StrCat(name, " not found"));
        }
        RETURN_IF_ERROR(CheckEtag(etag, current.complaint.etag()));
        Evaluate(current, actor.now);
        RETURN_IF_ERROR(fn(current, changes));
        Evaluate(current, actor.now);  // the schedule the write stores
        return absl::OkStatus();
      },
      request_id);
  if (result.status().code() == absl::StatusCode::kNotFound) {
    return absl::NotFoundError(absl::StrCat(name, " not found"));
  }
  RETURN_IF_ERROR(result.status());
  Evaluate(result->row, actor.now);
  return result;
}

// ---------------------------------------------------------------- record

absl::StatusOr<pb::Complaint> ComplaintService::RecordComplaint(const Call& call,
                                                                const pb::RecordComplaintRequest& req) {
  if (call.principal.role == Role::kService) {
    return absl::PermissionDeniedError("a complaint is owned by the manager who receives it (CMP-2): "
                                       "record it with that manager's token");
  }
  RETURN_IF_ERROR(RequireRequestId(req.request_id()));
  pb::Complaint c;
  const pb::Complaint& in = req.complaint();
  c.set_kind(in.kind() == pb::COMPLAINT_KIND_UNSPECIFIED ? pb::COMPLAINT : in.kind());
  c.set_customer(in.customer());
  c.set_contact(in.contact());
  c.set_channel(in.channel());
  c.set_category(in.category());
  c.set_severity(in.severity() == pb::SEVERITY_UNSPECIFIED ? pb::NORMAL : in.severity());
  c.set_difficult(in.difficult());
  c.set_escalated(in.escalated());
  c.set_skip_level(in.skip_level());
  c.set_statement(in.statement());
  c.set_confirmed_statement(in.confirmed_statement());
  c.set_resolvability(in.resolvability());
  Violations v;
  ValidateNewComplaint(in, "complaint.", v);
  RETURN_IF_ERROR(v.ToStatus());

  // CMP-3: the customer's standing fixes the targets. Waiting on the
  // customers service is bounded so a slow one cannot lose the complaint.
  client::Caller lookup_caller = call.upstream;
  lookup_caller.deadline = std::min(call.deadline, clock_.Now() + settings_.lookup_timeout);
  absl::StatusOr<CustomerStanding> standing = customers_.Lookup(lookup_caller, c.customer(), c.contact());
  const bool unreachable = standing.status().code() == absl::StatusCode::kUnavailable ||
                           standing.status().code() == absl::StatusCode::kDeadlineExceeded;
  if (!standing.ok() && !unreachable) return standing.status();

  SlaPolicy policy;
  if (unreachable) {
    ASSIGN_OR_RETURN(std::vector<SlaPolicy> table, repo_.ListPolicies(call.deadline));
    ASSIGN_OR_RETURN(policy, StrictestPolicy(table, c.kind()));
    c.set_targets_provisional(true);
    c.set_tier_class(pb::TIER_CLASS_UNSPECIFIED);
  } else {
    c.set_tier_class(TierClassOf(standing->tier));
    c.set_vip(standing->vip);
    ASSIGN_OR_RETURN(policy, repo_.GetPolicy(call.deadline, {c.kind(), c.severity(), c.vip(), c.tier_class()}));
  }
  c.set_status(pb::OPEN);
  c.set_owner(call.principal.subject);  // CMP-2: who receives it owns it
  c.set_team(call.principal.team);

  const Actor actor = ActorFor(call, "RecordComplaint");
  ComplaintRow row;
  row.complaint = c;
  const std::string why = unreachable ? "strictest targets: the customers service did not answer"
                                      : absl::StrCat("policy ", PolicyName(policy.key));
  row.clocks.push_back(NewClock(pb::FIRST_RESPONSE, policy.basis, policy.first_response, actor, why));
  row.clocks.push_back(NewClock(pb::RESOLUTION, policy.basis, policy.resolution, actor, why));
  Evaluate(row, actor.now);
  RETURN_IF_ERROR(repo_.Create(
      call.deadline, row, absl::StrCat("recorded by ", actor.subject, " (", why, ")"),
      [](const pb::Complaint& created) {
        auto e = Addressed<pb::ComplaintRecorded>(created);
        e.set_kind(pb::ComplaintKind_Name(created.kind()));
        e.set_severity(pb::Severity_Name(created.severity()));
        e.set_tier_class(pb::TierClass_Name(created.tier_class()));
        e.set_vip(created.vip());
        // CMP-5: A-class complaints go to the supervisor as they happen;
        // with provisional targets the class is unknown, so tell them too.
        e.set_notify_supervisor(created.tier_class() == pb::TIER_A || created.targets_provisional());
        e.set_targets_provisional(created.targets_provisional());
        return std::vector<Event>{{created.name(), Payload(std::move(e))}};
      },
      req.request_id(), actor));
  Evaluate(row, clock_.Now());
  return row.complaint;
}

absl::StatusOr<pb::Complaint> ComplaintService::GetComplaint(const Call& call, const pb::GetComplaintRequest& req) {
  ASSIGN_OR_RETURN(ComplaintRow row, LoadVisible(call, req.name(), "name"));
  return row.complaint;
}

absl::StatusOr<pb::Complaint> ComplaintService::UpdateComplaint(const Call& call,
                                                                const pb::UpdateComplaintRequest& req) {
  ASSIGN_OR_RETURN(std::vector<std::string> paths,
                   MaskPaths(req.update_mask(), {"contact", "category", "resolvability", "confirmed_statement",
                                                 "difficult", "skip_level"}));
  ASSIGN_OR_RETURN(MutateResult r,
                   MutateVisible(call, req.complaint().name(), "complaint.name", "UpdateComplaint",
                                 req.complaint().etag(), [&](ComplaintRow& current, Changes& changes) -> absl::Status {
                                   if (!IsOpen(current.complaint.status())) {
                                     return absl::FailedPreconditionError(
                                         absl::StrCat(current.complaint.name(), " is ",
                                                      pb::ComplaintStatus_Name(current.complaint.status())));
                                   }
                                   const pb::Complaint before = current.complaint;
                                   ApplyMask(req.complaint(), paths, current.complaint);
                                   Violations v;
                                   ValidateComplaintFields(current.complaint, "complaint.", v);
                                   RETURN_IF_ERROR(v.ToStatus());
                                   for (const FieldDiff& d : DiffMessages(before, current.complaint, {})) {
                                     changes.timeline.emplace_back(
                                         pb::FIELD_CHANGE,
                                         absl::StrCat(d.field, ": ", d.old_value, " → ", d.new_value));
                                   }
                                   return absl::OkStatus();
                                 }));
  return r.row.complaint;
}

absl::StatusOr<pb::ListComplaintsResponse> ComplaintService::ListComplaints(const Call& call,
                                                                            const pb::ListComplaintsRequest& req) {
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  Violations v;
  if (!pb::ComplaintStatus_IsValid(req.status())) v.Add("status", "unknown status");
  if (!pb::ComplaintKind_IsValid(req.kind())) v.Add("kind", "unknown kind");
  if (!req.customer().empty() && ParseSingleId(req.customer(), "customers", "customer").status().code() !=
                                     absl::StatusCode::kOk) {
    v.Add("customer", "expected customers/{id}");
  }
  CheckText(req.owner(), "owner", 100, false, v);
  RETURN_IF_ERROR(v.ToStatus());
  const std::string query =
      Fingerprint({"ListComplaints", call.principal.subject, req.customer(), req.owner(),
                   absl::StrCat(req.status(), ",", req.kind(), ",", req.open_only(), ",", req.at_risk_only())});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  ListFilter filter;
  filter.scope = auth::ScopeFor(call.principal);
  filter.customer = req.customer();
  filter.owner = req.owner();
  filter.status = req.status();
  filter.kind = req.kind();
  filter.open_only = req.open_only();
  const absl::Time now = clock_.Now();
  if (req.at_risk_only()) filter.at_risk_at = now;
  ASSIGN_OR_RETURN(std::vector<ComplaintRow> rows, repo_.List(call.deadline, filter, CursorOf(cursor), page_size + 1));
  pb::ListComplaintsResponse resp;
  const bool more = static_cast<int>(rows.size()) > page_size;
  if (more) rows.pop_back();
  for (ComplaintRow& row : rows) {
    Evaluate(row, now);
    *resp.add_complaints() = std::move(row.complaint);
  }
  if (more) resp.set_next_page_token(tokens_.Encode(query, absl::StrCat(rows.back().id)));
  return resp;
}

// ---------------------------------------------------------------- clocks

absl::StatusOr<pb::Complaint> ComplaintService::RespondToComplaint(const Call& call,
                                                                   const pb::RespondToComplaintRequest& req) {
  Violations v;
  CheckText(req.response(), "response", 4000, true, v);
  RETURN_IF_ERROR(v.ToStatus());
  ASSIGN_OR_RETURN(MutateResult r,
                   MutateVisible(call, req.name(), "name", "RespondToComplaint", req.etag(),
                                 [&](ComplaintRow& current, Changes& changes) -> absl::Status {
                                   pb::Complaint& c = current.complaint;
                                   if (c.has_first_response_time()) {
                                     return absl::FailedPreconditionError(
                                         absl::StrCat(c.name(), " already has its first response"));
                                   }
                                   const Actor actor = ActorFor(call, "RespondToComplaint");
                                   StopIfRunning(FindClock(current, pb::FIRST_RESPONSE), actor, "first response");
                                   ToProto(actor.now, c.mutable_first_response_time());
                                   changes.timeline.emplace_back(pb::NOTE, absl::StrCat("response: ", req.response()));
                                   if (c.status() == pb::OPEN) return MoveTo(c, pb::IN_PROGRESS, changes, "");
                                   return absl::OkStatus();
                                 }));
  return r.row.complaint;
}

absl::StatusOr<pb::Complaint> ComplaintService::PauseComplaintClock(const Call& call,
                                                                    const pb::PauseComplaintClockRequest& req) {
  Violations v;
  CheckText(req.reason(), "reason", 1000, true, v);
  RETURN_IF_ERROR(v.ToStatus());
  ASSIGN_OR_RETURN(MutateResult r,
                   MutateVisible(call, req.name(), "name", "PauseComplaintClock", req.etag(),
                                 [&](ComplaintRow& current, Changes& changes) -> absl::Status {
                                   RETURN_IF_ERROR(MoveTo(current.complaint, pb::WAITING_ON_CUSTOMER, changes,
                                                          req.reason()));
                                   const Actor actor = ActorFor(call, "PauseComplaintClock");
                                   // Back-office transfers keep running: the
                                   // wait is on the customer, not on them.
                                   for (ClockRecord& clock : current.clocks) {
                                     if (clock.kind != pb::TRANSFER && !Stopped(clock)) {
                                       RETURN_IF_ERROR(Transition(clock, pb::PAUSE, actor, req.reason()));
                                     }
                                   }
                                   return absl::OkStatus();
                                 }));
  return r.row.complaint;
}

absl::StatusOr<pb::Complaint> ComplaintService::ResumeComplaintClock(const Call& call,
                                                                     const pb::ResumeComplaintClockRequest& req) {
  Violations v;
  CheckText(req.reason(), "reason", 1000, true, v);
  RETURN_IF_ERROR(v.ToStatus());
  ASSIGN_OR_RETURN(MutateResult r,
                   MutateVisible(call, req.name(), "name", "ResumeComplaintClock", req.etag(),
                                 [&](ComplaintRow& current, Changes& changes) -> absl::Status {
                                   pb::Complaint& c = current.complaint;
                                   if (c.status() != pb::WAITING_ON_CUSTOMER) {
                                     return absl::FailedPreconditionError(
                                         absl::StrCat(c.name(), " is not waiting on the customer"));
                                   }
                                   RETURN_IF_ERROR(MoveTo(c, c.has_first_response_time() ? pb::IN_PROGRESS : pb::OPEN,
                                                          changes, req.reason()));
                                   const Actor actor = ActorFor(call, "ResumeComplaintClock");
                                   for (ClockRecord& clock : current.clocks) {
                                     if (Paused(clock)) RETURN_IF_ERROR(Transition(clock, pb::RESUME, actor, req.reason()));
                                   }
                                   return absl::OkStatus();
                                 }));
  return r.row.complaint;
}

absl::StatusOr<pb::ListClockTransitionsResponse> ComplaintService::ListClockTransitions(
    const Call& call, const pb::ListClockTransitionsRequest& req) {
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  ASSIGN_OR_RETURN(ComplaintRow row, LoadVisible(call, req.name(), "name"));
  std::vector<std::pair<absl::Time, pb::ClockTransition>> all;
  for (const ClockRecord& clock : row.clocks) {
    for (const ClockEntry& e : clock.log) {
      pb::ClockTransition t;
      t.set_kind(clock.kind);
      if (clock.transfer_id != 0) t.set_transfer(absl::StrCat(req.name(), "/transfers/", clock.transfer_id));
      t.set_action(e.action);
      ToProto(e.time, t.mutable_time());
      t.set_actor(e.actor);
      t.set_reason(e.reason);
      if (e.action == pb::START || e.action == pb::RETARGET) SetDuration(e.target, t.mutable_target());
      all.emplace_back(e.time, std::move(t));
    }
  }
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<pb::ClockTransition> ordered;
  for (auto& [time, t] : all) ordered.push_back(std::move(t));
  const std::string query = Fingerprint({"ListClockTransitions", req.name()});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  pb::ListClockTransitionsResponse resp;
  resp.set_next_page_token(PageByOffset(ordered, static_cast<int>(CursorOf(cursor)), page_size,
                                        resp.mutable_transitions(), tokens_, query));
  return resp;
}

// ---------------------------------------------------------------- transfers

absl::StatusOr<pb::Transfer> ComplaintService::TransferComplaint(const Call& call,
                                                                 const pb::TransferComplaintRequest& req) {
  RETURN_IF_ERROR(RequireRequestId(req.request_id()));
  const pb::Transfer& t = req.transfer();
  const absl::Time now = clock_.Now();
  Violations v;
  CheckText(t.department(), "transfer.department", 200, true, v);
  CheckText(t.request(), "transfer.request", 4000, true, v);
  if (!t.has_due_time()) {
    v.Add("transfer.due_time", "required: a transfer carries its own due time (CMP-2)");
  } else if (FromProto(t.due_time()) <= now) {
    v.Add("transfer.due_time", "must be in the future");
  } else if (FromProto(t.due_time()) > now + absl::Hours(24 * 90)) {
    v.Add("transfer.due_time", "at most 90 days ahead");
  }
  RETURN_IF_ERROR(v.ToStatus());
  ASSIGN_OR_RETURN(
      MutateResult r,
      MutateVisible(
          call, req.parent(), "parent", "TransferComplaint", "",
          [&](ComplaintRow& current, Changes& changes) -> absl::Status {
            if (!IsOpen(current.complaint.status())) {
              return absl::FailedPreconditionError(absl::StrCat(
                  current.complaint.name(), " is ", pb::ComplaintStatus_Name(current.complaint.status())));
            }
            const Actor actor = ActorFor(call, "TransferComplaint");
            pb::Transfer transfer;
            transfer.set_department(t.department());
            transfer.set_request(t.request());
            *transfer.mutable_due_time() = t.due_time();
            transfer.set_transferred_by(actor.subject);
            changes.new_transfer = transfer;
            current.clocks.push_back(NewClock(pb::TRANSFER, pb::ELAPSED_HOURS, FromProto(t.due_time()) - actor.now,
                                              actor, absl::StrCat("transferred to ", t.department())));
            changes.timeline.emplace_back(pb::TRANSFER_EVENT,
                                          absl::StrCat("transferred to ", t.department(), "; owner stays ",
                                                       current.complaint.owner()));
            return absl::OkStatus();
          },
          req.request_id()));
  ASSIGN_OR_RETURN(std::vector<int64_t> ids, ParseResourceName(r.created, {"complaints", "transfers"}, "name"));
  return repo_.GetTransfer(call.deadline, ids[0], ids[1]);
}

absl::StatusOr<pb::Transfer> ComplaintService::CompleteTransfer(const Call& call,
                                                                const pb::CompleteTransferRequest& req) {
  ASSIGN_OR_RETURN(std::vector<int64_t> ids, ParseResourceName(req.name(), {"complaints", "transfers"}, "name"));
  Violations v;
  CheckText(req.reply(), "reply", 4000, true, v);
  RETURN_IF_ERROR(v.ToStatus());
  const std::string parent = absl::StrCat("complaints/", ids[0]);
  ASSIGN_OR_RETURN(pb::Transfer transfer, [&]() -> absl::StatusOr<pb::Transfer> {
    absl::StatusOr<pb::Transfer> t = repo_.GetTransfer(call.deadline, ids[0], ids[1]);
    if (t.status().code() == absl::StatusCode::kNotFound) return absl::NotFoundError(absl::StrCat(req.name(), " not found"));
    return t;
  }());
  ASSIGN_OR_RETURN(MutateResult r,
                   MutateVisible(call, parent, "name", "CompleteTransfer", "",
                                 [&](ComplaintRow& current, Changes& changes) -> absl::Status {
                                   ClockRecord* clock = FindClock(current, pb::TRANSFER, ids[1]);
                                   if (transfer.has_complete_time() || clock == nullptr || Stopped(*clock)) {
                                     return absl::FailedPreconditionError(absl::StrCat(req.name(), " is complete"));
                                   }
                                   const Actor actor = ActorFor(call, "CompleteTransfer");
                                   StopIfRunning(clock, actor, "department replied");
                                   transfer.set_reply(req.reply());
                                   ToProto(actor.now, transfer.mutable_complete_time());
                                   changes.completed_transfer = std::make_pair(ids[1], transfer);
                                   changes.timeline.emplace_back(
                                       pb::TRANSFER_EVENT, absl::StrCat(transfer.department(), " replied: ", req.reply()));
                                   return absl::OkStatus();
                                 }));
  (void)r;
  return transfer;
}

absl::StatusOr<pb::ListTransfersResponse> ComplaintService::ListTransfers(const Call& call,
                                                                          const pb::ListTransfersRequest& req) {
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  ASSIGN_OR_RETURN(ComplaintRow row, LoadVisible(call, req.parent(), "parent"));
  const std::string query = Fingerprint({"ListTransfers", req.parent()});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  ASSIGN_OR_RETURN(auto rows, repo_.ListTransfers(call.deadline, row.id, CursorOf(cursor), page_size + 1));
  pb::ListTransfersResponse resp;
  for (int i = 0; i < std::min<int>(page_size, rows.size()); ++i) *resp.add_transfers() = rows[i].second;
  if (static_cast<int>(rows.size()) > page_size) {
    resp.set_next_page_token(tokens_.Encode(query, absl::StrCat(rows[page_size - 1].first)));
  }
  return resp;
}

// ---------------------------------------------------------------- timeline

absl::StatusOr<pb::TimelineEntry> ComplaintService::AddComplaintNote(const Call& call,
                                                                     const pb::AddComplaintNoteRequest& req) {
  RETURN_IF_ERROR(RequireRequestId(req.request_id()));
  Violations v;
  CheckText(req.text(), "text", 4000, true, v);
  RETURN_IF_ERROR(v.ToStatus());
  ASSIGN_OR_RETURN(MutateResult r, MutateVisible(call, req.parent(), "parent", "AddComplaintNote", "",
                                                 [&](ComplaintRow&, Changes& changes) -> absl::Status {
                                                   changes.timeline.emplace_back(pb::NOTE, req.text());
                                                   return absl::OkStatus();
                                                 },
                                                 req.request_id()));
  ASSIGN_OR_RETURN(std::vector<int64_t> ids, ParseResourceName(r.created, {"complaints", "timeline"}, "name"));
  return repo_.GetTimelineEntry(call.deadline, ids[0], ids[1]);
}

absl::StatusOr<pb::ListTimelineResponse> ComplaintService::ListTimeline(const Call& call,
                                                                        const pb::ListTimelineRequest& req) {
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(req.page_size()));
  ASSIGN_OR_RETURN(ComplaintRow row, LoadVisible(call, req.parent(), "parent"));
  const std::string query = Fingerprint({"ListTimeline", req.parent()});
  ASSIGN_OR_RETURN(std::string cursor, tokens_.Decode(query, req.page_token()));
  ASSIGN_OR_RETURN(auto rows, repo_.ListTimeline(call.deadline, row.id, CursorOf(cursor), page_size + 1));
  pb::ListTimelineResponse resp;
  for (int i = 0; i < std::min<int>(page_size, rows.size()); ++i) *resp.add_entries() = rows[i].second;
  if (static_cast<int>(rows.size()) > page_size) {
    resp.set_next_page_token(tokens_.Encode(query, absl::StrCat(rows[page_size - 1].first)));
  }
  return resp;
}

// ---------------------------------------------------------------- resolution

absl::StatusOr<pb::Complaint> ComplaintService::ProposeResolution(const Call& call,
                                                                  const pb::ProposeResolutionRequest& req) {
  Violations v;
  CheckText(req.resolution(), "resolution", 4000, true, v);
  RETURN_IF_ERROR(v.ToStatus());
  ASSIGN_OR_RETURN(
      MutateResult r,
      MutateVisible(call, req.name(), "name", "ProposeResolution", req.etag(),
                    [&](ComplaintRow& current, Changes& changes) -> absl::Status {
                      pb::Complaint& c = current.complaint;
                      if (c.kind() == pb::FAULT_REPORT && !c.has_fault()) {
                        return absl::FailedPreconditionError(
                            "a fault report's cause, fix and restoration time are fed back first (CMP-9): "
                            "RecordFaultFindings");
                      }
                      RETURN_IF_ERROR(MoveTo(c, pb::RESOLUTION_PROPOSED, changes, ""));
                      const Actor actor = ActorFor(call, "ProposeResolution");
                      // Proposing is a response; the decision is the customer's, so
                      // the resolution clock waits for it (CMP-6).
                      if (!c.has_first_response_time()) ToProto(actor.now, c.mutable_first_response_time());
                      StopIfRunning(FindClock(current, pb::FIRST_RESPONSE), actor, "resolution proposed");
                      if (ClockRecord* res = FindClock(current, pb::RESOLUTION); res != nullptr && !Paused(*res)) {
                        RETURN_IF_ERROR(
                            Transition(*res, pb::PAUSE, actor, "resolution proposed; waiting for the customer"));
                      }
                      c.set_resolution(req.resolution());
                      changes.timeline.emplace_back(pb::NOTE, absl::StrCat("resolution proposed: ", req.resolution()));
                      return absl::OkStatus();
                    }));
  return r.row.complaint;
}

absl::StatusOr<pb::Complaint> ComplaintService::RecordCustomerDecision(
    const Call& call, const pb::RecordCustomerDecisionRequest& req) {
  Violations v;
  CheckText(req.comment(), "comment", 4000, !req.accepted(), v);
  RETURN_IF_ERROR(v.ToStatus());
  ASSIGN_OR_RETURN(
      MutateResult r,
      MutateVisible(
          call, req.name(), "name", "RecordCustomerDecision", req.etag(),
          [&](ComplaintRow& current, Changes& changes) -> absl::Status {
            pb::Complaint& c = current.complaint;
            if (c.status() != pb::RESOLUTION_PROPOSED) {
              return absl::FailedPreconditionError(absl::StrCat(c.name(), " has no proposed resolution"));
            }
            const Actor actor = ActorFor(call, "RecordCustomerDecision");
            ClockRecord* res = FindClock(current, pb::RESOLUTION);
            if (req.accepted()) {
              RETURN_IF_ERROR(MoveTo(c, pb::RESOLVED, changes, "the customer accepted"));
              StopIfRunning(res, actor, "the customer accepted the resolution");
              ToProto(actor.now, c.mutable_resolve_time());
              changes.events.push_back({c.name(), Payload(Addressed<pb::ComplaintResolved>(c))});
              return absl::OkStatus();
            }
            // CMP-5: rejected → escalated to the supervisor with the record.
            RETURN_IF_ERROR(MoveTo(c, pb::IN_PROGRESS, changes, "the customer rejected the resolution"));
            if (res != nullptr && Paused(*res)) {
              RETURN_IF_ERROR(Transition(*res, pb::RESUME, actor, "the customer rejected the resolution"));
            }
            c.set_escalated(true);
            c.set_escalation_count(c.escalation_count() + 1);
            changes.timeline.emplace_back(pb::ESCALATION,
                                          absl::StrCat("escalated to the supervisor of ", c.team().empty() ? "(no team)" : c.team(),
                                                       ": ", req.comment()));
            auto e = Addressed<pb::ComplaintEscalated>(c);
            e.set_reason("CUSTOMER_REJECTED");
            e.set_comment(req.comment());
            e.set_escalation_count(c.escalation_count());
            changes.events.push_back({c.name(), Payload(std::move(e))});
            return absl::OkStatus();
          }));
  return r.row.complaint;
}

absl::StatusOr<pb::Complaint> ComplaintService::RecordFaultFindings(const Call& call,
                                                                    const pb::RecordFaultFindingsRequest& req) {
  const pb::FaultFindings& f = req.findings();
  const absl::Time now = clock_.Now();
  Violations v;
  CheckText(f.cause(), "findings.cause", 4000, true, v);
  CheckText(f.fix(), "findings.fix", 4000, true, v);
  if (f.has_restoration_time() && !IsValidTimestamp(f.restoration_time())) {
    v.Add("findings.restoration_time", "not a valid time");
  } else if (f.has_restoration_time() && FromProto(f.restoration_time()) > now + absl::Minutes(5)) {
    v.Add("findings.restoration_time", "cannot be in the future");
  }
  RETURN_IF_ERROR(v.ToStatus());
  ASSIGN_OR_RETURN(MutateResult r,
                   MutateVisible(call, req.name(), "name", "RecordFaultFindings", req.etag(),
                                 [&](ComplaintRow& current, Changes& changes) -> absl::Status {
                                   pb::Complaint& c = current.complaint;
                                   if (c.kind() != pb::FAULT_REPORT) {
                                     return absl::FailedPreconditionError(
                                         absl::StrCat(c.name(), " is not a fault report"));
                                   }
                                   if (!IsOpen(c.status())) {
                                     return absl::FailedPreconditionError(
                                         absl::StrCat(c.name(), " is ", pb::ComplaintStatus_Name(c.status())));
                                   }
                                   if (f.has_restoration_time() && FromProto(f.restoration_time()) < FromProto(c.create_time())) {
                                     return InvalidField("findings.restoration_time",
                                                         "cannot be before the fault was reported");
                                   }
                                   *c.mutable_fault() = f;
                                   ToProto(now, c.mutable_fault()->mutable_feedback_time());
                                   changes.timeline.emplace_back(
                                       pb::NOTE, absl::StrCat("fault findings fed back: cause ", f.cause(), "; fix ", f.fix()));
                                   return absl::OkStatus();
                                 }));
  return r.row.complaint;
}

absl::StatusOr<pb::Complaint> ComplaintService::CloseComplaint(const Call& call,
                                                               const pb::CloseComplaintRequest& req) {
  ASSIGN_OR_RETURN(MutateResult r,
                   MutateVisible(call, req.name(), "name", "CloseComplaint", req.etag(),
                                 [&](ComplaintRow& current, Changes& changes) -> absl::Status {
                                   pb::Complaint& c = current.complaint;
                                   for (const ClockRecord& clock : current.clocks) {
                                     if (clock.kind == pb::TRANSFER && !Stopped(clock)) {
                                       return absl::FailedPreconditionError(absl::StrCat(
                                           c.name(), "/transfers/", clock.transfer_id, " has not been answered"));
                                     }
                                   }
                                   RETURN_IF_ERROR(MoveTo(c, pb::CLOSED, changes, ""));
                                   const absl::Time now = clock_.Now();
                                   ToProto(now, c.mutable_close_time());
                                   ToProto(RevisitDue(now, calendar_), c.mutable_revisit_due_time());
                                   auto e = Addressed<pb::ComplaintClosed>(c);
                                   *e.mutable_revisit_due_time() = c.revisit_due_time();
                                   changes.events.push_back({c.name(), Payload(std::move(e))});
                                   return absl::OkStatus();
                                 }));
  return r.row.complaint;
}

absl::StatusOr<pb::Complaint> ComplaintService::RecordRevisit(const Call& call, const pb::RecordRevisitRequest& req) {
  Violations v;
  if (req.satisfaction() < 1 || req.satisfaction() > 5) v.Add("satisfaction", "1 (very dissatisfied) … 5");
  CheckText(req.comment(), "comment", 4000, false, v);
  RETURN_IF_ERROR(v.ToStatus());
  ASSIGN_OR_RETURN(MutateResult r,
                   MutateVisible(call, req.name(), "name", "RecordRevisit", req.etag(),
                                 [&](ComplaintRow& current, Changes& changes) -> absl::Status {
                                   pb::Complaint& c = current.complaint;
                                   const absl::Time now = clock_.Now();
                                   if (c.status() == pb::CLOSED && now >= FromProto(c.revisit_due_time())) {
                                     return absl::FailedPreconditionError(absl::StrCat(
                                         "the revisit was due within the month of closing, by ",
                                         absl::FormatTime(FromProto(c.revisit_due_time()), calendar_.zone()),
                                         " (CMP-7)"));
                                   }
                                   RETURN_IF_ERROR(MoveTo(c, pb::REVISITED, changes, ""));
                                   pb::Revisit& rv = *c.mutable_revisit();
                                   rv.set_satisfaction(req.satisfaction());
                                   rv.set_comment(req.comment());
                                   rv.set_revisited_by(call.principal.subject);
                                   ToProto(now, rv.mutable_revisit_time());
                                   auto e = Addressed<pb::ComplaintRevisited>(c);
                                   e.set_satisfaction(req.satisfaction());
                                   e.set_vip(c.vip());
                                   changes.events.push_back({c.name(), Payload(std::move(e))});
                                   return absl::OkStatus();
                                 }));
  return r.row.complaint;
}

// ---------------------------------------------------------------- policies

absl::StatusOr<pb::ListSlaPoliciesResponse> ComplaintService::ListSlaPolicies(const Call& call,
                                                                              const pb::ListSlaPoliciesRequest&) {
  ASSIGN_OR_RETURN(std::vector<SlaPolicy> table, repo_.ListPolicies(call.deadline));
  pb::ListSlaPoliciesResponse resp;
  for (const SlaPolicy& p : table) *resp.add_policies() = PolicyToProto(p);
  return resp;
}

absl::StatusOr<pb::SlaPolicy> ComplaintService::UpdateSlaPolicy(const Call& call,
                                                                const pb::UpdateSlaPolicyRequest& req) {
  if (call.principal.role != Role::kAdmin) return Forbidden("only ADMIN changes the SLA policy table");
  ASSIGN_OR_RETURN(std::vector<std::string> paths,
                   MaskPaths(req.update_mask(), {"first_response_target", "resolution_target", "basis"}));
  ASSIGN_OR_RETURN(PolicyKey key, ParsePolicyName(req.policy().name(), "policy.name"));
  ASSIGN_OR_RETURN(SlaPolicy policy, repo_.GetPolicy(call.deadline, key));
  if (!req.policy().etag().empty()) {
    RETURN_IF_ERROR(CheckEtag(req.policy().etag(), absl::StrCat(policy.version)));
  }
  pb::SlaPolicy merged = PolicyToProto(policy);
  ApplyMask(req.policy(), paths, merged);
  Violations v;
  const absl::Duration first = FromDuration(merged.first_response_target());
  const absl::Duration resolution = FromDuration(merged.resolution_target());
  if (first < absl::Minutes(1) || first > absl::Hours(24 * 30)) {
    v.Add("policy.first_response_target", "between 1 minute and 30 days");
  }
  if (resolution < absl::Minutes(1) || resolution > absl::Hours(24 * 90)) {
    v.Add("policy.resolution_target", "between 1 minute and 90 days");
  } else if (resolution < first) {
    v.Add("policy.resolution_target", "cannot be shorter than the first-response target");
  }
  if (merged.basis() == pb::CLOCK_BASIS_UNSPECIFIED || !pb::ClockBasis_IsValid(merged.basis())) {
    v.Add("policy.basis", "ELAPSED_HOURS or WORKING_HOURS");
  }
  RETURN_IF_ERROR(v.ToStatus());
  policy.first_response = first;
  policy.resolution = resolution;
  policy.basis = merged.basis();
  ASSIGN_OR_RETURN(SlaPolicy stored, repo_.UpdatePolicy(call.deadline, policy, ActorFor(call, "UpdateSlaPolicy")));
  return PolicyToProto(stored);
}

// ---------------------------------------------------------------- reports

absl::StatusOr<pb::SlaComplianceReport> ComplaintService::GetSlaComplianceReport(
    const Call& call, const pb::GetSlaComplianceReportRequest& req) {
  if (req.team().size() > 100) return InvalidField("team", "at most 100 bytes");
  ASSIGN_OR_RETURN(auto period, Period(req.start_time(), req.end_time()));
  const auth::AccessScope scope = auth::ScopeFor(call.principal);
  const std::string team = scope.kind == auth::AccessScope::Kind::kAll ? req.team() : "";
  ASSIGN_OR_RETURN(std::vector<ComplianceRow> rows,
                   repo_.Compliance(call.deadline, period.first, period.second, scope, team));
  pb::SlaComplianceReport report;
  ComplianceRow total;
  std::map<std::string, ComplianceRow> teams;
  for (const ComplianceRow& r : rows) {
    pb::ManagerCompliance& m = *report.add_managers();
    m.set_owner(r.owner);
    m.set_team(r.team);
    *m.mutable_figures() = Figures(r);
    Accumulate(r, teams[r.team]);
    Accumulate(r, total);
  }
  for (const auto& [name, r] : teams) {
    pb::ManagerCompliance& t = *report.add_teams();
    t.set_team(name);
    *t.mutable_figures() = Figures(r);
  }
  *report.mutable_total() = Figures(total);
  report.set_vip_revisits(total.vip_revisits);
  report.set_vip_satisfied(total.vip_satisfied);
  report.set_vip_satisfaction_rate(Ratio(total.vip_satisfied, total.vip_revisits));
  report.set_vip_satisfaction_target(kVipSatisfactionTarget);
  // CMP-7: "> 95 %"; with no VIP revisit there is nothing to meet.
  report.set_vip_target_met(total.vip_revisits > 0 && report.vip_satisfaction_rate() > kVipSatisfactionTarget);
  return report;
}

absl::StatusOr<pb::FaultAnalysisReport> ComplaintService::GetFaultAnalysisReport(
    const Call& call, const pb::GetFaultAnalysisReportRequest& req) {
  RETURN_IF_ERROR(ParseSingleId(req.customer(), "customers", "customer").status());
  ASSIGN_OR_RETURN(auto period, Period(req.start_time(), req.end_time()));
  ASSIGN_OR_RETURN(std::vector<ComplaintRow> rows,
                   repo_.Faults(call.deadline, req.customer(), period.first, period.second,
                                auth::ScopeFor(call.principal)));
  pb::FaultAnalysisReport report;
  report.set_customer(req.customer());
  absl::Duration total_restore;
  for (const ComplaintRow& row : rows) {
    const pb::Complaint& c = row.complaint;
    pb::FaultAnalysisItem& item = *report.add_faults();
    item.set_complaint(c.name());
    item.set_statement(c.statement());
    *item.mutable_findings() = c.fault();
    *item.mutable_report_time() = c.create_time();
    item.set_status(c.status());
    if (c.fault().has_restoration_time()) {
      const absl::Duration ttr = FromProto(c.fault().restoration_time()) - FromProto(c.create_time());
      SetDuration(ttr, item.mutable_time_to_restore());
      total_restore += ttr;
      report.set_restored(report.restored() + 1);
    }
  }
  if (report.restored() > 0) SetDuration(total_restore / report.restored(), report.mutable_mean_time_to_restore());
  return report;
}

// ---------------------------------------------------------------- re-evaluation

absl::StatusOr<int> ComplaintService::ReevaluateProvisional(const client::Caller& service, int limit) {
  ASSIGN_OR_RETURN(std::vector<int64_t> ids, repo_.ListProvisional(service.deadline, limit));
  if (ids.empty()) return 0;
  ASSIGN_OR_RETURN(std::vector<SlaPolicy> table, repo_.ListPolicies(service.deadline));
  int done = 0;
  for (int64_t id : ids) {
    ASSIGN_OR_RETURN(ComplaintRow row, repo_.Get(service.deadline, id));
    client::Caller lookup_caller = service;
    lookup_caller.deadline = std::min(service.deadline, clock_.Now() + settings_.lookup_timeout);
    absl::StatusOr<CustomerStanding> standing =
        customers_.Lookup(lookup_caller, row.complaint.customer(), row.complaint.contact());
    if (standing.status().code() == absl::StatusCode::kUnavailable ||
        standing.status().code() == absl::StatusCode::kDeadlineExceeded) {
      return standing.status();
    }
    const Actor actor{"complaints-reevaluation", "ReevaluateProvisional", clock_.Now()};
    absl::StatusOr<MutateResult> r = repo_.Mutate(
        service.deadline, id, actor, [&](ComplaintRow& current, Changes& changes) -> absl::Status {
          pb::Complaint& c = current.complaint;
          if (!c.targets_provisional()) return absl::OkStatus();
          c.set_targets_provisional(false);
          if (!standing.ok()) {
            // The customer is gone or hidden: the strictest targets stand.
            changes.timeline.emplace_back(pb::CLOCK_EVENT,
                                          absl::StrCat("targets kept: ", standing.status().message()));
            Evaluate(current, actor.now);
            return absl::OkStatus();
          }
          c.set_tier_class(TierClassOf(standing->tier));
          c.set_vip(standing->vip);
          ASSIGN_OR_RETURN(SlaPolicy policy, PolicyFor(table, {c.kind(), c.severity(), c.vip(), c.tier_class()}));
          const std::string why = absl::StrCat("re-evaluated: tier ", standing->tier.empty() ? "unranked" : standing->tier,
                                               c.vip() ? ", VIP" : "", "; policy ", PolicyName(policy.key));
          for (ClockRecord& clock : current.clocks) {
            if (Stopped(clock) || clock.kind == pb::TRANSFER) continue;
            clock.log.push_back({pb::RETARGET, actor.now, actor.subject, why,
                                 clock.kind == pb::FIRST_RESPONSE ? policy.first_response : policy.resolution});
          }
          changes.timeline.emplace_back(pb::CLOCK_EVENT, why);
          Evaluate(current, actor.now);
          return absl::OkStatus();
        });
    RETURN_IF_ERROR(r.status());
    ++done;
  }
  return done;
}

}  // namespace crm::complaints
