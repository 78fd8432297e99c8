// crmctl: command-line client for the CRM services. Wiring only: global
// flags here, subcommands in dispatch.cc and the *_command(s).cc tables.

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "services/crmctl/command.h"
#include "services/crmctl/dispatch.h"

ABSL_FLAG(std::string, address, "",
          "host:port of the gateway or of a service (default: the gateway where deploy/local/run.sh "
          "starts it, 127.0.0.1:50050)");
ABSL_FLAG(std::string, token, "", "bearer token (default: $CRM_TOKEN)");
ABSL_FLAG(int, timeout, 10, "deadline of each call, in seconds");
ABSL_FLAG(bool, insecure, true, "plain TCP; --insecure=false uses TLS with the system roots");
ABSL_FLAG(std::string, tls_ca_file, "",
          "TLS, trusting the CA certificates in this PEM file (overrides --insecure; default: $CRM_TLS_CA_FILE)");
ABSL_FLAG(std::string, tls_client_cert_file, "",
          "PEM client certificate for servers that require one (mutual TLS; default: $CRM_TLS_CLIENT_CERT_FILE)");
ABSL_FLAG(std::string, tls_client_key_file, "",
          "PEM private key of --tls_client_cert_file (default: $CRM_TLS_CLIENT_KEY_FILE)");
ABSL_FLAG(bool, pretty, false, "indent the JSON output");

namespace {

const std::set<std::string> kValueFlags = {"address", "token", "timeout", "tls_ca_file", "tls_client_cert_file",
                                           "tls_client_key_file"};
const std::set<std::string> kOtherFlags = {
    "insecure", "noinsecure", "pretty", "nopretty",
    // absl's own
    "help", "helpfull", "helpshort", "helppackage", "helpon", "helpmatch", "version"};

// Global flags come before the subcommand; everything from the first
// positional word on belongs to the subcommand, whose flags absl must not
// see. Returns the index of that word, or -1 after an unknown global flag
// (absl would exit 1 for it; a usage error exits 2).
int SubcommandStart(int argc, char** argv) {
  int i = 1;
  while (i < argc && argv[i][0] == '-') {
    std::string name = argv[i];
    name.erase(0, name.find_first_not_of('-'));
    const size_t eq = name.find('=');
    const bool has_inline_value = eq != std::string::npos;
    if (has_inline_value) name.resize(eq);
    if (kValueFlags.count(name) == 0 && kOtherFlags.count(name) == 0) {
      std::cerr << "crmctl: unknown flag " << argv[i] << " (global flags go before the command)\n";
      return -1;
    }
    i += (!has_inline_value && kValueFlags.count(name) > 0) ? 2 : 1;
  }
  return std::min(i, argc);
}

// The flag, or else the environment variable (as the services read theirs).
std::string FlagOrEnv(const absl::Flag<std::string>& flag, const char* env) {
  std::string value = absl::GetFlag(flag);
  if (value.empty()) {
    if (const char* from_env = std::getenv(env)) value = from_env;
  }
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      absl::StrCat("crmctl [--address host:port] [--token T] [--timeout S] [--pretty] [--tls_ca_file F "
                   "[--tls_client_cert_file F --tls_client_key_file F]] <command> "
                   "[args]\n\ncommands:\n",
                   crm::crmctl::CommandsUsage()));
  const int start = SubcommandStart(argc, argv);
  if (start < 0) return crm::crmctl::kExitUsage;
  absl::ParseCommandLine(start, argv);  // exits on --help and on unknown flags

  crm::crmctl::GlobalOptions options;
  options.address = absl::GetFlag(FLAGS_address);
  options.token = absl::GetFlag(FLAGS_token);
  if (options.token.empty()) {
    if (const char* env = std::getenv("CRM_TOKEN")) options.token = env;
  }
  const int timeout_seconds = absl::GetFlag(FLAGS_timeout);
  if (timeout_seconds <= 0) {
    std::cerr << "crmctl: --timeout must be a positive number of seconds\n";
    return crm::crmctl::kExitUsage;
  }
  options.timeout = absl::Seconds(timeout_seconds);
  options.insecure = absl::GetFlag(FLAGS_insecure);
  auto tls = crm::tls::LoadChannelTls(FlagOrEnv(FLAGS_tls_ca_file, "CRM_TLS_CA_FILE"),
                                      FlagOrEnv(FLAGS_tls_client_cert_file, "CRM_TLS_CLIENT_CERT_FILE"),
                                      FlagOrEnv(FLAGS_tls_client_key_file, "CRM_TLS_CLIENT_KEY_FILE"));
  if (!tls.ok()) {
    std::cerr << "crmctl: " << tls.status().message() << "\n";
    return crm::crmctl::kExitUsage;
  }
  options.tls = *std::move(tls);
  options.pretty = absl::GetFlag(FLAGS_pretty);

  const std::vector<std::string> args(argv + start, argv + argc);
  return crm::crmctl::RunCommand(options, args, std::cout, std::cerr);
}
