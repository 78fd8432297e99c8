#pragma once
// Subcommand arguments: positionals, "--name value" / "--name=value", and
// switches: "--name" alone (true) or "--name=true" / "--name=false".
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

  // INVALID_ARGUMENT for a flag not in `allowed` or `switches`, given
  // twice, a flag without a value, or a switch with a value other than
  // true / false. A switch never takes the next word as its value. "--"
  // ends the flags.
  static absl::StatusOr<Args> Parse(const std::vector<std::string>& argv,
                                    const std::vector<std::string_view>& allowed,
                                    const std::vector<std::string_view>& switches = {});

  const std::vector<std::string>& positional() const { return positional_; }
  bool Has(std::string_view flag) const { return flags_.find(flag) != flags_.end(); }
  std::optional<std::string> Get(std::string_view flag) const;
  std::string GetOr(std::string_view flag, std::string fallback) const;
  // A switch: given as "--flag" or "--flag=true".
  bool Enabled(std::string_view flag) const { return Get(flag) == "true"; }

 private:
  std::map<std::string, std::string, std::less<>> flags_;
  std::vector<std::string> positional_;
};

// "true" or "false"; anything else is nullopt.
std::optional<bool> ParseBool(std::string_view text);

}  // namespace crm::crmctl
