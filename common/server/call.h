#pragma once
// The one way a handler serves a call: authenticate the bearer token, fix
// the call's deadline, run the service function, map its status. Handlers
// stay free of auth and error plumbing.

#include <grpcpp/server_context.h>

#include "absl/strings/string_view.h"

#include "absl/status/status.h"
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

absl::Time CallDeadline(const grpc::ServerContext& context);
void LogCallError(absl::string_view method, const absl::Status& status);

template <typename Fn>
grpc::Status Serve(const auth::TokenVerifier& verifier, grpc::ServerContext* context,
                   absl::string_view method, Fn&& fn) {
  auto principal = auth::AuthenticateCall(verifier, *context);
  if (!principal.ok()) return ToGrpcStatus(principal.status());
  const Call call{std::move(*principal), CallDeadline(*context)};
  absl::Status status = fn(call);
  if (!status.ok()) LogCallError(method, status);
  return ToGrpcStatus(status);
}

}  // namespace crm::server
