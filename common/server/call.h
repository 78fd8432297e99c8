#pragma once
// The one way a handler serves a call: authenticate the bearer token, fix
// the call's deadline, run the service function, map its status. Handlers
// stay free of auth and error plumbing. Serve is for the sync API,
// ServeAsync for the callback API.

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <utility>

#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/grpc_auth.h"
#include "common/auth/principal.h"
#include "common/auth/token_verifier.h"
#include "common/status/grpc_status.h"

namespace crm::server {

struct Call {
  auth::Principal principal;
  // The client's deadline, capped so no call holds resources forever.
  absl::Time deadline;
};

inline constexpr absl::Duration kMaxCallDuration = absl::Seconds(30);

absl::Time CallDeadline(const grpc::ServerContextBase& context);
// The caller from the bearer token, and the call's deadline.
absl::StatusOr<Call> StartCall(const auth::TokenVerifier& verifier, const grpc::ServerContextBase& context);
void LogCallError(absl::string_view method, const absl::Status& status);

template <typename Fn>
grpc::Status Serve(const auth::TokenVerifier& verifier, grpc::ServerContextBase* context,
                   absl::string_view method, Fn&& fn) {
  const absl::StatusOr<Call> call = StartCall(verifier, *context);
  if (!call.ok()) return ToGrpcStatus(call.status());
  absl::Status status = fn(*call);
  if (!status.ok()) LogCallError(method, status);
  return ToGrpcStatus(status);
}

// Serve for a unary method on gRPC's callback API: no server thread waits
// while the call runs. `start(call, done)` must call `done` exactly once,
// on any thread; `done` stores the response and finishes the call.
template <typename Response, typename Start>
grpc::ServerUnaryReactor* ServeAsync(const auth::TokenVerifier& verifier, grpc::CallbackServerContext* context,
                                     absl::string_view method, Response* response, Start&& start) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::StatusOr<Call> call = StartCall(verifier, *context);
  if (!call.ok()) {
    reactor->Finish(ToGrpcStatus(call.status()));
    return reactor;
  }
  start(*call, [reactor, response, method](absl::StatusOr<Response> result) {
    if (!result.ok()) {
      LogCallError(method, result.status());
      reactor->Finish(ToGrpcStatus(result.status()));
      return;
    }
    *response = *std::move(result);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

}  // namespace crm::server
