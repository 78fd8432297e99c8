#pragma once
// The customers service's use cases (DOMAIN.md §1): validation, access
// (GW-2), idempotency, etags and the rules, over a CustomerRepository.
// Transport-free: the gRPC handler only authenticates and maps statuses.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/server/call.h"
#include "common/util/clock.h"
#include "common/util/page_token.h"
#include "services/customers/src/customer_repository.h"

namespace crm::customers {

using server::Call;

class CustomerService {
 public:
  CustomerService(CustomerRepository& repo, const Clock& clock, const PageTokenCodec& tokens)
      : repo_(repo), clock_(clock), tokens_(tokens) {}

  // The two hot calls answer through `done`, on another thread once their
  // batch has run (or at once on bad input).
  using CustomerDone = CustomerRepository::CustomerDone;
  void CreateCustomer(const Call& call, const pb::CreateCustomerRequest& req, CustomerDone done);
  void GetCustomer(const Call& call, const pb::GetCustomerRequest& req, CustomerDone done);
  absl::StatusOr<pb::Customer> UpdateCustomer(const Call& call, const pb::UpdateCustomerRequest& req);
  absl::StatusOr<pb::ListCustomersResponse> ListCustomers(const Call& call,
                                                          const pb::ListCustomersRequest& req);
  absl::StatusOr<pb::Customer> ArchiveCustomer(const Call& call, const pb::ArchiveCustomerRequest& req);
  absl::StatusOr<pb::Customer> VerifyCustomer(const Call& call, const pb::VerifyCustomerRequest& req);
  absl::StatusOr<pb::ListCustomerChangesResponse> ListCustomerChanges(
      const Call& call, const pb::ListCustomerChangesRequest& req);

  absl::StatusOr<pb::Contact> CreateContact(const Call& call, const pb::CreateContactRequest& req);
  absl::StatusOr<pb::Contact> GetContact(const Call& call, const pb::GetContactRequest& req);
  absl::StatusOr<pb::Contact> UpdateContact(const Call& call, const pb::UpdateContactRequest& req);
  absl::StatusOr<pb::ListContactsResponse> ListContacts(const Call& call,
                                                        const pb::ListContactsRequest& req);
  absl::Status DeleteContact(const Call& call, const pb::DeleteContactRequest& req);

  // Streaming import: Begin once, Add per message, Finish at the end.
  class MemberImport {
   public:
    absl::Status Add(const pb::ImportMembersRequest& message);
    absl::StatusOr<pb::ImportMembersResponse> Finish();

   private:
    friend class CustomerService;
    MemberImport(CustomerService& service, const Call& call, int64_t customer_id)
        : service_(service), call_(call), customer_id_(customer_id) {}
    absl::Status Flush();
    CustomerService& service_;
    const Call& call_;
    int64_t customer_id_;
    std::vector<pb::Member> pending_;
    int64_t row_ = 0;
    pb::ImportMembersResponse response_;
  };
  absl::StatusOr<MemberImport> BeginMemberImport(const Call& call, const std::string& parent);
  absl::StatusOr<pb::ListMembersResponse> ListMembers(const Call& call, const pb::ListMembersRequest& req);

  absl::StatusOr<pb::ValueModel> GetValueModel(const Call& call, const pb::GetValueModelRequest& req);
  absl::StatusOr<pb::ValueModel> UpdateValueModel(const Call& call,
                                                  const pb::UpdateValueModelRequest& req);
  absl::StatusOr<pb::RecomputeTiersResponse> RecomputeTiers(const Call& call,
                                                            const pb::RecomputeTiersRequest& req);
  // The scheduled recompute (no caller): same rules, acting as the system.
  absl::StatusOr<pb::RecomputeTiersResponse> RecomputeTiersAsSystem(absl::Time deadline,
                                                                    const std::string& reason);
  absl::StatusOr<pb::ListTierChangesResponse> ListTierChanges(const Call& call,
                                                              const pb::ListTierChangesRequest& req);

  absl::StatusOr<pb::ListStaleCustomersResponse> ListStaleCustomers(
      const Call& call, const pb::ListStaleCustomersRequest& req);
  // The staleness job's sweep (CUS-6, no caller): announces every customer
  // whose basic data is stale now (ListStaleCustomers' rule) and whose lapse
  // was not announced yet, `batch_size` per transaction. Returns how many
  // this call announced (customers another replica claimed are not counted).
  absl::StatusOr<int64_t> AnnounceStaleCustomers(absl::Time deadline, int batch_size);
  absl::StatusOr<pb::DataQualityReport> GetDataQualityReport(
      const Call& call, const pb::GetDataQualityReportRequest& req);

  absl::StatusOr<pb::ChurnSignal> RecordChurnSignal(const Call& call,
                                                    const pb::RecordChurnSignalRequest& req);
  absl::StatusOr<pb::ListChurnSignalsResponse> ListChurnSignals(
      const Call& call, const pb::ListChurnSignalsRequest& req);
  absl::StatusOr<pb::Customer> SetRetentionStage(const Call& call,
                                                 const pb::SetRetentionStageRequest& req);

  absl::StatusOr<pb::CompetitiveReport> CreateCompetitiveReport(
      const Call& call, const pb::CreateCompetitiveReportRequest& req);
  absl::StatusOr<pb::ListCompetitiveReportsResponse> ListCompetitiveReports(
      const Call& call, const pb::ListCompetitiveReportsRequest& req);

  absl::StatusOr<pb::Customer> AssessRiskTolerance(const Call& call,
                                                   const pb::AssessRiskToleranceRequest& req);

 private:
  // CreateCustomer's checks and defaults: the customer to write.
  absl::StatusOr<pb::Customer> NewCustomerFor(const Call& call, const pb::CreateCustomerRequest& req) const;
  Actor ActorFor(const Call& call, std::string method) const;
  // Visible to the caller, else NOT_FOUND (never reveal existence).
  absl::StatusOr<pb::Customer> LoadVisible(const Call& call, int64_t id);
  CustomerGuard VisibleGuard(const Call& call, int64_t id) const;

  CustomerRepository& repo_;
  const Clock& clock_;
  const PageTokenCodec& tokens_;
};

}  // namespace crm::customers
