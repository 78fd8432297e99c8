#include "services/gateway/src/door.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status/status.h"

namespace crm::gateway {

absl::StatusOr<absl::string_view> BearerToken(absl::string_view value) {
  constexpr absl::string_view kScheme = "bearer";
  if (value.empty()) return absl::UnauthenticatedError("missing authorization");
  if (value.size() <= kScheme.size() || !absl::StartsWithIgnoreCase(value, kScheme) || value[kScheme.size()] != ' ') {
    return absl::UnauthenticatedError("authorization is not a bearer token");
  }
  const absl::string_view token = absl::StripAsciiWhitespace(value.substr(kScheme.size() + 1));
  if (token.empty()) return absl::UnauthenticatedError("empty bearer token");
  return token;
}

Door::Door(const auth::TokenVerifier& verifier, DoorOptions options, const Clock& clock)
    : verifier_(verifier), limiter_(options.rate_limit_per_second, options.rate_limit_burst, clock) {}

absl::StatusOr<auth::Principal> Door::Admit(absl::string_view authorization_header_value, absl::string_view method) {
  absl::StatusOr<absl::string_view> token = BearerToken(authorization_header_value);
  if (!token.ok()) return token.status();
  absl::StatusOr<auth::Principal> principal = verifier_.Verify(std::string_view(token->data(), token->size()));
  if (!principal.ok()) return principal.status();
  if (std::optional<absl::Duration> wait = limiter_.TryAcquire(principal->subject)) {
    return ResourceExhaustedRetryAfter(
        absl::StrCat("rate limit exceeded for this caller; retry in ", absl::FormatDuration(*wait)), *wait);
  }
  return principal;
}

void Door::Record(absl::string_view front, absl::string_view method, absl::StatusCode code, absl::Duration latency) {
  metrics_.Record(front, method, code, latency);
}

}  // namespace crm::gateway
