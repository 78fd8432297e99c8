#pragma once
// The complaints service's use cases (DOMAIN.md §3): validation, access
// (GW-2), idempotency, etags, the SLA clocks and the status machine, over a
// ComplaintRepository and CustomerStandings. Transport-free: the gRPC
// handler only authenticates and maps statuses.

#include <string>

#include "absl/status/statusor.h"
#include "common/auth/principal.h"
#include "common/calendar/working_calendar.h"
#include "common/client/client.h"
#include "common/util/clock.h"
#include "common/util/page_token.h"
#include "services/complaints/src/complaint_repository.h"
#include "services/complaints/src/customer_standing.h"

namespace crm::complaints {

// One incoming call: who, until when, and what to forward downstream.
struct Call {
  auth::Principal principal;
  absl::Time deadline;
  client::Caller upstream;
};

struct ServiceSettings {
  ClockSettings clock;
  // How long RecordComplaint waits for the customers service before it
  // records with the strictest targets instead (CMP-3).
  absl::Duration lookup_timeout = absl::Seconds(2);
};

// Every unary RPC of crm.complaints.v1.ComplaintService: X(Rpc, Request, Response).
#define CRM_COMPLAINT_RPCS(X)                                                            \
  X(RecordComplaint, RecordComplaintRequest, Complaint)                                  \
  X(GetComplaint, GetComplaintRequest, Complaint)                                        \
  X(UpdateComplaint, UpdateComplaintRequest, Complaint)                                  \
  X(ListComplaints, ListComplaintsRequest, ListComplaintsResponse)                       \
  X(RespondToComplaint, RespondToComplaintRequest, Complaint)                            \
  X(PauseComplaintClock, PauseComplaintClockRequest, Complaint)                          \
  X(ResumeComplaintClock, ResumeComplaintClockRequest, Complaint)                        \
  X(ListClockTransitions, ListClockTransitionsRequest, ListClockTransitionsResponse)     \
  X(TransferComplaint, TransferComplaintRequest, Transfer)                               \
  X(CompleteTransfer, CompleteTransferRequest, Transfer)                                 \
  X(ListTransfers, ListTransfersRequest, ListTransfersResponse)                          \
  X(AddComplaintNote, AddComplaintNoteRequest, TimelineEntry)                            \
  X(ListTimeline, ListTimelineRequest, ListTimelineResponse)                             \
  X(ProposeResolution, ProposeResolutionRequest, Complaint)                              \
  X(RecordCustomerDecision, RecordCustomerDecisionRequest, Complaint)                    \
  X(RecordFaultFindings, RecordFaultFindingsRequest, Complaint)                          \
  X(CloseComplaint, CloseComplaintRequest, Complaint)                                    \
  X(RecordRevisit, RecordRevisitRequest, Complaint)                                      \
  X(ListSlaPolicies, ListSlaPoliciesRequest, ListSlaPoliciesResponse)                    \
  X(UpdateSlaPolicy, UpdateSlaPolicyRequest, SlaPolicy)                                  \
  X(GetSlaComplianceReport, GetSlaComplianceReportRequest, SlaComplianceReport)          \
  X(GetFaultAnalysisReport, GetFaultAnalysisReportRequest, FaultAnalysisReport)

class ComplaintService {
 public:
  ComplaintService(ComplaintRepository& repo, CustomerStandings& customers, const Clock& clock,
                   const PageTokenCodec& tokens, const calendar::WorkingCalendar& calendar,
                   ServiceSettings settings)
      : repo_(repo), customers_(customers), clock_(clock), tokens_(tokens), calendar_(calendar),
        settings_(settings) {}

#define CRM_DECLARE(Rpc, Request, Response) \
  absl::StatusOr<pb::Response> Rpc(const Call& call, const pb::Request& req);
  CRM_COMPLAINT_RPCS(CRM_DECLARE)
#undef CRM_DECLARE

  // CMP-3: complaints recorded while the customers service could not answer
  // get the targets of their real tier and VIP status, up to `limit` of
  // them. `service` calls the customers service as this service (SERVICE
  // role). Returns how many were re-evaluated; stops at the first
  // UNAVAILABLE (the rest wait for the next pass).
  absl::StatusOr<int> ReevaluateProvisional(const client::Caller& service, int limit);

 private:
  Actor ActorFor(const Call& call, std::string method) const;
  // The complaint as `call` may see it (NOT_FOUND otherwise), clocks filled.
  absl::StatusOr<ComplaintRow> LoadVisible(const Call& call, const std::string& name, const std::string& field);
  // Locks the complaint, checks access and etag, runs `fn`, re-evaluates
  // the clocks and writes; the result has its clocks filled.
  absl::StatusOr<MutateResult> MutateVisible(const Call& call, const std::string& name, const std::string& field,
                                             const char* method, const std::string& etag, const Mutation& fn,
                                             const std::string& request_id = "");
  // Evaluates every clock at `now` and writes complaint.clocks.
  void Evaluate(ComplaintRow& row, absl::Time now) const;

  ComplaintRepository& repo_;
  CustomerStandings& customers_;
  const Clock& clock_;
  const PageTokenCodec& tokens_;
  const calendar::WorkingCalendar& calendar_;
  const ServiceSettings settings_;
};

}  // namespace crm::complaints
