#pragma once
// Parallel unary calls to the backends, then one completion: the gateway's
// views (Customer 360, my day, dashboards) ask several services at once and
// answer when the last one has. Callback API: no thread waits.
//
//   auto fan = FanOut::Create(backends, outbound, [=] { done(...); });
//   fan->Call<Customer>(kGetCustomer, request, [=](const grpc::Status& s, Customer& c) { ... });
//   fan->Launch();
//
// Reply handlers run one at a time (under the fan-out's lock), so they may
// write into one shared view without locking themselves.

#include <grpcpp/channel.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/status.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <google/protobuf/message.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "services/gateway/src/backends.h"

namespace crm::gateway {

// What every outgoing call of one incoming request carries.
struct Outbound {
  std::string authorization;  // "Bearer …", forwarded as is
  std::string request_id;
  std::string subject;  // the admitted caller
  std::chrono::system_clock::time_point deadline;
};

// "/crm.customers.v1.CustomerService/GetCustomer" from the generated
// service class and the method name.
template <typename GeneratedService>
std::string MethodPath(absl::string_view method) {
  return absl::StrCat("/", GeneratedService::service_full_name(), "/", method);
}

class FanOut : public std::enable_shared_from_this<FanOut> {
 public:
  // `backends` must outlive the calls; `all_done` runs once, after Launch()
  // and the end of every call, on whichever thread ended last.
  static std::shared_ptr<FanOut> Create(const Backends& backends, Outbound outbound, std::function<void()> all_done);

  // Starts one call of `method` (a full method path) with the outbound
  // token, request id and deadline. `on_reply` gets the status and, when
  // OK, the parsed reply.
  template <typename Response>
  void Call(const std::string& method, const google::protobuf::Message& request,
            std::function<void(const grpc::Status&, Response&)> on_reply) {
    CallOn<Response>(backends_.ChannelForMethod(method), method, request, outbound_.deadline, std::move(on_reply));
  }

  // The same on a given channel with a given deadline (health checks,
  // whose method belongs to no backend's package).
  template <typename Response>
  void CallOn(std::shared_ptr<grpc::Channel> channel, const std::string& method,
              const google::protobuf::Message& request, std::chrono::system_clock::time_point deadline,
              std::function<void(const grpc::Status&, Response&)> on_reply) {
    auto response = std::make_shared<Response>();
    Start(std::move(channel), method, request, deadline, response,
          [response, on_reply = std::move(on_reply)](const grpc::Status& status) { on_reply(status, *response); });
  }

  // After the last Call.
  void Launch() { LegDone(); }

  FanOut(const Backends& backends, Outbound outbound, std::function<void()> all_done)
      : backends_(backends), outbound_(std::move(outbound)), all_done_(std::move(all_done)) {}

 private:
  void Start(std::shared_ptr<grpc::Channel> channel, const std::string& method,
             const google::protobuf::Message& request, std::chrono::system_clock::time_point deadline,
             std::shared_ptr<google::protobuf::Message> response, std::function<void(const grpc::Status&)> on_reply);
  void Reply(const std::function<void(const grpc::Status&)>& on_reply, const grpc::Status& status);
  void LegDone();

  const Backends& backends_;
  const Outbound outbound_;
  std::function<void()> all_done_;
  absl::Mutex mu_;
  // One for Launch itself, so calls ending before Launch cannot finish early.
  std::atomic<int> pending_{1};
};

}  // namespace crm::gateway
