#pragma once
// The gateway's own RPCs (crm.gateway.v1.GatewayService): views assembled
// from the four services. Each part is asked of its owning service in
// parallel, with the caller's token, so every row-level rule (GW-2) is the
// owning service's; the gateway only assembles. A part whose service fails
// is left empty and listed in `unavailable`, and the rest still comes back
// (GW-3) — except Customer 360's customer itself answering NOT_FOUND,
// PERMISSION_DENIED, INVALID_ARGUMENT or UNAUTHENTICATED, which is the
// answer for the whole view (a customer the caller may not see stays
// invisible).
//
// Each method calls `done` exactly once, on the calling thread (bad input)
// or on a gRPC thread; the response must stay alive until then.

#include <grpcpp/support/status.h>

#include <functional>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "absl/time/time.h"
#include "common/util/clock.h"
#include "crm/gateway/v1/gateway.pb.h"
#include "services/gateway/src/backends.h"
#include "services/gateway/src/fan_out.h"

namespace crm::gateway {

struct ViewsOptions {
  // The business time zone: what "today" and a month are.
  absl::TimeZone zone = absl::UTCTimeZone();
  // How long a backend may take to answer a health check.
  absl::Duration health_timeout = absl::Seconds(2);
};

class Views {
 public:
  using Done = std::function<void(const grpc::Status&)>;
  // At most this many rows per part of a view (the rest: `truncated`).
  static constexpr int kMaxRowsPerPart = 100;

  // `backends` and `clock` must outlive the views.
  Views(const Backends& backends, const Clock& clock, ViewsOptions options)
      : backends_(backends), clock_(clock), options_(options) {}

  void GetSuiteHealth(const Outbound& outbound, const v1::GetSuiteHealthRequest& request, v1::SuiteHealth* health,
                      Done done) const;
  void GetCustomer360(const Outbound& outbound, const v1::GetCustomer360Request& request, v1::Customer360* view,
                      Done done) const;
  void GetMyDay(const Outbound& outbound, const v1::GetMyDayRequest& request, v1::MyDay* view, Done done) const;
  void GetDashboard(const Outbound& outbound, const v1::GetDashboardRequest& request, v1::Dashboard* dashboard,
                    Done done) const;

  // The method of GatewayService named by `method`, with the request and
  // response of its types (the HTTP front's way in).
  void Dispatch(const google::protobuf::MethodDescriptor& method, const Outbound& outbound,
                const google::protobuf::Message& request, google::protobuf::Message* response, Done done) const;

  static bool Serves(const google::protobuf::MethodDescriptor& method);

 private:
  const Backends& backends_;
  const Clock& clock_;
  const ViewsOptions options_;
};

// The headline figures of `dashboard` from the owning services' reports it
// holds (a part listed in `unavailable` gives no figure): pure, for tests.
void FillDashboardFigures(v1::Dashboard& dashboard);

}  // namespace crm::gateway
