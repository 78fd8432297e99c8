#pragma once
// Issues HS256 bearer tokens for local development and tests (crmctl token).
// Production tokens come from the identity provider, not from here.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/principal.h"

namespace crm::auth {

// A token with iss, aud, sub, role, team (when set), iat = now and
// exp = now + ttl. INVALID_ARGUMENT for a key shorter than 32 bytes, an
// empty issuer, audience or subject, or a ttl that is not positive.
absl::StatusOr<std::string> MintHs256Token(std::string_view key, std::string_view issuer,
                                           std::string_view audience, const Principal& principal,
                                           absl::Time now, absl::Duration ttl);

}  // namespace crm::auth
