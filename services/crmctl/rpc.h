#pragma once
// What every RPC command shares: JSON in and out, error printing, paging
// flags, and the call-and-print step.

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
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

// A request on one resource: name from the NAME positional, etag from
// --etag (empty when not given).
template <typename Request>
Request OnNamed(const Invocation& invocation) {
  Request request;
  request.set_name(invocation.args().positional()[0]);
  request.set_etag(invocation.args().GetOr("etag", ""));
  return request;
}

// An RFC 3339 time flag (2024-05-01T00:00:00+08:00). The flag must be
// given; for an optional one, check Has() first so an absent flag leaves
// the field unset.
absl::Status ParseTimeArg(const Args& args, std::string_view flag, google::protobuf::Timestamp& timestamp);

// An enum flag by value name (case does not matter); the UNSPECIFIED value
// (number 0) is refused. The error lists the names it accepts. The flag
// must be given.
absl::StatusOr<int> ParseEnumArg(const Args& args, std::string_view flag,
                                 const google::protobuf::EnumDescriptor& descriptor);

// An integer flag within [min, max]: "--<flag> must be an integer from min
// to max" otherwise. The flag must be given.
absl::StatusOr<int32_t> ParseIntArg(const Args& args, std::string_view flag, int32_t min, int32_t max);

// The first error of several parse steps (evaluated in order), or OK.
absl::Status FirstError(std::initializer_list<absl::Status> steps);

// Runs one unary call with a prepared context; on failure prints the error
// and returns false.
template <typename Response, typename Rpc>
bool CallRpc(Invocation& invocation, Rpc rpc, Response& response) {
  grpc::ClientContext context;
  invocation.Prepare(context);
  const grpc::Status status = rpc(&context, &response);
  if (!status.ok()) PrintRpcError(status, invocation.err());
  return status.ok();
}

// Runs one unary call with a prepared context and prints the response or
// the error; returns the exit code.
template <typename Response, typename Rpc>
int CallAndPrint(Invocation& invocation, Rpc rpc) {
  Response response;
  if (!CallRpc(invocation, rpc, response)) return kExitFailed;
  PrintMessage(response, invocation.options().pretty, invocation.out());
  return kExitOk;
}

}  // namespace crm::crmctl
