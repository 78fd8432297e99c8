#include "common/auth/service_token.h"

#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/auth/secret_file.h"
#include "common/auth/token_minter.h"

namespace crm::auth {

absl::StatusOr<std::function<std::string()>> ServiceTokenSource(const AuthConfig& auth,
                                                                const std::string& token_file,
                                                                const std::string& subject,
                                                                const Clock& clock) {
  if (!token_file.empty()) {
    auto token = ReadSecretFile(token_file);
    if (!token.ok()) return token.status();
    return std::function<std::string()>([token = *token] { return token; });
  }
  if (auth.hs256_key.empty()) {
    return absl::InvalidArgumentError("a SERVICE token is needed: set a token file (RS256 keys cannot mint)");
  }
  struct Cache {
    std::mutex mu;
    std::string token;
    absl::Time expires = absl::InfinitePast();
  };
  auto cache = std::make_shared<Cache>();
  return std::function<std::string()>([cache, auth, subject, &clock] {
    const absl::Duration ttl = absl::Minutes(10);
    std::lock_guard<std::mutex> lock(cache->mu);
    const absl::Time now = clock.Now();
    if (now + absl::Minutes(1) >= cache->expires) {
      auto token = MintHs256Token(auth.hs256_key, auth.issuer, auth.audience,
                                  Principal{subject, Role::kService, ""}, now, ttl);
      // The key was validated at start-up; an empty token makes the callee
      // answer UNAUTHENTICATED, which the caller logs and retries.
      if (!token.ok()) return std::string();
      cache->token = *token;
      cache->expires = now + ttl;
    }
    return cache->token;
  });
}

}  // namespace crm::auth
