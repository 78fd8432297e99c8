#pragma once
// Authenticates a gRPC call from its "authorization: Bearer <token>"
// metadata. Separate library (crm_grpc_auth) so crm_auth needs no gRPC.

#include <map>
#include <string_view>

#include <grpcpp/server_context.h>
#include <grpcpp/support/string_ref.h>

#include "absl/status/statusor.h"
#include "common/auth/principal.h"
#include "common/auth/token_verifier.h"

namespace crm::auth {

// The token of the single "authorization" entry (scheme "Bearer",
// case-insensitive); UNAUTHENTICATED when it is missing, repeated or not
// a bearer credential. The view points into `metadata`.
absl::StatusOr<std::string_view> BearerTokenFromMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata);

// The caller of `context`, verified by `verifier`; UNAUTHENTICATED otherwise.
absl::StatusOr<Principal> AuthenticateCall(const TokenVerifier& verifier,
                                           const grpc::ServerContextBase& context);

}  // namespace crm::auth
