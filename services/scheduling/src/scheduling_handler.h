#pragma once
// gRPC surface of crm.scheduling.v1.SchedulingService: authenticates each
// call, forwards it to SchedulingService and maps the result.

#include "common/auth/token_verifier.h"
#include "crm/scheduling/v1/scheduling.grpc.pb.h"
#include "services/scheduling/src/scheduling_service.h"

namespace crm::scheduling {

class SchedulingHandler final : public pb::SchedulingService::Service {
 public:
  SchedulingHandler(SchedulingService& service, const auth::TokenVerifier& verifier)
      : service_(service), verifier_(verifier) {}

#define CRM_DECLARE(Rpc, Request, Response) \
  grpc::Status Rpc(grpc::ServerContext* ctx, const pb::Request* req, pb::Response* resp) override;
  CRM_SCHEDULING_RPCS(CRM_DECLARE)
#undef CRM_DECLARE

 private:
  SchedulingService& service_;
  const auth::TokenVerifier& verifier_;
};

}  // namespace crm::scheduling
