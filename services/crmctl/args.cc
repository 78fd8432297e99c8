#include "services/crmctl/args.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace crm::crmctl {

absl::StatusOr<Args> Args::Parse(const std::vector<std::string>& argv,
                                 const std::vector<std::string_view>& allowed,
                                 const std::vector<std::string_view>& switches) {
  Args args;
  bool flags_ended = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (flags_ended || arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      if (arg == "--") {
        flags_ended = true;
        continue;
      }
      args.positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
    }
    const bool is_switch = std::find(switches.begin(), switches.end(), name) != switches.end();
    std::string value;
    if (is_switch) {
      value = inline_value.value_or("true");
      if (!ParseBool(value).has_value()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " takes no value, or =true / =false"));
      }
    } else if (inline_value) {
      value = *std::move(inline_value);
    } else if (i + 1 < argv.size()) {
      value = argv[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
    }
    if (!is_switch && std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    if (!args.flags_.emplace(name, std::move(value)).second) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " given twice"));
    }
  }
  return args;
}

std::optional<std::string> Args::Get(std::string_view flag) const {
  auto it = flags_.find(flag);
  if (it == flags_.end()) return std::nullopt;
  return it->second;
}

std::string Args::GetOr(std::string_view flag, std::string fallback) const {
  std::optional<std::string> value = Get(flag);
  return value ? *std::move(value) : std::move(fallback);
}

std::optional<bool> ParseBool(std::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  return std::nullopt;
}

}  // namespace crm::crmctl
