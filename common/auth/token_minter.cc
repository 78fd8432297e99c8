#include "common/auth/token_minter.h"

#include <jwt.h>

#include <cstdlib>
#include <memory>

#include "absl/status/status.h"

namespace crm::auth {
namespace {

constexpr size_t kMinHmacKeyBytes = 32;  // RFC 7518 §3.2; libjwt 1.10 does not check

struct JwtDeleter {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};

}  // namespace

absl::StatusOr<std::string> MintHs256Token(std::string_view key, std::string_view issuer,
                                           std::string_view audience, const Principal& principal,
                                           absl::Time now, absl::Duration ttl) {
  if (key.size() < kMinHmacKeyBytes) {
    return absl::InvalidArgumentError("HS256 key must be at least 32 bytes");
  }
  if (issuer.empty() || audience.empty() || principal.subject.empty()) {
    return absl::InvalidArgumentError("issuer, audience and subject must be set");
  }
  if (ttl <= absl::ZeroDuration()) return absl::InvalidArgumentError("ttl must be positive");

  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return absl::InternalError("libjwt could not allocate");
  std::unique_ptr<jwt_t, JwtDeleter> jwt(raw);

  const long iat = static_cast<long>(absl::ToUnixSeconds(now));
  const long exp = static_cast<long>(absl::ToUnixSeconds(now + ttl));
  int rc = 0;
  rc |= jwt_add_grant(jwt.get(), "iss", std::string(issuer).c_str());
  rc |= jwt_add_grant(jwt.get(), "aud", std::string(audience).c_str());
  rc |= jwt_add_grant(jwt.get(), "sub", principal.subject.c_str());
  rc |= jwt_add_grant(jwt.get(), "role", std::string(RoleName(principal.role)).c_str());
  if (!principal.team.empty()) rc |= jwt_add_grant(jwt.get(), "team", principal.team.c_str());
  rc |= jwt_add_grant_int(jwt.get(), "iat", iat);
  rc |= jwt_add_grant_int(jwt.get(), "exp", exp);
  rc |= jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(key.data()),
                    static_cast<int>(key.size()));
  if (rc != 0) return absl::InternalError("libjwt could not build the token");

  // libjwt 1.10 allocates with malloc and has no jwt_free_str.
  std::unique_ptr<char, decltype(&std::free)> encoded(jwt_encode_str(jwt.get()), &std::free);
  if (!encoded) return absl::InternalError("libjwt could not sign the token");
  return std::string(encoded.get());
}

}  // namespace crm::auth
