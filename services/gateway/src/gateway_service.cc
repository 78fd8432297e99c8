#include "services/gateway/src/gateway_service.h"

#include <algorithm>
#include <chrono>
#include <string>

#include "common/status/grpc_status.h"
#include "services/gateway/src/grpc_proxy.h"

namespace crm::gateway {

grpc::ServerUnaryReactor* GatewayService::Serve(grpc::CallbackServerContext* context, absl::string_view method,
                                                Run run) {
  const absl::Time started = absl::Now();
  const std::string method_path = MethodPath<v1::GatewayService>(method);
  std::string request_id = RequestIdOrNew(SingleMetadata(context->client_metadata(), kRequestIdKey));
  context->AddInitialMetadata(kRequestIdKey, request_id);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::string_view authorization = SingleMetadata(context->client_metadata(), "authorization");
  absl::StatusOr<auth::Principal> principal = door_.Admit(authorization, method_path);
  if (!principal.ok()) {
    door_.Record({.front = GrpcProxy::kFront, .method = method_path, .request_id = request_id,
                  .code = principal.status().code(), .latency = absl::Now() - started});
    reactor->Finish(ToGrpcStatus(principal.status()));
    return reactor;
  }
  const auto cap = std::chrono::system_clock::now() + absl::ToChronoNanoseconds(max_call_duration_);
  Outbound outbound{.authorization = std::string(authorization),
                    .request_id = request_id,
                    .subject = principal->subject,
                    .deadline = std::min(context->deadline(), cap)};
  run(outbound, [this, reactor, method_path, request_id, subject = principal->subject,
                 started](const grpc::Status& status) {
    door_.Record({.front = GrpcProxy::kFront, .method = method_path, .subject = subject, .request_id = request_id,
                  .code = static_cast<absl::StatusCode>(status.error_code()), .latency = absl::Now() - started});
    reactor->Finish(status);
  });
  return reactor;
}

grpc::ServerUnaryReactor* GatewayService::GetSuiteHealth(grpc::CallbackServerContext* context,
                                                         const v1::GetSuiteHealthRequest* request,
                                                         v1::SuiteHealth* response) {
  return Serve(context, "GetSuiteHealth", [this, request, response](const Outbound& o, Views::Done done) {
    views_.GetSuiteHealth(o, *request, response, std::move(done));
  });
}

grpc::ServerUnaryReactor* GatewayService::GetCustomer360(grpc::CallbackServerContext* context,
                                                         const v1::GetCustomer360Request* request,
                                                         v1::Customer360* response) {
  return Serve(context, "GetCustomer360", [this, request, response](const Outbound& o, Views::Done done) {
    views_.GetCustomer360(o, *request, response, std::move(done));
  });
}

grpc::ServerUnaryReactor* GatewayService::GetMyDay(grpc::CallbackServerContext* context,
                                                   const v1::GetMyDayRequest* request, v1::MyDay* response) {
  return Serve(context, "GetMyDay", [this, request, response](const Outbound& o, Views::Done done) {
    views_.GetMyDay(o, *request, response, std::move(done));
  });
}

grpc::ServerUnaryReactor* GatewayService::GetDashboard(grpc::CallbackServerContext* context,
                                                       const v1::GetDashboardRequest* request,
                                                       v1::Dashboard* response) {
  return Serve(context, "GetDashboard", [this, request, response](const Outbound& o, Views::Done done) {
    views_.GetDashboard(o, *request, response, std::move(done));
  });
}

}  // namespace crm::gateway
