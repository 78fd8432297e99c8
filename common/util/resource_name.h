#pragma once
// Resource names (AIP-122): "customers/12", "customers/12/contacts/7".
// Ids are positive decimal integers assigned by the owning service.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace crm {

// Parses `name` against a pattern of literal collection segments, e.g.
// ParseResourceName("customers/1/contacts/2", {"customers", "contacts"})
// → {1, 2}. Errors are INVALID_ARGUMENT naming `field`.
absl::StatusOr<std::vector<int64_t>> ParseResourceName(
    std::string_view name, const std::vector<std::string_view>& collections,
    std::string_view field);

absl::StatusOr<int64_t> ParseSingleId(std::string_view name, std::string_view collection,
                                      std::string_view field);

}  // namespace crm
