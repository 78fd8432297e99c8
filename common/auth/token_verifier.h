#pragma once
// Verifies the bearer tokens (JWT, RFC 7519) that carry the caller's
// identity. One verifier per process, shared by all server threads.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/auth/principal.h"
#include "common/util/clock.h"

namespace crm::auth {

struct AuthConfig {
  // Exactly one of the two keys is set: an HS256 shared secret (at least
  // 32 bytes, RFC 7518 §3.2) or a PEM RSA public key (at least 2048 bits).
  // This key signs the SERVICE tokens a process mints for itself (HS256).
  std::string hs256_key;
  std::string rs256_public_key_pem;
  // Key rotation: further verification keys of the same algorithm, accepted
  // as well during a rollover (a token verifies if any key's signature
  // matches; tokens carry no key id). Each is checked like the main key.
  std::vector<std::string> rollover_keys;
  std::string issuer;    // required "iss"
  std::string audience;  // must appear in "aud" (string or array)
  // Tolerated clock skew between the token issuer and this process.
  absl::Duration leeway = absl::Seconds(30);
};

class TokenVerifier {
 public:
  // INVALID_ARGUMENT when the configuration is unusable (no key or both,
  // a short HMAC key, an unreadable or non-RSA public key, more than
  // kMaxKeys keys, no issuer or audience, a negative leeway). `clock` must
  // outlive the verifier.
  static absl::StatusOr<std::unique_ptr<TokenVerifier>> Create(AuthConfig config,
                                                               const crm::Clock& clock);

  // The principal named by a valid token; UNAUTHENTICATED with a short
  // reason otherwise (never echoing token contents). Thread-safe.
  // A client sends the same token on every call until it expires, so tokens
  // that verified are remembered (bounded) and only their time window is
  // checked again: parsing and the signature were most of a point read's
  // CPU. The keys are fixed for the verifier's life and the cache lives in
  // memory only, so after a restart without a key every token is checked
  // against the remaining keys again.
  absl::StatusOr<Principal> Verify(std::string_view token) const;

  // Main key plus rollover keys: two during a rollover; each one more makes
  // refusing a forged token cost one more signature check.
  static constexpr size_t kMaxKeys = 4;

  TokenVerifier(const TokenVerifier&) = delete;
  TokenVerifier& operator=(const TokenVerifier&) = delete;

 private:
  enum class Algorithm { kHs256, kRs256 };
  struct VerifiedToken {
    Principal principal;
    absl::Time expires;
    absl::Time not_before;  // InfinitePast when the token has no "nbf"
  };

  TokenVerifier(AuthConfig config, Algorithm algorithm, std::vector<std::string> keys,
                const crm::Clock& clock);
  absl::StatusOr<VerifiedToken> VerifySignatureAndClaims(std::string_view token) const;
  absl::Status CheckTimeWindow(const VerifiedToken& verified) const;

  const AuthConfig config_;
  const Algorithm algorithm_;
  const std::vector<std::string> keys_;  // the main key first
  const crm::Clock& clock_;
  mutable absl::Mutex cache_mu_;
  mutable absl::flat_hash_map<std::string, VerifiedToken> cache_ ABSL_GUARDED_BY(cache_mu_);
};

}  // namespace crm::auth
