#pragma once
// AIP-155 request ids, scoped to the caller. Each service's schema has the
// table
//   idempotency_keys(method, caller, request_id, resource_name, create_time)
// keyed on (method, caller, request_id), where caller is the authenticated
// principal's subject: a request id is only ever replayed to the caller who
// first used it, so another caller reusing it (by chance or on purpose)
// gets a resource of its own, never someone else's. A create does, inside
// its transaction: FindIdempotentResult → if found return that resource;
// else create, then RememberIdempotentResult. Two concurrent retries race on
// the primary key; the loser's transaction fails with ALREADY_EXISTS and it
// reads the winner's result.

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace sql {
class Connection;
}

namespace crm::db {

// Request ids are client-chosen (a UUID is recommended): 1..64 printable
// ASCII characters, compared byte for byte ("abc" and "ABC" are two
// requests). Empty means "not idempotent".
absl::Status ValidateRequestId(absl::string_view request_id, absl::string_view field = "request_id");

// One caller's request: named fields, so a caller and a request id (both
// strings) cannot be swapped unnoticed.
struct IdempotencyKey {
  absl::string_view method;
  absl::string_view caller;  // the principal's subject
  absl::string_view request_id;
};

std::optional<std::string> FindIdempotentResult(sql::Connection& conn, const IdempotencyKey& key);
void RememberIdempotentResult(sql::Connection& conn, const IdempotencyKey& key,
                              absl::string_view resource_name, absl::Time now);

// RememberIdempotentResult for a batch of creates written in one
// transaction (group commit), with one statement; empty request ids are
// skipped. A request id the same caller already used fails it
// (ALREADY_EXISTS), so a batch need not look its keys up first when retries
// are rare: the caller rolls back and creates one at a time.
struct IdempotentResult {
  std::string caller;
  std::string request_id;
  std::string resource_name;
  absl::Time create_time;
};
void RememberIdempotentResults(sql::Connection& conn, absl::string_view method,
                               const std::vector<IdempotentResult>& results);

}  // namespace crm::db
