#pragma once
// What every RPC command shares: JSON in and out, error printing, and the
// call-and-print step.

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "services/crmctl/command.h"

namespace crm::crmctl {

// Protobuf JSON: one object per line, or indented with `pretty`.
void PrintMessage(const google::protobuf::Message& message, bool pretty, std::ostream& out);

// "ERROR <CODE>: message" and then one "  <field>: <description>" line per
// google.rpc.BadRequest field violation in the status details.
void PrintRpcError(const grpc::Status& status, std::ostream& err);

// Fills `message` from JSON text, or from a file when `json` is "@path".
absl::Status ParseJsonArg(const std::string& json, google::protobuf::Message& message);

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
