#pragma once
// AIP-155 request ids. Each service's schema has the table
//   idempotency_keys(method, request_id, resource_name, create_time)
// and a create does, inside its transaction: FindIdempotentResult → if found
// return that resource; else create, then RememberIdempotentResult. Two
// concurrent retries race on the primary key; the loser's transaction fails
// with ALREADY_EXISTS and it reads the winner's result.

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
// ASCII characters. Empty means "not idempotent".
absl::Status ValidateRequestId(absl::string_view request_id, absl::string_view field = "request_id");

std::optional<std::string> FindIdempotentResult(sql::Connection& conn, absl::string_view method,
                                                absl::string_view request_id);
void RememberIdempotentResult(sql::Connection& conn, absl::string_view method,
                              absl::string_view request_id, absl::string_view resource_name,
                              absl::Time now);

// RememberIdempotentResult for a batch of creates written in one
// transaction (group commit), with one statement; empty request ids are
// skipped. A request id already used fails it (ALREADY_EXISTS), so a batch
// need not look its keys up first when retries are rare: the caller rolls
// back and creates one at a time.
struct IdempotentResult {
  std::string request_id;
  std::string resource_name;
  absl::Time create_time;
};
void RememberIdempotentResults(sql::Connection& conn, absl::string_view method,
                               const std::vector<IdempotentResult>& results);

}  // namespace crm::db
