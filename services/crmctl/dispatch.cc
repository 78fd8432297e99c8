#include "services/crmctl/dispatch.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace crm::crmctl {
namespace {

const std::vector<CommandSpec>& AllCommands() {
  static const std::vector<CommandSpec>* const kCommands = [] {
    auto* all = new std::vector<CommandSpec>;
    for (auto* table : {&TokenCommands, &HealthCommands, &CustomerCommands, &ComplaintCommands, &SchedulingCommands,
                        &GatewayCommands}) {
      for (CommandSpec& spec : table()) all->push_back(std::move(spec));
    }
    return all;
  }();
  return *kCommands;
}

std::string Placeholder(std::string_view flag) {
  std::string upper = absl::AsciiStrToUpper(std::string(flag));
  std::replace(upper.begin(), upper.end(), '-', '_');
  return upper;
}

std::string SpecUsage(const CommandSpec& spec) {
  std::string line;
  for (std::string_view word : spec.path) {
    absl::StrAppend(&line, line.empty() ? "" : " ", std::string(word));
  }
  for (std::string_view p : spec.positional) absl::StrAppend(&line, " ", std::string(p));
  for (std::string_view f : spec.required_flags) {
    absl::StrAppend(&line, " --", std::string(f), " ", Placeholder(f));
  }
  for (std::string_view f : spec.optional_flags) {
    absl::StrAppend(&line, " [--", std::string(f), " ", Placeholder(f), "]");
  }
  for (std::string_view f : spec.switches) absl::StrAppend(&line, " [--", std::string(f), "]");
  return line;
}

bool Matches(const CommandSpec& spec, const std::vector<std::string>& args) {
  if (args.size() < spec.path.size()) return false;
  for (size_t i = 0; i < spec.path.size(); ++i) {
    if (args[i] != spec.path[i]) return false;
  }
  return true;
}

}  // namespace

std::string CommandsUsage(std::string_view group) {
  std::string usage;
  for (const CommandSpec& spec : AllCommands()) {
    if (!group.empty() && spec.path[0] != group) continue;
    absl::StrAppend(&usage, "  ", SpecUsage(spec), "\n      ", std::string(spec.summary), "\n");
  }
  return usage;
}

int RunCommand(const GlobalOptions& options, const std::vector<std::string>& args,
               std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    err << "crmctl: no command\ncommands:\n" << CommandsUsage();
    return kExitUsage;
  }
  if (args[0] == "help") {
    out << "usage: crmctl [global flags] <command> [args]\ncommands:\n" << CommandsUsage();
    return kExitOk;
  }
  const CommandSpec* spec = nullptr;
  for (const CommandSpec& candidate : AllCommands()) {
    if (Matches(candidate, args)) spec = &candidate;
  }
  if (spec == nullptr) {
    // For a known group ("customers") list only its commands.
    const std::string group_usage = CommandsUsage(args[0]);
    err << "crmctl: unknown command \"" << args[0] << (args.size() > 1 ? " " + args[1] : "")
        << "\"\ncommands:\n" << (group_usage.empty() ? CommandsUsage() : group_usage);
    return kExitUsage;
  }

  const std::vector<std::string> rest(args.begin() + spec->path.size(), args.end());
  std::vector<std::string_view> allowed = spec->required_flags;
  allowed.insert(allowed.end(), spec->optional_flags.begin(), spec->optional_flags.end());
  absl::StatusOr<Args> parsed = Args::Parse(rest, allowed, spec->switches);
  std::string problem;
  if (!parsed.ok()) {
    problem = std::string(parsed.status().message());
  } else if (parsed->positional().size() != spec->positional.size()) {
    problem = absl::StrCat("expected ", spec->positional.size(), " argument(s), got ",
                           parsed->positional().size());
  } else {
    for (std::string_view flag : spec->required_flags) {
      if (!parsed->Has(flag)) {
        problem = absl::StrCat("missing --", std::string(flag));
        break;
      }
    }
  }
  if (!problem.empty()) {
    err << "crmctl: " << problem << "\nusage: crmctl " << SpecUsage(*spec) << "\n";
    return kExitUsage;
  }
  GlobalOptions resolved = options;
  if (resolved.address.empty()) resolved.address = std::string(kDefaultAddress);
  Invocation invocation(resolved, *std::move(parsed), out, err);
  return spec->run(invocation);
}

}  // namespace crm::crmctl
