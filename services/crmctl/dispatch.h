#pragma once
// Finds the subcommand named by the leading arguments, checks its
// arguments against its spec and runs it.

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "services/crmctl/command.h"

namespace crm::crmctl {

// `args` are the words after the global flags, e.g. {"customers", "get",
// "customers/1"}. An empty options.address means kDefaultAddress (the
// gateway under deploy/local/run.sh). Returns the process exit code.
int RunCommand(const GlobalOptions& options, const std::vector<std::string>& args,
               std::ostream& out, std::ostream& err);

// Usage and summary of each subcommand, or of those in `group` ("customers").
std::string CommandsUsage(std::string_view group = "");

}  // namespace crm::crmctl
