#pragma once
// The integration check every service runs on its idempotent creates
// (AIP-155): a request id is scoped to its caller. Two callers using the same
// request id each get a resource of their own; neither sees nor changes the
// other's; each one's retry gets its own first result.

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"

namespace crm::testing {

struct IdempotentCreate {
  // Creates as `caller` with `request_id`: the name of the resource created
  // (or replayed).
  std::function<absl::StatusOr<std::string>(const std::string& caller, const std::string& request_id)> create;
  // Resource `name` as `caller` reads it, in any form that changes when the
  // resource does (e.g. its serialized message).
  std::function<absl::StatusOr<std::string>(const std::string& caller, const std::string& name)> read;
  // How many such resources are stored.
  std::function<int64_t()> count;
};

// Creates as `first`, then as `second` with the same request id, then
// retries both, then creates as `first` with the request id in another
// case; adds a failure for every property that does not hold.
void ExpectRequestIdScopedToCaller(const IdempotentCreate& c, const std::string& first, const std::string& second,
                                   const std::string& request_id);

}  // namespace crm::testing
