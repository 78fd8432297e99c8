#pragma once
// crm.gateway.v1.GatewayService on the gateway's gRPC front: each call
// passes the door (token, rate limit) like a forwarded one, gets a request
// id and a capped deadline, is answered by Views, and leaves its metrics
// and access log line.

#include <grpcpp/support/server_callback.h>

#include <functional>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "crm/gateway/v1/gateway.grpc.pb.h"
#include "services/gateway/src/door.h"
#include "services/gateway/src/views.h"

namespace crm::gateway {

class GatewayService final : public v1::GatewayService::CallbackService {
 public:
  // `views` and `door` must outlive the service.
  GatewayService(const Views& views, Door& door, absl::Duration max_call_duration)
      : views_(views), door_(door), max_call_duration_(max_call_duration) {}

  grpc::ServerUnaryReactor* GetSuiteHealth(grpc::CallbackServerContext* context,
                                           const v1::GetSuiteHealthRequest* request,
                                           v1::SuiteHealth* response) override;
  grpc::ServerUnaryReactor* GetCustomer360(grpc::CallbackServerContext* context,
                                           const v1::GetCustomer360Request* request,
                                           v1::Customer360* response) override;
  grpc::ServerUnaryReactor* GetMyDay(grpc::CallbackServerContext* context, const v1::GetMyDayRequest* request,
                                     v1::MyDay* response) override;
  grpc::ServerUnaryReactor* GetDashboard(grpc::CallbackServerContext* context,
                                         const v1::GetDashboardRequest* request,
                                         v1::Dashboard* response) override;

 private:
  using Run = std::function<void(const Outbound&, Views::Done)>;
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context, absl::string_view method, Run run);

  const Views& views_;
  Door& door_;
  const absl::Duration max_call_duration_;
};

}  // namespace crm::gateway
