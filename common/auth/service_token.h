#pragma once
// The bearer token a service presents when it calls another service on its
// own behalf (event feeds, background re-lookups), with the SERVICE role.

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "common/auth/token_verifier.h"
#include "common/util/clock.h"

namespace crm::auth {

// Returns the current token on every call. With `token_file` set, the file
// is read once (the only way with an RS256 public key, which cannot mint);
// otherwise tokens for `subject` are minted with the HS256 key, 10 minutes
// long, renewed a minute before they expire. INVALID_ARGUMENT when neither
// is possible. `clock` must outlive the returned function.
absl::StatusOr<std::function<std::string()>> ServiceTokenSource(const AuthConfig& auth,
                                                                const std::string& token_file,
                                                                const std::string& subject,
                                                                const Clock& clock);

}  // namespace crm::auth
