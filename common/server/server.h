#pragma once
// Runs a gRPC server the same way in every service: health (grpc.health.v1,
// NOT_SERVING while the readiness probe fails), server reflection, message
// size limits, a thread cap, and graceful shutdown with a deadline; on
// request also a plaintext health-only port for probes that cannot do TLS.

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/tls/tls.h"

namespace crm::server {

struct ServerOptions {
  std::string listen_address = "127.0.0.1:0";
  // Sync-server thread cap. gRPC's sync server needs a thread per running
  // call and answers RESOURCE_EXHAUSTED (it does not queue) when the cap is
  // reached, so the cap is the overload shedding point, not a queue: it is
  // set a few times above the DB pool, and calls beyond the pool wait for a
  // connection until their deadline. 0 = derived from the pool size
  // (ThreadCapForPool).
  int max_threads = 0;
  // Idle threads kept waiting for calls. gRPC's default of 2 makes every
  // thread above it exit after its call and a new one start for the next:
  // thousands of thread creations a second under load.
  int max_pollers = 0;  // 0 = max_threads / 4
  int max_message_bytes = 8 * 1024 * 1024;
  absl::Duration shutdown_grace = absl::Seconds(10);
  // Between NOT_SERVING and the end of accepting calls (see Shutdown).
  absl::Duration shutdown_drain = absl::ZeroDuration();
  absl::Duration health_probe_interval = absl::Seconds(1);
  // Off (plaintext) unless it holds a certificate; with a client CA the
  // listener requires client certificates (mutual TLS).
  tls::ServerTls tls;
  // Connections are closed (GOAWAY, then `max_connection_age_grace` for
  // calls in flight) after this age, so clients re-resolve DNS and spread
  // onto replicas added by a scale-up. Zero = never.
  absl::Duration max_connection_age = absl::ZeroDuration();
  absl::Duration max_connection_age_grace = absl::Seconds(10);
  // Non-empty: a second, plaintext listener that serves grpc.health.v1 only
  // (no business services, no reflection), with the same statuses as the
  // main one: the kubelet's native gRPC probes cannot speak TLS.
  std::string health_listen_address;
};

// Health service name that is SERVING for as long as the process runs,
// whatever the database does: the liveness probe asks for it, so a database
// outage makes replicas unready but never restarts them.
inline constexpr char kLivenessServiceName[] = "crm.liveness";

// The thread cap that goes with a pool of `pool_size` DB connections.
int ThreadCapForPool(int pool_size);

class GrpcServer {
 public:
  // `readiness` is polled every health_probe_interval (e.g. a DB ping);
  // `service_names` are the fully qualified services whose health is reported
  // besides the overall "".
  GrpcServer(ServerOptions options, std::vector<grpc::Service*> services,
             std::vector<std::string> service_names, std::function<absl::Status()> readiness);
  ~GrpcServer();

  // Serves every method no registered service has (the gateway's proxy).
  // Before Start(); `service` must outlive the server.
  void SetGenericService(grpc::CallbackGenericService* service) { generic_service_ = service; }

  // Binds and starts serving; returns the bound port (listen on port 0 in tests).
  absl::StatusOr<int> Start();
  // The bound port of the health-only listener after Start(); 0 without one.
  int health_port() const { return health_port_; }
  // Reports NOT_SERVING at once, keeps serving for `shutdown_drain` (so
  // load balancers polling health stop sending new calls first), then stops
  // accepting calls, lets running calls finish until the grace deadline,
  // and cancels the rest.
  void Shutdown();

 private:
  void ProbeLoop();
  void SetServing(bool serving);
  absl::Status StartHealthServer();
  // Every listener's health service (the main one, and the health-only one).
  std::vector<grpc::HealthCheckServiceInterface*> HealthServices() const;

  ServerOptions options_;
  std::vector<grpc::Service*> services_;
  std::vector<std::string> service_names_;
  std::function<absl::Status()> readiness_;
  grpc::CallbackGenericService* generic_service_ = nullptr;
  std::unique_ptr<grpc::Server> server_;
  // The health-only listener's one registered service: it answers every
  // method UNIMPLEMENTED, and gives gRPC the callback service it requires
  // before it will start a server (the health service comes later).
  grpc::CallbackGenericService health_server_unknown_methods_;
  std::unique_ptr<grpc::Server> health_server_;
  int health_port_ = 0;
  absl::Notification stop_probe_;
  std::thread probe_thread_;
  bool last_serving_ = false;
};

// Call first thing in main (before any thread starts) so SIGTERM/SIGINT are
// delivered only to WaitForTerminationSignal.
void BlockTerminationSignals();
// Blocks until SIGTERM or SIGINT; returns the signal number.
int WaitForTerminationSignal();

}  // namespace crm::server
