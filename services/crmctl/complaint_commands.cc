// crmctl complaints …: the crm.complaints.v1.ComplaintService calls.

#include <string>
#include <vector>

#include "crm/complaints/v1/complaints.grpc.pb.h"
#include "services/crmctl/command.h"
#include "services/crmctl/rpc.h"

namespace crm::crmctl {
namespace {

namespace v1 = crm::complaints::v1;

std::unique_ptr<v1::ComplaintService::Stub> Stub(Invocation& inv) {
  return v1::ComplaintService::NewStub(inv.Channel());
}

// ---- complaints ----

int RecordComplaint(Invocation& inv) {
  v1::RecordComplaintRequest request;
  if (absl::Status s = ParseJsonArg(*inv.args().Get("json"), *request.mutable_complaint());
      !s.ok()) {
    return inv.UsageError(s.message());
  }
  request.set_request_id(inv.args().GetOr("request-id", ""));
  auto stub = Stub(inv);
  return CallAndPrint<v1::Complaint>(
      inv, [&](auto* ctx, auto* resp) { return stub->RecordComplaint(ctx, request, resp); });
}

int GetComplaint(Invocation& inv) {
  v1::GetComplaintRequest request;
  request.set_name(inv.args().positional()[0]);
  auto stub = Stub(inv);
  return CallAndPrint<v1::Complaint>(
      inv, [&](auto* ctx, auto* resp) { return stub->GetComplaint(ctx, request, resp); });
}

int ListComplaints(Invocation& inv) {
  const Args& args = inv.args();
  v1::ListComplaintsRequest request;
  if (absl::Status s = ApplyPaging(args, request); !s.ok()) return inv.UsageError(s.message());
  request.set_customer(args.GetOr("customer", ""));
  request.set_owner(args.GetOr("owner", ""));
  if (args.Has("status")) {
    absl::StatusOr<int> status = ParseEnumArg(args, "status", *v1::ComplaintStatus_descriptor());
    if (!status.ok()) return inv.UsageError(status.status().message());
    request.set_status(static_cast<v1::ComplaintStatus>(*status));
  }
  request.set_open_only(args.Enabled("open-only"));
  request.set_at_risk_only(args.Enabled("at-risk-only"));
  auto stub = Stub(inv);
  return CallAndPrint<v1::ListComplaintsResponse>(
      inv, [&](auto* ctx, auto* resp) { return stub->ListComplaints(ctx, request, resp); });
}

// ---- lifecycle ----

int RespondToComplaint(Invocation& inv) {
  auto request = OnNamed<v1::RespondToComplaintRequest>(inv);
  request.set_response(*inv.args().Get("response"));
  auto stub = Stub(inv);
  return CallAndPrint<v1::Complaint>(
      inv, [&](auto* ctx, auto* resp) { return stub->RespondToComplaint(ctx, request, resp); });
}

int PauseComplaintClock(Invocation& inv) {
  auto request = OnNamed<v1::PauseComplaintClockRequest>(inv);
  request.set_reason(*inv.args().Get("reason"));
  auto stub = Stub(inv);
  return CallAndPrint<v1::Complaint>(
      inv, [&](auto* ctx, auto* resp) { return stub->PauseComplaintClock(ctx, request, resp); });
}

int ResumeComplaintClock(Invocation& inv) {
  auto request = OnNamed<v1::ResumeComplaintClockRequest>(inv);
  request.set_reason(*inv.args().Get("reason"));
  auto stub = Stub(inv);
  return CallAndPrint<v1::Complaint>(
      inv, [&](auto* ctx, auto* resp) { return stub->ResumeComplaintClock(ctx, request, resp); });
}

int ProposeResolution(Invocation& inv) {
  auto request = OnNamed<v1::ProposeResolutionRequest>(inv);
  request.set_resolution(*inv.args().Get("resolution"));
  auto stub = Stub(inv);
  return CallAndPrint<v1::Complaint>(
      inv, [&](auto* ctx, auto* resp) { return stub->ProposeResolution(ctx, request, resp); });
}

int RecordCustomerDecision(Invocation& inv) {
  auto request = OnNamed<v1::RecordCustomerDecisionRequest>(inv);
  std::optional<bool> accepted = ParseBool(*inv.args().Get("accepted"));
  if (!accepted) return inv.UsageError("--accepted must be true or false");
  request.set_accepted(*accepted);
  request.set_comment(inv.args().GetOr("comment", ""));
  auto stub = Stub(inv);
  return CallAndPrint<v1::Complaint>(
      inv, [&](auto* ctx, auto* resp) { return stub->RecordCustomerDecision(ctx, request, resp); });
}

int CloseComplaint(Invocation& inv) {
  auto request = OnNamed<v1::CloseComplaintRequest>(inv);
  auto stub = Stub(inv);
  return CallAndPrint<v1::Complaint>(
      inv, [&](auto* ctx, auto* resp) { return stub->CloseComplaint(ctx, request, resp); });
}

int RecordRevisit(Invocation& inv) {
  auto request = OnNamed<v1::RecordRevisitRequest>(inv);
  absl::StatusOr<int32_t> satisfaction = ParseIntArg(inv.args(), "satisfaction", 1, 5);
  if (!satisfaction.ok()) return inv.UsageError(satisfaction.status().message());
  request.set_satisfaction(*satisfaction);
  request.set_comment(inv.args().GetOr("comment", ""));
  auto stub = Stub(inv);
  return CallAndPrint<v1::Complaint>(
      inv, [&](auto* ctx, auto* resp) { return stub->RecordRevisit(ctx, request, resp); });
}

// ---- history and reports ----

int ListTimeline(Invocation& inv) {
  v1::ListTimelineRequest request;
  if (absl::Status s = ApplyPaging(inv.args(), request); !s.ok()) return inv.UsageError(s.message());
  request.set_parent(inv.args().positional()[0]);
  auto stub = Stub(inv);
  return CallAndPrint<v1::ListTimelineResponse>(
      inv, [&](auto* ctx, auto* resp) { return stub->ListTimeline(ctx, request, resp); });
}

int ListClockTransitions(Invocation& inv) {
  v1::ListClockTransitionsRequest request;
  if (absl::Status s = ApplyPaging(inv.args(), request); !s.ok()) return inv.UsageError(s.message());
  request.set_name(inv.args().positional()[0]);
  auto stub = Stub(inv);
  return CallAndPrint<v1::ListClockTransitionsResponse>(
      inv, [&](auto* ctx, auto* resp) { return stub->ListClockTransitions(ctx, request, resp); });
}

int GetSlaComplianceReport(Invocation& inv) {
  const Args& args = inv.args();
  v1::GetSlaComplianceReportRequest request;
  if (absl::Status s = ParseTimeArg(args, "start", *request.mutable_start_time()); !s.ok()) {
    return inv.UsageError(s.message());
  }
  if (absl::Status s = ParseTimeArg(args, "end", *request.mutable_end_time()); !s.ok()) {
    return inv.UsageError(s.message());
  }
  request.set_team(args.GetOr("team", ""));
  auto stub = Stub(inv);
  return CallAndPrint<v1::SlaComplianceReport>(
      inv, [&](auto* ctx, auto* resp) { return stub->GetSlaComplianceReport(ctx, request, resp); });
}

}  // namespace

std::vector<CommandSpec> ComplaintCommands() {
  return {
      {.path = {"complaints", "record"},
       .positional = {},
       .required_flags = {"json"},
       .optional_flags = {"request-id"},
       .summary = "record a complaint from Complaint JSON (or @file); the caller becomes the "
                  "owner; --request-id makes retries safe",
       .run = &RecordComplaint},
      {.path = {"complaints", "get"},
       .positional = {"NAME"},
       .required_flags = {},
       .optional_flags = {},
       .summary = "one complaint with its SLA clocks, e.g. complaints/42",
       .run = &GetComplaint},
      {.path = {"complaints", "list"},
       .positional = {},
       .required_flags = {},
       .optional_flags = WithPaging({"customer", "owner", "status"}),
       .summary = "complaints the caller may see, filtered; --status by name, e.g. IN_PROGRESS; "
                  "--open-only: not yet resolved; --at-risk-only: a running clock at risk or "
                  "breached",
       .run = &ListComplaints,
       .switches = {"open-only", "at-risk-only"}},
      {.path = {"complaints", "respond"},
       .positional = {"NAME"},
       .required_flags = {"response"},
       .optional_flags = {"etag"},
       .summary = "first response to the customer; stops the first-response clock",
       .run = &RespondToComplaint},
      {.path = {"complaints", "pause"},
       .positional = {"NAME"},
       .required_flags = {"reason"},
       .optional_flags = {"etag"},
       .summary = "pause the running clocks while waiting on the customer",
       .run = &PauseComplaintClock},
      {.path = {"complaints", "resume"},
       .positional = {"NAME"},
       .required_flags = {"reason"},
       .optional_flags = {"etag"},
       .summary = "resume the paused clocks",
       .run = &ResumeComplaintClock},
      {.path = {"complaints", "propose"},
       .positional = {"NAME"},
       .required_flags = {"resolution"},
       .optional_flags = {"etag"},
       .summary = "propose a resolution to the customer",
       .run = &ProposeResolution},
      {.path = {"complaints", "decide"},
       .positional = {"NAME"},
       .required_flags = {"accepted"},
       .optional_flags = {"comment", "etag"},
       .summary = "the customer's decision on the proposed resolution: --accepted true resolves, "
                  "--accepted false (with --comment) escalates to the supervisor",
       .run = &RecordCustomerDecision},
      {.path = {"complaints", "close"},
       .positional = {"NAME"},
       .required_flags = {},
       .optional_flags = {"etag"},
       .summary = "close a resolved complaint",
       .run = &CloseComplaint},
      {.path = {"complaints", "revisit"},
       .positional = {"NAME"},
       .required_flags = {"satisfaction"},
       .optional_flags = {"comment", "etag"},
       .summary = "record the revisit of a closed complaint, satisfaction 1 (very dissatisfied) "
                  "to 5 (very satisfied)",
       .run = &RecordRevisit},
      {.path = {"complaints", "timeline"},
       .positional = {"NAME"},
       .required_flags = {},
       .optional_flags = kPaging,
       .summary = "notes, status changes, transfers, escalations and clock events of a complaint",
       .run = &ListTimeline},
      {.path = {"complaints", "clock"},
       .positional = {"NAME"},
       .required_flags = {},
       .optional_flags = kPaging,
       .summary = "every SLA clock transition (start, pause, resume, retarget, breach, stop)",
       .run = &ListClockTransitions},
      {.path = {"complaints", "report"},
       .positional = {},
       .required_flags = {"start", "end"},
       .optional_flags = {"team"},
       .summary = "SLA compliance per manager and team of complaints recorded in [start, end) "
                  "(RFC 3339 times); --team: ADMIN only",
       .run = &GetSlaComplianceReport},
  };
}

}  // namespace crm::crmctl
