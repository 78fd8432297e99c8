#pragma once
// The checks every front of the gateway applies to every call, in one
// place: the bearer token (the shared TokenVerifier), per-principal rate
// limiting, and the request metrics. The owning services still check
// roles and ownership themselves (GW-2); the door only keeps out callers
// without a valid token and callers over their rate.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/auth/principal.h"
#include "common/auth/token_verifier.h"
#include "common/util/clock.h"
#include "services/gateway/src/metrics.h"
#include "services/gateway/src/rate_limiter.h"

namespace crm::gateway {

// One finished request, as every front reports it.
struct AccessRecord {
  absl::string_view front;   // "grpc" or "http"
  absl::string_view method;  // the gRPC method path, or a fixed label ("unrouted", "unknown")
  absl::string_view subject;  // empty when the caller was not admitted
  absl::string_view request_id;
  absl::StatusCode code = absl::StatusCode::kUnknown;
  absl::Duration latency;
};

struct DoorOptions {
  double rate_limit_per_second = 200;
  double rate_limit_burst = 400;
};

class Door {
 public:
  // `verifier` and `clock` must outlive the door.
  Door(const auth::TokenVerifier& verifier, DoorOptions options, const Clock& clock);

  // The caller of a request whose Authorization header (or gRPC
  // "authorization" metadata) is `authorization_header_value`:
  // UNAUTHENTICATED unless it is "Bearer <valid token>"; RESOURCE_EXHAUSTED
  // with a RetryInfo delay when the principal is over its rate.
  absl::StatusOr<auth::Principal> Admit(absl::string_view authorization_header_value, absl::string_view method);

  // One finished request: its metrics and one access log line.
  void Record(const AccessRecord& access);
  std::string RenderPrometheus() const { return metrics_.RenderPrometheus(); }

 private:
  const auth::TokenVerifier& verifier_;
  RateLimiter limiter_;
  Metrics metrics_;
};

// The request id every front reads from the client (gRPC metadata, or the
// X-Request-Id header), sends to the backends and returns.
inline constexpr char kRequestIdKey[] = "x-request-id";

// The client's request id when it is usable (1..128 visible ASCII
// characters), otherwise a new random one.
std::string RequestIdOrNew(absl::string_view from_client);

// The token of "Bearer <token>" (scheme case-insensitive, RFC 6750 §2.1);
// UNAUTHENTICATED otherwise.
absl::StatusOr<absl::string_view> BearerToken(absl::string_view authorization_header_value);

}  // namespace crm::gateway
