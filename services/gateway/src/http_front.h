#pragma once
// The gateway's HTTP/JSON front (cpp-httplib): every route of HttpRoutes is
// checked at the door (bearer token, rate limit, metrics), sent to the
// owning backend as the RPC it declares (Authorization forwarded, deadline
// capped, X-Request-Id taken or made, forwarded and returned) and answered
// in JSON, with one access log line. Also GET /openapi.json, /metrics
// (Prometheus text) and /healthz. HTTPS when options.tls is enabled.

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/tls/tls.h"
#include "services/gateway/src/backends.h"
#include "services/gateway/src/door.h"
#include "services/gateway/src/http_routes.h"
#include "services/gateway/src/views.h"

namespace httplib {
class Server;
}

namespace crm::gateway {

struct HttpFrontOptions {
  // The longest a forwarded call may run.
  absl::Duration max_call_duration = absl::Seconds(30);
  // Enabled: HTTPS only, with the gRPC listener's certificate; with a
  // client CA, clients must present a certificate (as on gRPC).
  tls::ServerTls tls;
};

class HttpFront {
 public:
  // `routes`, `backends`, `door` and `views` must outlive the front.
  // Routes of crm.gateway.v1.GatewayService are answered by `views` in
  // process (no second hop, no second pass through the door).
  HttpFront(const HttpRoutes& routes, const Backends& backends, Door& door, const Views& views,
            HttpFrontOptions options);
  ~HttpFront();
  HttpFront(const HttpFront&) = delete;
  HttpFront& operator=(const HttpFront&) = delete;

  // Listens on `host`:`port` (0: a free port) in a thread of its own and
  // returns the bound port.
  absl::StatusOr<int> Start(const std::string& host, int port);
  // Stops listening and waits for the thread; also done by the destructor.
  void Stop();

  // One API request (a route of HttpRoutes): what Start's server answers.
  // `request_id` is the one the reply carries (X-Request-Id).
  JsonReply Handle(absl::string_view http_method, absl::string_view target, absl::string_view body,
                   absl::string_view authorization, absl::string_view request_id);

 private:
  const HttpRoutes& routes_;
  const Backends& backends_;
  Door& door_;
  const Views& views_;
  const HttpFrontOptions options_;
  const std::string openapi_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace crm::gateway
