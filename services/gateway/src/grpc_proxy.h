#pragma once
// The gateway's gRPC front: every unary call to a public method of the four
// services is forwarded by method name to the owning service as raw bytes
// (never decoded or re-encoded). Each call passes the door (token, rate
// limit), keeps its deadline (capped), caller token and request id
// (x-request-id, taken from the client or made here), and leaves one
// access log line and its metrics. Methods no backend serves get
// UNIMPLEMENTED. Callback API: nothing here blocks.

#include <grpcpp/generic/async_generic_service.h>

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
  static constexpr char kRequestIdKey[] = "x-request-id";

  // `backends` and `door` must outlive the proxy.
  GrpcProxy(const Backends& backends, Door& door, ProxyOptions options)
      : backends_(backends), door_(door), options_(options) {}

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* context) override;

 private:
  const Backends& backends_;
  Door& door_;
  const ProxyOptions options_;
};

// The client's request id when it is usable (1..128 visible ASCII
// characters), otherwise a new random one.
std::string RequestIdOrNew(absl::string_view from_client);

}  // namespace crm::gateway
