#include "common/auth/grpc_auth.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace crm::auth {
namespace {

constexpr absl::string_view kBearerScheme = "bearer";

}  // namespace

absl::StatusOr<std::string_view> BearerTokenFromMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  // gRPC lower-cases metadata keys on the wire.
  auto [first, last] = metadata.equal_range("authorization");
  if (first == last) return absl::UnauthenticatedError("missing authorization metadata");
  if (std::next(first) != last) {
    return absl::UnauthenticatedError("more than one authorization metadata entry");
  }
  // absl::string_view: Debian's Abseil does not alias std::string_view.
  const absl::string_view value(first->second.data(), first->second.size());
  // RFC 6750 §2.1: "Bearer" SP token; the scheme is case-insensitive (RFC 9110 §11.1).
  if (value.size() <= kBearerScheme.size() ||
      !absl::StartsWithIgnoreCase(value, kBearerScheme) || value[kBearerScheme.size()] != ' ') {
    return absl::UnauthenticatedError("authorization is not a bearer token");
  }
  const absl::string_view token =
      absl::StripAsciiWhitespace(value.substr(kBearerScheme.size() + 1));
  if (token.empty()) return absl::UnauthenticatedError("empty bearer token");
  return std::string_view(token.data(), token.size());
}

absl::StatusOr<Principal> AuthenticateCall(const TokenVerifier& verifier,
                                           const grpc::ServerContextBase& context) {
  absl::StatusOr<std::string_view> token = BearerTokenFromMetadata(context.client_metadata());
  if (!token.ok()) return token.status();
  return verifier.Verify(*token);
}

}  // namespace crm::auth
