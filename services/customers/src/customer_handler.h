#pragma once
// gRPC surface of crm.customers.v1.CustomerService: authenticates each call,
// forwards it to CustomerService and maps the result. Nothing else.
// CreateCustomer and GetCustomer use the callback API (answered from their
// batch's thread); the rest the sync API.

#include "common/auth/token_verifier.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "services/customers/src/customer_service.h"

namespace crm::customers {

class CustomerHandler final
    : public pb::CustomerService::WithCallbackMethod_CreateCustomer<
          pb::CustomerService::WithCallbackMethod_GetCustomer<pb::CustomerService::Service>> {
 public:
  CustomerHandler(CustomerService& service, const auth::TokenVerifier& verifier)
      : service_(service), verifier_(verifier) {}

#define CRM_UNARY(Rpc, Request, Response)                                              \
  grpc::Status Rpc(grpc::ServerContext* ctx, const pb::Request* req, Response* resp) override;
  grpc::ServerUnaryReactor* CreateCustomer(grpc::CallbackServerContext* ctx, const pb::CreateCustomerRequest* req,
                                           pb::Customer* resp) override;
  grpc::ServerUnaryReactor* GetCustomer(grpc::CallbackServerContext* ctx, const pb::GetCustomerRequest* req,
                                        pb::Customer* resp) override;
  CRM_UNARY(UpdateCustomer, UpdateCustomerRequest, pb::Customer)
  CRM_UNARY(ListCustomers, ListCustomersRequest, pb::ListCustomersResponse)
  CRM_UNARY(ArchiveCustomer, ArchiveCustomerRequest, pb::Customer)
  CRM_UNARY(VerifyCustomer, VerifyCustomerRequest, pb::Customer)
  CRM_UNARY(ListCustomerChanges, ListCustomerChangesRequest, pb::ListCustomerChangesResponse)
  CRM_UNARY(CreateContact, CreateContactRequest, pb::Contact)
  CRM_UNARY(GetContact, GetContactRequest, pb::Contact)
  CRM_UNARY(UpdateContact, UpdateContactRequest, pb::Contact)
  CRM_UNARY(ListContacts, ListContactsRequest, pb::ListContactsResponse)
  CRM_UNARY(DeleteContact, DeleteContactRequest, google::protobuf::Empty)
  CRM_UNARY(ListMembers, ListMembersRequest, pb::ListMembersResponse)
  CRM_UNARY(GetValueModel, GetValueModelRequest, pb::ValueModel)
  CRM_UNARY(UpdateValueModel, UpdateValueModelRequest, pb::ValueModel)
  CRM_UNARY(RecomputeTiers, RecomputeTiersRequest, pb::RecomputeTiersResponse)
  CRM_UNARY(ListTierChanges, ListTierChangesRequest, pb::ListTierChangesResponse)
  CRM_UNARY(ListStaleCustomers, ListStaleCustomersRequest, pb::ListStaleCustomersResponse)
  CRM_UNARY(GetDataQualityReport, GetDataQualityReportRequest, pb::DataQualityReport)
  CRM_UNARY(RecordChurnSignal, RecordChurnSignalRequest, pb::ChurnSignal)
  CRM_UNARY(ListChurnSignals, ListChurnSignalsRequest, pb::ListChurnSignalsResponse)
  CRM_UNARY(SetRetentionStage, SetRetentionStageRequest, pb::Customer)
  CRM_UNARY(CreateCompetitiveReport, CreateCompetitiveReportRequest, pb::CompetitiveReport)
  CRM_UNARY(ListCompetitiveReports, ListCompetitiveReportsRequest, pb::ListCompetitiveReportsResponse)
  CRM_UNARY(AssessRiskTolerance, AssessRiskToleranceRequest, pb::Customer)
#undef CRM_UNARY

  grpc::Status ImportMembers(grpc::ServerContext* ctx,
                             grpc::ServerReader<pb::ImportMembersRequest>* reader,
                             pb::ImportMembersResponse* resp) override;

 private:
  CustomerService& service_;
  const auth::TokenVerifier& verifier_;
};

}  // namespace crm::customers
