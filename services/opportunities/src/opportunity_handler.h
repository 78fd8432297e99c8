#pragma once
// gRPC surface of crm.opportunities.v1.OpportunityService: authenticates
// each call, forwards it to OpportunityService and maps the result.

#include "common/auth/token_verifier.h"
#include "crm/opportunities/v1/opportunities.grpc.pb.h"
#include "services/opportunities/src/opportunity_service.h"

namespace crm::opportunities {

class OpportunityHandler final : public pb::OpportunityService::Service {
 public:
  OpportunityHandler(OpportunityService& service, const auth::TokenVerifier& verifier)
      : service_(service), verifier_(verifier) {}

#define CRM_DECLARE(Rpc, Request, Response) \
  grpc::Status Rpc(grpc::ServerContext* ctx, const pb::Request* req, pb::Response* resp) override;
  CRM_OPPORTUNITY_RPCS(CRM_DECLARE)
#undef CRM_DECLARE

 private:
  OpportunityService& service_;
  const auth::TokenVerifier& verifier_;
};

}  // namespace crm::opportunities
