#pragma once
// Process configuration: absl flags, each with an environment fallback for
// containers. Precedence: command line > CRM_<FLAG_NAME_UPPERCASE> > default.
// Bad values end the process at start-up with a clear message (exit 2).

#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace crm::config {

// Applies environment fallbacks, then parses argv. Returns the positional
// arguments (argv[0] first).
std::vector<char*> ParseFlagsWithEnv(int argc, char** argv, absl::string_view usage);

// "db_pool_size" → "CRM_DB_POOL_SIZE".
std::string EnvNameForFlag(absl::string_view flag_name);

// Prints "configuration error: <message>" and exits 2. For start-up only.
[[noreturn]] void Die(absl::string_view message);

// The value of a host:port flag (another service's address); without a
// colon it ends the process ("--customers_address: expected host:port").
std::string HostPortOrDie(const absl::Flag<std::string>& flag);

}  // namespace crm::config
