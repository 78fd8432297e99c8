#pragma once
// The gateway's gRPC front: every unary call to a public method of the four
// services is forwarded by method name to the owning service as raw bytes
// (never decoded or re-encoded). Each call passes the door (token, rate
// limit), keeps its deadline (capped), caller token and request id
// (x-request-id, taken from the client or made here), and leaves one
// access log line and its metrics. Methods no backend serves, and methods
// this gateway knows to be streaming, get UNIMPLEMENTED. Callback API:
// nothing here blocks.

#include <grpcpp/generic/async_generic_service.h>

#include <map>
#include <string>

#include "absl/time/time.h"
#include "services/gateway/src/backends.h"
#include "services/gateway/src/door.h"

namespace crm::gateway {

struct ProxyOptions {
  // The longest a forwarded call may run, whatever deadline the client set.
  absl::Duration max_call_duration = absl::Seconds(30);
};

class GrpcProxy final : public grpc::CallbackGenericService {
 public:
  static constexpr char kFront[] = "grpc";

  // `backends` and `door` must outlive the proxy.
  GrpcProxy(const Backends& backends, Door& door, ProxyOptions options)
      : backends_(backends), door_(door), options_(options) {}

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* context) override;

 private:
  const Backends& backends_;
  Door& door_;
  const ProxyOptions options_;
};

// The single value of metadata `key`; empty when absent or repeated (a
// repeated authorization is refused by the door as missing).
absl::string_view SingleMetadata(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                                 absl::string_view key);

}  // namespace crm::gateway
