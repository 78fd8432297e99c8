#pragma once
// Canonical error construction shared by every service. INVALID_ARGUMENT
// carries a google.rpc.BadRequest payload naming each offending field, which
// ToGrpcStatus (grpc_status.h) turns into the standard error details.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace crm {

struct FieldViolation {
  std::string field;        // proto path, e.g. "customer.credit_code"
  std::string description;  // why it was refused

  friend bool operator==(const FieldViolation&, const FieldViolation&) = default;
};

// INVALID_ARGUMENT naming every violation; `violations` must not be empty.
// Fields and descriptions are made valid UTF-8 (ValidUtf8): they often echo
// client input, and a BadRequest holding a string that is not UTF-8 cannot
// be parsed by the client, which would lose every violation.
absl::Status InvalidArgument(std::vector<FieldViolation> violations);
absl::Status InvalidField(std::string field, std::string description);

// The violations carried by `status` (empty when it has none).
std::vector<FieldViolation> FieldViolations(const absl::Status& status);

// RESOURCE_EXHAUSTED that tells the client when to try again: a
// google.rpc.RetryInfo payload, which ToGrpcStatus turns into the standard
// error detail.
absl::Status ResourceExhaustedRetryAfter(std::string message, absl::Duration retry_delay);

// The retry delay carried by `status`, if any.
std::optional<absl::Duration> RetryDelay(const absl::Status& status);

// `text` with every byte that is not part of a well-formed UTF-8 sequence
// replaced by U+FFFD (proto3 strings must be UTF-8).
std::string ValidUtf8(std::string_view text);

// Collects violations while validating a request.
class Violations {
 public:
  void Add(std::string field, std::string description) {
    list_.push_back({std::move(field), std::move(description)});
  }
  bool empty() const { return list_.empty(); }
  // OK when nothing was added, otherwise INVALID_ARGUMENT with all of them.
  absl::Status ToStatus() const;

 private:
  std::vector<FieldViolation> list_;
};

// Adds "required" (when `required` and empty) or "at most N bytes".
void CheckText(const std::string& value, const std::string& field, size_t max, bool required, Violations& v);

}  // namespace crm
