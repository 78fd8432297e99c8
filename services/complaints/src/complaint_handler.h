#pragma once
// gRPC surface of crm.complaints.v1.ComplaintService: authenticates each
// call, forwards it to ComplaintService and maps the result.

#include "common/auth/token_verifier.h"
#include "crm/complaints/v1/complaints.grpc.pb.h"
#include "services/complaints/src/complaint_service.h"

namespace crm::complaints {

class ComplaintHandler final : public pb::ComplaintService::Service {
 public:
  ComplaintHandler(ComplaintService& service, const auth::TokenVerifier& verifier)
      : service_(service), verifier_(verifier) {}

#define CRM_DECLARE(Rpc, Request, Response) \
  grpc::Status Rpc(grpc::ServerContext* ctx, const pb::Request* req, pb::Response* resp) override;
  CRM_COMPLAINT_RPCS(CRM_DECLARE)
#undef CRM_DECLARE

 private:
  ComplaintService& service_;
  const auth::TokenVerifier& verifier_;
};

}  // namespace crm::complaints
