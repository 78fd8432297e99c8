#include "common/util/resource_name.h"

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
    if (parts[2 * i] != collections[i] || !absl::SimpleAtoi(parts[2 * i + 1], &id) || id <= 0) {
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
