#pragma once
// The HTTP/JSON transcoder of the gateway: REST routes declared next to the
// RPCs (google.api.http options), read from the linked descriptors at
// start-up. Pure: no sockets, so every rule is unit-tested without a network.
//
// A route binds one (HTTP verb, path template) to one unary RPC. A request is
// turned into the RPC's request message with the protobuf JSON mapping: the
// body (the whole request for body "*", or one field) is parsed first, then
// path variables and query parameters are set into fields (path variables
// win). Replies and errors are rendered as JSON the way grpc-gateway does.

#include <grpcpp/support/status.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace crm::gateway {

struct RoutedCall {
  const google::protobuf::MethodDescriptor* method = nullptr;
  // The gRPC method path: "/crm.customers.v1.CustomerService/GetCustomer".
  std::string grpc_method;
  std::unique_ptr<google::protobuf::Message> request;
};

// An HTTP reply with a JSON body.
struct JsonReply {
  int http_status = 200;
  std::string body;
};

class HttpRoutes {
 public:
  // The routes of every unary method of `services` that carries a
  // google.api.http option (and its additional bindings). A malformed
  // template or a body/variable naming no field is INVALID_ARGUMENT: a
  // start-up configuration error.
  static absl::StatusOr<std::unique_ptr<HttpRoutes>> ForServices(
      const std::vector<const google::protobuf::ServiceDescriptor*>& services);

  ~HttpRoutes();
  HttpRoutes(const HttpRoutes&) = delete;
  HttpRoutes& operator=(const HttpRoutes&) = delete;

  // The call for an HTTP request: NOT_FOUND when no route matches the verb
  // and path (as in grpc-gateway); INVALID_ARGUMENT with a field violation
  // for a body that is not the message's JSON, or a query parameter that
  // names no field or does not fit its field. `query` is the raw query
  // string without '?'.
  absl::StatusOr<RoutedCall> Route(std::string_view http_method, std::string_view path,
                                   std::string_view query, std::string_view body) const;

  // OpenAPI 3.0 description of every route, with schemas derived from the
  // message descriptors.
  std::string RenderOpenApi() const;

  size_t size() const { return routes_.size(); }

  struct CompiledRoute;

 private:
  HttpRoutes() = default;
  std::vector<std::unique_ptr<CompiledRoute>> routes_;
};

// A reply message in the protobuf JSON mapping (lowerCamelCase names, enums by
// name, unset scalars included so clients see every field).
std::string MessageToJson(const google::protobuf::Message& message);

// grpc-gateway's mapping of gRPC codes to HTTP statuses.
int HttpStatusForCode(grpc::StatusCode code);

// {"code": 3, "status": "INVALID_ARGUMENT", "message": "...", "details": [...]}
// with the HTTP status of the code. Details are the google.rpc.Status details
// carried in grpc-status-details-bin (BadRequest field violations, RetryInfo,
// ...), each as JSON with its "@type".
JsonReply ErrorReply(const grpc::Status& status);
JsonReply ErrorReply(const absl::Status& status);

}  // namespace crm::gateway
