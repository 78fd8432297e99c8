#include "services/scheduling/src/scheduling_handler.h"

#include "common/server/call.h"
#include "common/status/status_macros.h"

namespace crm::scheduling {

// Each unary RPC: authenticate, keep the caller's token for the customers
// lookup, call the service method of the same name, store its result.
#define CRM_DEFINE(Rpc, Request, Response)                                                         \
  grpc::Status SchedulingHandler::Rpc(grpc::ServerContext* ctx, const pb::Request* req,            \
                                      pb::Response* resp) {                                        \
    return server::Serve(verifier_, ctx, #Rpc, [&](const server::Call& c) -> absl::Status {        \
      absl::StatusOr<client::Caller> upstream = client::CallerOf(*ctx, c.deadline);                \
      if (!upstream.ok()) return upstream.status();                                                \
      ASSIGN_OR_RETURN(*resp, service_.Rpc(Call{c.principal, c.deadline, *std::move(upstream)}, *req)); \
      return absl::OkStatus();                                                                     \
    });                                                                                            \
  }
CRM_SCHEDULING_RPCS(CRM_DEFINE)
#undef CRM_DEFINE

}  // namespace crm::scheduling
