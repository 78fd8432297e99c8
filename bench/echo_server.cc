// echo_server: the gRPC baseline for crm_bench. A sync server with the same
// transport settings as the services (common/server/server.cc: thread cap
// through a ResourceQuota, message size limits) and nothing behind it, so
// GetCustomer QPS / echo QPS says how much of the machine the service's own
// work (auth, SQL, proto mapping) takes.
//
//   echo_server --listen_address=127.0.0.1:0 --port_file=/tmp/echo.port
//
// Stops on SIGTERM or SIGINT.
#include <grpcpp/grpcpp.h>
#include <grpcpp/resource_quota.h>
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "crm/bench/v1/echo.grpc.pb.h"

ABSL_FLAG(std::string, listen_address, "127.0.0.1:0", "host:port to serve on (port 0: any free port)");
ABSL_FLAG(std::string, port_file, "", "write the bound port here once listening");
ABSL_FLAG(int, max_threads, 32, "gRPC server thread cap (the services' default)");
ABSL_FLAG(int, max_message_bytes, 8 << 20, "largest request or response message");

namespace {

class EchoService final : public crm::bench::v1::Echo::Service {
  grpc::Status Echo(grpc::ServerContext*, const crm::bench::v1::EchoRequest* request,
                    crm::bench::v1::EchoResponse* response) override {
    response->set_payload(request->payload());
    return grpc::Status::OK;
  }
};

void WritePortFile(const std::string& path, int port) {
  if (path.empty()) return;
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << port << "\n";
  std::filesystem::rename(tmp, path);
}

}  // namespace

int main(int argc, char** argv) {
  // Before any gRPC thread exists, so only sigwait below sees these.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::SetProgramUsageMessage("echo_server: trivial gRPC echo service (crm_bench baseline)");
  absl::ParseCommandLine(argc, argv);

  EchoService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen_address), grpc::InsecureServerCredentials(),
                           &port);
  builder.SetMaxReceiveMessageSize(absl::GetFlag(FLAGS_max_message_bytes));
  builder.SetMaxSendMessageSize(absl::GetFlag(FLAGS_max_message_bytes));
  grpc::ResourceQuota quota("crm-bench-echo");
  quota.SetMaxThreads(absl::GetFlag(FLAGS_max_threads));
  builder.SetResourceQuota(quota);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "echo_server: cannot listen on %s\n",
                 absl::GetFlag(FLAGS_listen_address).c_str());
    return 1;
  }
  WritePortFile(absl::GetFlag(FLAGS_port_file), port);
  std::printf("echo_server: listening on port %d\n", port);
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server->Wait();
  return 0;
}
