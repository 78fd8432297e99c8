#include "common/config/config.h"

#include <cstdio>
#include <cstdlib>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace crm::config {

std::string EnvNameForFlag(absl::string_view flag_name) {
  return absl::StrCat("CRM_", absl::AsciiStrToUpper(flag_name));
}

void Die(absl::string_view message) {
  std::fprintf(stderr, "configuration error: %.*s\n", static_cast<int>(message.size()),
               message.data());
  std::exit(2);
}

std::string HostPortOrDie(const absl::Flag<std::string>& flag) {
  std::string address = absl::GetFlag(flag);
  if (address.find(':') == std::string::npos) {
    Die(absl::StrCat("--", absl::GetFlagReflectionHandle(flag).Name(), ": expected host:port"));
  }
  return address;
}

std::vector<char*> ParseFlagsWithEnv(int argc, char** argv, absl::string_view usage) {
  absl::SetProgramUsageMessage(usage);
  // Environment first, so that flags given on the command line override it.
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    std::string env_name = EnvNameForFlag(name);
    const char* value = std::getenv(env_name.c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      Die(absl::StrCat(env_name, ": ", error));
    }
  }
  return absl::ParseCommandLine(argc, argv);
}

}  // namespace crm::config
