#pragma once
// Resource names (AIP-122): "customers/12", "customers/12/contacts/7".
// Ids are positive decimal integers assigned by the owning service.

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"

namespace crm {

// Parses `name` against a pattern of literal collection segments, e.g.
// ParseResourceName("customers/1/contacts/2", {"customers", "contacts"})
// → {1, 2}. Errors are INVALID_ARGUMENT naming `field`.
absl::StatusOr<std::vector<int64_t>> ParseResourceName(
    absl::string_view name, const std::vector<absl::string_view>& collections,
    absl::string_view field);

absl::StatusOr<int64_t> ParseSingleId(absl::string_view name, absl::string_view collection,
                                      absl::string_view field);

}  // namespace crm
