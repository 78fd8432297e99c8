#include "common/server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <grpcpp/resource_quota.h>
#include <signal.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/server/request_parse_errors.h"
#include "common/util/log.h"

namespace crm::server {
namespace {

// Drops the builder plugins (server reflection is one, registered for every
// server of the process), so the health-only listener serves nothing else.
class NoPlugins final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override { plugins->clear(); }
};

// Health requests and responses are a service name and an enum.
constexpr int kHealthMaxMessageBytes = 4096;

}  // namespace

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
  CaptureRequestParseErrors();
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(MakeRequestParseErrorInterceptorFactory(service_names_));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));

  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.listen_address));
  }
  if (absl::Status health = StartHealthServer(); !health.ok()) {
    server_->Shutdown();
    server_->Wait();
    server_.reset();
    return health;
  }
  // Not serving until the first probe succeeds. Naming each service once
  // registers it; later changes go to all services (and "") in one call, so
  // watchers see exactly one update per change.
  for (grpc::HealthCheckServiceInterface* health : HealthServices()) {
    for (const std::string& name : service_names_) health->SetServingStatus(name, false);
    health->SetServingStatus(false);
    health->SetServingStatus(kLivenessServiceName, true);
  }
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
  if (health_server_ != nullptr) {
    log::Info("listening for health checks only",
              {{"address", options_.health_listen_address}, {"port", absl::StrCat(health_port_)}, {"tls", "off"}});
  }
  return port;
}

absl::Status GrpcServer::StartHealthServer() {
  if (options_.health_listen_address.empty()) return absl::OkStatus();
  // The default health service (EnableDefaultHealthCheckService) is the
  // only service: NoPlugins removes reflection, and every other method
  // reaches the UNIMPLEMENTED fallback.
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options_.health_listen_address, grpc::InsecureServerCredentials(), &health_port_);
  builder.SetOption(std::make_unique<NoPlugins>());
  builder.RegisterCallbackGenericService(&health_server_unknown_methods_);
  builder.SetMaxReceiveMessageSize(kHealthMaxMessageBytes);
  health_server_ = builder.BuildAndStart();
  if (health_server_ == nullptr || health_port_ == 0) {
    health_server_.reset();
    health_port_ = 0;
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.health_listen_address));
  }
  return absl::OkStatus();
}

std::vector<grpc::HealthCheckServiceInterface*> GrpcServer::HealthServices() const {
  std::vector<grpc::HealthCheckServiceInterface*> result = {server_->GetHealthCheckService()};
  if (health_server_ != nullptr) result.push_back(health_server_->GetHealthCheckService());
  return result;
}

void GrpcServer::SetServing(bool serving) {
  if (serving == last_serving_) return;
  last_serving_ = serving;
  for (grpc::HealthCheckServiceInterface* health : HealthServices()) {
    health->SetServingStatus(serving);
    // The call above set every name, liveness included; a probe (a Check,
    // not a Watch) sees liveness NOT_SERVING only between these two lines.
    health->SetServingStatus(kLivenessServiceName, true);
  }
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
  for (grpc::HealthCheckServiceInterface* health : HealthServices()) health->Shutdown();
  log::Info("health", {{"status", "NOT_SERVING"}, {"reason", "shutting down"}});
  if (options_.shutdown_drain > absl::ZeroDuration()) absl::SleepFor(options_.shutdown_drain);
  const auto deadline = absl::ToChronoTime(absl::Now() + options_.shutdown_grace);
  server_->Shutdown(deadline);
  server_->Wait();
  server_.reset();
  // Last: probes keep getting NOT_SERVING (not a refused connection) while
  // the main listener's calls finish.
  if (health_server_ != nullptr) {
    health_server_->Shutdown(deadline);
    health_server_->Wait();
    health_server_.reset();
  }
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
