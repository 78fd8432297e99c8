#pragma once
// Where the gateway sends a call: the owning service of a full gRPC method
// name ("/crm.customers.v1.CustomerService/GetCustomer"), chosen by the
// method's proto package. Only the public packages are routed; anything
// else (the internal event feeds, unknown packages) has no backend.

#include <grpcpp/channel.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace crm::gateway {

struct Backend {
  std::string name;     // "customers"
  std::string package;  // "crm.customers.v1"
  std::string address;  // host:port
  std::shared_ptr<grpc::Channel> channel;
};

struct BackendAddresses {
  std::string customers = "127.0.0.1:50051";
  std::string opportunities = "127.0.0.1:50052";
  std::string complaints = "127.0.0.1:50053";
  std::string scheduling = "127.0.0.1:50054";
};

class Backends {
 public:
  // One channel per backend (common/client's MakeChannel: lazy, retries
  // UNAVAILABLE only).
  static Backends Connect(const BackendAddresses& addresses);
  explicit Backends(std::vector<Backend> backends) : backends_(std::move(backends)) {}

  // The backend serving `full_method`, or nullptr when no backend does.
  const Backend* BackendForMethod(absl::string_view full_method) const;
  std::shared_ptr<grpc::Channel> ChannelForMethod(absl::string_view full_method) const;

  // Every backend, for the suite's health.
  const std::vector<Backend>& list() const { return backends_; }

 private:
  std::vector<Backend> backends_;
};

// "crm.customers.v1" for "/crm.customers.v1.CustomerService/GetCustomer";
// empty when `full_method` is not "/<package>.<Service>/<Method>".
absl::string_view PackageOfMethod(absl::string_view full_method);

}  // namespace crm::gateway
