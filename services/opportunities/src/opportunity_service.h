#pragma once
// The opportunities service's use cases (DOMAIN.md §2): validation, access
// (GW-2), idempotency, etags and the rules, over an OpportunityRepository
// and a CustomerDirectory. Transport-free: the gRPC handler only
// authenticates and maps statuses.

#include <string>

#include "absl/status/statusor.h"
#include "common/auth/principal.h"
#include "common/calendar/working_calendar.h"
#include "common/client/client.h"
#include "common/util/clock.h"
#include "common/util/page_token.h"
#include "services/opportunities/src/customer_directory.h"
#include "services/opportunities/src/opportunity_repository.h"

namespace crm::opportunities {

// One incoming call: who, until when, and what to forward downstream.
struct Call {
  auth::Principal principal;
  absl::Time deadline;
  client::Caller upstream;
};

// Every unary RPC of crm.opportunities.v1.OpportunityService: X(Rpc, Request, Response).
#define CRM_OPPORTUNITY_RPCS(X)                                                         \
  X(CreateNeed, CreateNeedRequest, Need)                                                \
  X(GetNeed, GetNeedRequest, Need)                                                      \
  X(UpdateNeed, UpdateNeedRequest, Need)                                                \
  X(ListNeeds, ListNeedsRequest, ListNeedsResponse)                                     \
  X(EscalateNeed, EscalateNeedRequest, Need)                                            \
  X(CreateOpportunity, CreateOpportunityRequest, Opportunity)                           \
  X(GetOpportunity, GetOpportunityRequest, Opportunity)                                 \
  X(UpdateOpportunity, UpdateOpportunityRequest, Opportunity)                           \
  X(ListOpportunities, ListOpportunitiesRequest, ListOpportunitiesResponse)             \
  X(MoveOpportunityStage, MoveOpportunityStageRequest, Opportunity)                     \
  X(ListStageTemplates, ListStageTemplatesRequest, ListStageTemplatesResponse)          \
  X(GetWeightedPipeline, GetWeightedPipelineRequest, WeightedPipeline)                  \
  X(ListChanges, ListChangesRequest, ListChangesResponse)                               \
  X(CreateProduct, CreateProductRequest, Product)                                       \
  X(GetProduct, GetProductRequest, Product)                                             \
  X(UpdateProduct, UpdateProductRequest, Product)                                       \
  X(ListProducts, ListProductsRequest, ListProductsResponse)                            \
  X(CreateProposal, CreateProposalRequest, Proposal)                                    \
  X(GetProposal, GetProposalRequest, Proposal)                                          \
  X(UpdateProposal, UpdateProposalRequest, Proposal)                                    \
  X(ListProposals, ListProposalsRequest, ListProposalsResponse)                         \
  X(ListProposalRevisions, ListProposalRevisionsRequest, ListProposalRevisionsResponse) \
  X(SubmitProposal, SubmitProposalRequest, Proposal)                                    \
  X(ApproveProposal, ApproveProposalRequest, Proposal)                                  \
  X(RejectProposal, RejectProposalRequest, Proposal)                                    \
  X(PresentProposal, PresentProposalRequest, Proposal)                                  \
  X(RecordProposalOutcome, RecordProposalOutcomeRequest, Proposal)                      \
  X(CreateNegotiationRound, CreateNegotiationRoundRequest, NegotiationRound)            \
  X(GetNegotiationRound, GetNegotiationRoundRequest, NegotiationRound)                  \
  X(ListNegotiationRounds, ListNegotiationRoundsRequest, ListNegotiationRoundsResponse) \
  X(EndNegotiationRound, EndNegotiationRoundRequest, NegotiationRound)                  \
  X(RecordNegotiationFeedback, RecordNegotiationFeedbackRequest, NegotiationRound)      \
  X(ListOverdueFeedback, ListOverdueFeedbackRequest, ListOverdueFeedbackResponse)       \
  X(CreateContract, CreateContractRequest, Contract)                                    \
  X(GetContract, GetContractRequest, Contract)                                          \
  X(ListContracts, ListContractsRequest, ListContractsResponse)                         \
  X(StartDelivery, StartDeliveryRequest, Contract)                                      \
  X(RecordDelayNotice, RecordDelayNoticeRequest, Contract)                              \
  X(CompleteDelivery, CompleteDeliveryRequest, Contract)                                \
  X(RecordAfterSales, RecordAfterSalesRequest, Contract)                                \
  X(ListDueRevisits, ListDueRevisitsRequest, ListDueRevisitsResponse)                   \
  X(CreateLoanApplication, CreateLoanApplicationRequest, LoanApplication)               \
  X(GetLoanApplication, GetLoanApplicationRequest, LoanApplication)                     \
  X(UpdateLoanApplication, UpdateLoanApplicationRequest, LoanApplication)               \
  X(DecideLoanApplication, DecideLoanApplicationRequest, LoanApplication)               \
  X(CreateLoanTrackingEntry, CreateLoanTrackingEntryRequest, LoanTrackingEntry)         \
  X(ListLoanTrackingEntries, ListLoanTrackingEntriesRequest, ListLoanTrackingEntriesResponse)

class OpportunityService {
 public:
  OpportunityService(OpportunityRepository& repo, CustomerDirectory& customers, const Clock& clock,
                     const PageTokenCodec& tokens, const calendar::WorkingCalendar& calendar,
                     DeadlinePolicy policy)
      : repo_(repo), customers_(customers), clock_(clock), tokens_(tokens), calendar_(calendar),
        policy_(policy) {}

#define CRM_DECLARE(Rpc, Request, Response) \
  absl::StatusOr<pb::Response> Rpc(const Call& call, const pb::Request& req);
  CRM_OPPORTUNITY_RPCS(CRM_DECLARE)
#undef CRM_DECLARE

 private:
  Actor ActorFor(const Call& call, std::string method) const;
  template <typename T>
  absl::StatusOr<T> LoadVisible(const Call& call, Collection c, int64_t id, const std::string& name);
  template <typename T, typename Fn>
  absl::StatusOr<T> MutateVisible(const Call& call, Collection c, const std::string& name,
                                  const std::vector<absl::string_view>& collections,
                                  absl::string_view field, const char* method,
                                  absl::string_view etag, Fn&& fn);
  absl::StatusOr<pb::Opportunity> OpenOpportunity(const Call& call, const std::string& parent);
  // The customer of the opportunity a child resource ("opportunities/{o}/
  // <collection>/{id}") belongs to, for events about the child. The
  // customer of an opportunity never changes, so it is read before the
  // child's transaction; access is checked on the child.
  absl::StatusOr<std::string> CustomerOfParent(const Call& call, const std::string& name,
                                               absl::string_view collection);
  absl::StatusOr<std::map<std::string, ProductFacts>> ProductsOf(const Call& call,
                                                                 const pb::Proposal& proposal);
  absl::Status CheckProposalSuitability(const Call& call, const pb::Opportunity& opportunity,
                                        const pb::Proposal& proposal,
                                        const std::map<std::string, ProductFacts>& products);
  absl::StatusOr<CustomerFacts> Customer(const Call& call, const std::string& customer);

  OpportunityRepository& repo_;
  CustomerDirectory& customers_;
  const Clock& clock_;
  const PageTokenCodec& tokens_;
  const calendar::WorkingCalendar& calendar_;
  const DeadlinePolicy policy_;
};

}  // namespace crm::opportunities
