#pragma once
// gRPC surface of crm.customers.v1.CustomerService: authenticates each call,
// forwards it to CustomerService and maps the result. Nothing else.
// CreateCustomer and GetCustomer use the callback API (answered from their
// batch's thread); the rest the sync API.

#include "common/auth/token_verifier.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "services/customers/src/customer_service.h"

// The unary RPCs on the sync API that forward to the CustomerService method
// of the same name: X(Rpc, Request, Response).
#define CRM_CUSTOMER_SYNC_RPCS(X) \
  X(UpdateCustomer, UpdateCustomerRequest, Customer)                                       \
  X(ListCustomers, ListCustomersRequest, ListCustomersResponse)                            \
  X(ArchiveCustomer, ArchiveCustomerRequest, Customer)                                     \
  X(VerifyCustomer, VerifyCustomerRequest, Customer)                                       \
  X(ListCustomerChanges, ListCustomerChangesRequest, ListCustomerChangesResponse)          \
  X(CreateContact, CreateContactRequest, Contact)                                          \
  X(GetContact, GetContactRequest, Contact)                                                \
  X(UpdateContact, UpdateContactRequest, Contact)                                          \
  X(ListContacts, ListContactsRequest, ListContactsResponse)                               \
  X(ListMembers, ListMembersRequest, ListMembersResponse)                                  \
  X(GetValueModel, GetValueModelRequest, ValueModel)                                       \
  X(UpdateValueModel, UpdateValueModelRequest, ValueModel)                                 \
  X(RecomputeTiers, RecomputeTiersRequest, RecomputeTiersResponse)                         \
  X(ListTierChanges, ListTierChangesRequest, ListTierChangesResponse)                      \
  X(ListStaleCustomers, ListStaleCustomersRequest, ListStaleCustomersResponse)             \
  X(GetDataQualityReport, GetDataQualityReportRequest, DataQualityReport)                  \
  X(RecordChurnSignal, RecordChurnSignalRequest, ChurnSignal)                              \
  X(ListChurnSignals, ListChurnSignalsRequest, ListChurnSignalsResponse)                   \
  X(SetRetentionStage, SetRetentionStageRequest, Customer)                                 \
  X(CreateCompetitiveReport, CreateCompetitiveReportRequest, CompetitiveReport)            \
  X(ListCompetitiveReports, ListCompetitiveReportsRequest, ListCompetitiveReportsResponse) \
  X(AssessRiskTolerance, AssessRiskToleranceRequest, Customer)

namespace crm::customers {

class CustomerHandler final
    : public pb::CustomerService::WithCallbackMethod_CreateCustomer<
          pb::CustomerService::WithCallbackMethod_GetCustomer<pb::CustomerService::Service>> {
 public:
  CustomerHandler(CustomerService& service, const auth::TokenVerifier& verifier)
      : service_(service), verifier_(verifier) {}

#define CRM_DECLARE(Rpc, Request, Response) \
  grpc::Status Rpc(grpc::ServerContext* ctx, const pb::Request* req, pb::Response* resp) override;
  CRM_CUSTOMER_SYNC_RPCS(CRM_DECLARE)
#undef CRM_DECLARE
  grpc::ServerUnaryReactor* CreateCustomer(grpc::CallbackServerContext* ctx, const pb::CreateCustomerRequest* req,
                                           pb::Customer* resp) override;
  grpc::ServerUnaryReactor* GetCustomer(grpc::CallbackServerContext* ctx, const pb::GetCustomerRequest* req,
                                        pb::Customer* resp) override;
  grpc::Status DeleteContact(grpc::ServerContext* ctx, const pb::DeleteContactRequest* req,
                             google::protobuf::Empty* resp) override;

  grpc::Status ImportMembers(grpc::ServerContext* ctx,
                             grpc::ServerReader<pb::ImportMembersRequest>* reader,
                             pb::ImportMembersResponse* resp) override;

 private:
  CustomerService& service_;
  const auth::TokenVerifier& verifier_;
};

}  // namespace crm::customers
