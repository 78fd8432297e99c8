#include "services/gateway/src/door.h"

#include <algorithm>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status/status.h"
#include "common/util/log.h"

namespace crm::gateway {

std::string RequestIdOrNew(absl::string_view from_client) {
  const bool usable = !from_client.empty() && from_client.size() <= 128 &&
                      std::all_of(from_client.begin(), from_client.end(), [](char c) { return c > ' ' && c < 127; });
  if (usable) return std::string(from_client);
  thread_local absl::BitGen gen;
  char bytes[16];
  for (char& b : bytes) b = static_cast<char>(absl::Uniform<unsigned>(gen, 0, 256));
  return absl::BytesToHexString(absl::string_view(bytes, sizeof(bytes)));
}

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

void Door::Record(const AccessRecord& access) {
  metrics_.Record(access.front, access.method, access.code, access.latency);
  log::Info("access", {{"front", access.front},
                       {"method", access.method},
                       {"subject", access.subject},
                       {"code", absl::StatusCodeToString(access.code)},
                       {"latency_ms", absl::StrCat(absl::ToDoubleMilliseconds(access.latency))},
                       {"request_id", access.request_id}});
}

}  // namespace crm::gateway
