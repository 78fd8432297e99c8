#pragma once
// The body every service handler's unary RPC shares: authenticate (Serve),
// keep the caller's deadline and token for calls to other services
// (client::CallerOf), call the service method of the same name with
// `Call{principal, deadline, upstream}` and store its result. A handler
// class with members `service_` and `verifier_` defines its RPCs with
//   #define CRM_DEFINE(Rpc, Request, Response) CRM_FORWARDING_RPC(MyHandler, Rpc, Request, Response)
//   MY_SERVICE_RPCS(CRM_DEFINE)
// where `pb` and `Call` name the service's proto namespace and call type.

#include "common/client/client.h"
#include "common/server/call.h"
#include "common/status/status_macros.h"

#define CRM_FORWARDING_RPC(Handler, Rpc, Request, Response)                                                \
  grpc::Status Handler::Rpc(grpc::ServerContext* ctx, const pb::Request* req, pb::Response* resp) {         \
    return ::crm::server::Serve(verifier_, ctx, #Rpc, [&](const ::crm::server::Call& c) -> absl::Status {   \
      absl::StatusOr<::crm::client::Caller> upstream = ::crm::client::CallerOf(*ctx, c.deadline);           \
      if (!upstream.ok()) return upstream.status();                                                         \
      ASSIGN_OR_RETURN(*resp, service_.Rpc(Call{c.principal, c.deadline, *std::move(upstream)}, *req));     \
      return absl::OkStatus();                                                                              \
    });                                                                                                     \
  }
