#pragma once
// gRPC's server parses each request before any handler runs and answers a
// parse failure with an empty message, naming nothing (INTERNAL on the sync
// API, UNIMPLEMENTED on the callback API). The parse failure a client can cause with a well-formed message
// is invalid UTF-8 in a proto3 string field, and protobuf names that field
// only in its log. This captures that log line per thread (the thread that
// parses a request is the one that then runs its handler and sends its
// status) and turns the answer into INVALID_ARGUMENT naming the field's path
// in the request, as every other validation error does.

#include <grpcpp/support/server_interceptor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace google::protobuf {
class Descriptor;
}

namespace crm::server {

// Installs the protobuf log handler that records UTF-8 parse refusals (once
// per process; other log lines go on to the previous handler).
void CaptureRequestParseErrors();

// The full name ("crm.customers.v1.Customer.display_name") of the field
// whose invalid UTF-8 failed the last parse on this thread; empty if none.
// Forgets it.
std::string TakeInvalidUtf8Field();

// The path from `root` to the field named `full_name`, breadth first
// ("customer.display_name"); the field's own name if `root` cannot reach it.
std::string FieldPathFrom(const google::protobuf::Descriptor& root, absl::string_view full_name);

// For client-streaming handlers, once Read() has returned false: OK if the
// stream ended, INVALID_ARGUMENT naming the field if message number
// `messages_read` (zero-based) failed to parse.
absl::Status StreamEndStatus(const google::protobuf::Descriptor& message_type, int64_t messages_read);

// The unary half: rewrites the status of a call to one of `service_names`
// (fully qualified) whose request failed to parse on invalid UTF-8.
// GrpcServer installs it on every server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeRequestParseErrorInterceptorFactory(
    const std::vector<std::string>& service_names);

}  // namespace crm::server
