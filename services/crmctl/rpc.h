#pragma once
// What every RPC command shares: JSON in and out, error printing, paging
// flags, and the call-and-print step.

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "services/crmctl/args.h"
#include "services/crmctl/command.h"

namespace crm::crmctl {

// Protobuf JSON: one object per line, or indented with `pretty`.
void PrintMessage(const google::protobuf::Message& message, bool pretty, std::ostream& out);

// "ERROR <CODE>: message" and then one "  <field>: <description>" line per
// google.rpc.BadRequest field violation in the status details.
void PrintRpcError(const grpc::Status& status, std::ostream& err);

// Fills `message` from JSON text, or from a file when `json` is "@path".
absl::Status ParseJsonArg(const std::string& json, google::protobuf::Message& message);

// The paging flags of List commands, and a flag list with them appended.
inline const std::vector<std::string_view> kPaging = {"page-size", "page-token"};
std::vector<std::string_view> WithPaging(std::vector<std::string_view> flags);

// --page-size as a non-negative integer; 0 (the server's default) when absent.
absl::StatusOr<int32_t> PageSizeArg(const Args& args);

// Sets page_size / page_token from --page-size / --page-token.
template <typename Request>
absl::Status ApplyPaging(const Args& args, Request& request) {
  absl::StatusOr<int32_t> size = PageSizeArg(args);
  if (!size.ok()) return size.status();
  request.set_page_size(*size);
  request.set_page_token(args.GetOr("page-token", ""));
  return absl::OkStatus();
}

// Runs one unary call with a prepared context and prints the response or
// the error; returns the exit code.
template <typename Response, typename Rpc>
int CallAndPrint(Invocation& invocation, Rpc rpc) {
  grpc::ClientContext context;
  invocation.Prepare(context);
  Response response;
  const grpc::Status status = rpc(&context, &response);
  if (!status.ok()) {
    PrintRpcError(status, invocation.err());
    return kExitFailed;
  }
  PrintMessage(response, invocation.options().pretty, invocation.out());
  return kExitOk;
}

}  // namespace crm::crmctl
