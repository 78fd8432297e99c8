#include "common/server/call.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"
#include "common/util/log.h"

namespace crm::server {

absl::Time CallDeadline(const grpc::ServerContextBase& context) {
  // Compare in chrono first: "no deadline" is time_point::max().
  const auto cap = std::chrono::system_clock::now() + absl::ToChronoSeconds(kMaxCallDuration);
  return absl::FromChrono(std::min(context.deadline(), cap));
}

absl::StatusOr<Call> StartCall(const auth::TokenVerifier& verifier, const grpc::ServerContextBase& context) {
  absl::StatusOr<auth::Principal> principal = auth::AuthenticateCall(verifier, context);
  if (!principal.ok()) return principal.status();
  return Call{std::move(*principal), CallDeadline(context)};
}

void LogCallError(absl::string_view method, const absl::Status& status) {
  // Client mistakes are the client's to see; server-side trouble is logged.
  switch (status.code()) {
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
      log::Warning("call failed", {{"method", method},
                                   {"code", absl::StatusCodeToString(status.code())},
                                   {"error", status.message()}});
      break;
    default:
      break;
  }
}

}  // namespace crm::server
