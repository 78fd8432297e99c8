#include "common/util/resource_name.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status/status.h"

namespace crm {

absl::StatusOr<std::vector<int64_t>> ParseResourceName(
    absl::string_view name, const std::vector<absl::string_view>& collections,
    absl::string_view field) {
  std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  auto pattern = [&] {
    std::vector<std::string> p;
    for (auto c : collections) p.push_back(absl::StrCat(c, "/{id}"));
    return absl::StrJoin(p, "/");
  };
  if (name.empty()) return InvalidField(std::string(field), "required");
  if (parts.size() != collections.size() * 2) {
    return InvalidField(std::string(field), absl::StrCat("must look like ", pattern()));
  }
  std::vector<int64_t> ids;
  for (size_t i = 0; i < collections.size(); ++i) {
    int64_t id = 0;
    // Canonical ids only: SimpleAtoi alone would also take "+7", "07" and
    // " 7", aliases of customers/7 that a cache or an audit log would not
    // recognise as the same resource.
    const absl::string_view digits = parts[2 * i + 1];
    const bool canonical = !digits.empty() && digits[0] != '0' &&
                           std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit);
    if (parts[2 * i] != collections[i] || !canonical || !absl::SimpleAtoi(digits, &id) || id <= 0) {
      return InvalidField(std::string(field), absl::StrCat("must look like ", pattern()));
    }
    ids.push_back(id);
  }
  return ids;
}

absl::StatusOr<int64_t> ParseSingleId(absl::string_view name, absl::string_view collection,
                                      absl::string_view field) {
  auto ids = ParseResourceName(name, {collection}, field);
  if (!ids.ok()) return ids.status();
  return (*ids)[0];
}

}  // namespace crm
