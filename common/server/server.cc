#include "common/server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <signal.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/util/log.h"

namespace crm::server {

int ThreadCapForPool(int pool_size) {
  // Four calls per connection may be in flight (one on the connection, the
  // rest waiting for one), plus the pollers and health checks.
  return 4 * pool_size + 8;
}

GrpcServer::GrpcServer(ServerOptions options, std::vector<grpc::Service*> services,
                       std::vector<std::string> service_names,
                       std::function<absl::Status()> readiness)
    : options_(std::move(options)),
      services_(std::move(services)),
      service_names_(std::move(service_names)),
      readiness_(std::move(readiness)) {}

GrpcServer::~GrpcServer() { Shutdown(); }

absl::StatusOr<int> GrpcServer::Start() {
#ifdef NDEBUG
  // Debian's Abseil is built with the mutex deadlock detector on; it keeps a
  // lock graph on every acquisition. Debug builds (and tests) keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options_.listen_address, tls::ServerCredentials(options_.tls), &port);
  builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
  builder.SetMaxSendMessageSize(options_.max_message_bytes);
  if (options_.max_connection_age > absl::ZeroDuration()) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                               static_cast<int>(absl::ToInt64Milliseconds(options_.max_connection_age)));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                               static_cast<int>(absl::ToInt64Milliseconds(options_.max_connection_age_grace)));
  }
  const int max_threads = options_.max_threads > 0 ? options_.max_threads : ThreadCapForPool(8);
  const int max_pollers = options_.max_pollers > 0 ? options_.max_pollers : std::max(2, max_threads / 4);
  grpc::ResourceQuota quota("crm-server");
  quota.SetMaxThreads(max_threads);
  builder.SetResourceQuota(quota);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 2);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, max_pollers);
  for (grpc::Service* service : services_) builder.RegisterService(service);
  if (generic_service_ != nullptr) builder.RegisterCallbackGenericService(generic_service_);

  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.listen_address));
  }
  // Not serving until the first probe succeeds. Naming each service once
  // registers it; later changes go to all services (and "") in one call, so
  // watchers see exactly one update per change.
  for (const std::string& name : service_names_) {
    server_->GetHealthCheckService()->SetServingStatus(name, false);
  }
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->GetHealthCheckService()->SetServingStatus(kLivenessServiceName, true);
  last_serving_ = false;
  if (readiness_) {
    SetServing(readiness_().ok());
    probe_thread_ = std::thread([this] { ProbeLoop(); });
  } else {
    SetServing(true);
  }
  log::Info("listening", {{"address", options_.listen_address},
                         {"port", absl::StrCat(port)},
                         {"tls", !options_.tls.enabled()                    ? "off"
                                 : options_.tls.requires_client_certificate() ? "mutual"
                                                                              : "on"}});
  return port;
}

void GrpcServer::SetServing(bool serving) {
  if (serving == last_serving_) return;
  last_serving_ = serving;
  server_->GetHealthCheckService()->SetServingStatus(serving);
  // The call above set every name, liveness included; a probe (a Check, not
  // a Watch) sees liveness NOT_SERVING only between these two lines.
  server_->GetHealthCheckService()->SetServingStatus(kLivenessServiceName, true);
  log::Info("health", {{"status", serving ? "SERVING" : "NOT_SERVING"}});
}

void GrpcServer::ProbeLoop() {
  while (!stop_probe_.WaitForNotificationWithTimeout(options_.health_probe_interval)) {
    SetServing(readiness_().ok());
  }
}

void GrpcServer::Shutdown() {
  if (server_ == nullptr) return;
  if (!stop_probe_.HasBeenNotified()) stop_probe_.Notify();
  if (probe_thread_.joinable()) probe_thread_.join();
  // Tell load balancers first, give them time to notice, then drain.
  server_->GetHealthCheckService()->Shutdown();
  log::Info("health", {{"status", "NOT_SERVING"}, {"reason", "shutting down"}});
  if (options_.shutdown_drain > absl::ZeroDuration()) absl::SleepFor(options_.shutdown_drain);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + options_.shutdown_grace));
  server_->Wait();
  server_.reset();
  log::Info("stopped");
}

void BlockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForTerminationSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

}  // namespace crm::server
