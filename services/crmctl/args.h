#pragma once
// Subcommand arguments: positionals and "--name value" / "--name=value".
// (Global flags before the subcommand are absl flags, see main.cc.)

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace crm::crmctl {

class Args {
 public:
  Args() = default;

  // INVALID_ARGUMENT for a flag not in `allowed`, given twice, or without
  // a value. "--" ends the flags.
  static absl::StatusOr<Args> Parse(const std::vector<std::string>& argv,
                                    const std::vector<std::string_view>& allowed);

  const std::vector<std::string>& positional() const { return positional_; }
  bool Has(std::string_view flag) const { return flags_.find(flag) != flags_.end(); }
  std::optional<std::string> Get(std::string_view flag) const;
  std::string GetOr(std::string_view flag, std::string fallback) const;

 private:
  std::map<std::string, std::string, std::less<>> flags_;
  std::vector<std::string> positional_;
};

}  // namespace crm::crmctl
