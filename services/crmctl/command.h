#pragma once
// The shape of a crmctl subcommand: what it accepts and how it runs.

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/tls/tls.h"
#include "services/crmctl/args.h"

namespace crm::crmctl {

// 0 success; 1 the operation failed (RPC error, NOT_SERVING); 2 the command
// line or its input (flags, JSON, CSV, key file) is wrong, nothing was sent.
enum ExitCode : int { kExitOk = 0, kExitFailed = 1, kExitUsage = 2 };

struct GlobalOptions {
  // Empty: kDefaultAddress, the gateway.
  std::string address;
  std::string token;  // bearer token; empty sends no authorization
  absl::Duration timeout = absl::Seconds(10);
  bool insecure = true;  // plain TCP; false uses TLS with the system roots
  // Enabled (--tls_ca_file): TLS trusting that CA, whatever `insecure` says,
  // with a client certificate for services that require one (mutual TLS).
  tls::ChannelTls tls;
  bool pretty = false;   // indented JSON instead of one object per line
};

class Invocation {
 public:
  Invocation(const GlobalOptions& options, Args args, std::ostream& out, std::ostream& err)
      : options_(options), args_(std::move(args)), out_(out), err_(err) {}

  const GlobalOptions& options() const { return options_; }
  const Args& args() const { return args_; }
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }

  // Created on first use, so commands that make no call open no connection.
  std::shared_ptr<grpc::Channel> Channel();
  // Deadline from --timeout and the bearer token: call on every context.
  void Prepare(grpc::ClientContext& context) const;

  // Prints "crmctl: <message>" and returns kExitUsage.
  int UsageError(absl::string_view message);

 private:
  const GlobalOptions& options_;
  Args args_;
  std::ostream& out_;
  std::ostream& err_;
  std::shared_ptr<grpc::Channel> channel_;
};

struct CommandSpec {
  std::vector<std::string_view> path;  // {"customers", "get"}
  std::vector<std::string_view> positional;  // names of required positional args
  std::vector<std::string_view> required_flags;
  std::vector<std::string_view> optional_flags;
  std::string_view summary;
  int (*run)(Invocation&);
  // Boolean flags given alone ("--open-only"); see Args::Parse.
  std::vector<std::string_view> switches = {};
};

// Where deploy/local/run.sh starts the gateway, which serves every command
// (it forwards each service's RPCs by method name).
inline constexpr std::string_view kDefaultAddress = "127.0.0.1:50050";

// The command tables, one per file.
std::vector<CommandSpec> TokenCommands();
std::vector<CommandSpec> HealthCommands();
std::vector<CommandSpec> CustomerCommands();
std::vector<CommandSpec> ComplaintCommands();
std::vector<CommandSpec> SchedulingCommands();
std::vector<CommandSpec> GatewayCommands();

}  // namespace crm::crmctl
