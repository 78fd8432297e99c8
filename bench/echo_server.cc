// echo_server: the gRPC baseline for crm_bench. The services' own server
// runner (common/server: thread cap, pollers, message limits, health,
// reflection) with a trivial service and no database behind it, so
// GetCustomer QPS / echo QPS says how much of the machine the service's own
// work (auth, SQL, proto mapping) takes. On gRPC's callback API, as
// GetCustomer is, answering inline: the cheapest call this gRPC serves
// (bench/README.md, "Callback API for the two hot calls").
//
//   echo_server --listen_address=127.0.0.1:0 --port_file=/tmp/echo.port
//
// Stops on SIGTERM or SIGINT.
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <string>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/server/server.h"
#include "common/server/service_config.h"
#include "crm/bench/v1/echo.grpc.pb.h"

// The services' own flags (common/server/service_config.cc).
ABSL_DECLARE_FLAG(std::string, listen_address);
ABSL_DECLARE_FLAG(std::string, port_file);
ABSL_DECLARE_FLAG(int, max_threads);

namespace {

class EchoService final : public crm::bench::v1::Echo::CallbackService {
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context, const crm::bench::v1::EchoRequest* request,
                                 crm::bench::v1::EchoResponse* response) override {
    response->set_payload(request->payload());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

}  // namespace

int main(int argc, char** argv) {
  crm::server::BlockTerminationSignals();
  absl::SetProgramUsageMessage("echo_server: trivial gRPC echo service (crm_bench baseline)");
  absl::ParseCommandLine(argc, argv);

  EchoService service;
  crm::server::ServerOptions options;
  options.listen_address = absl::GetFlag(FLAGS_listen_address);
  // 0: the services' default for their default pool of 32 connections.
  options.max_threads = absl::GetFlag(FLAGS_max_threads) > 0 ? absl::GetFlag(FLAGS_max_threads)
                                                             : crm::server::ThreadCapForPool(32);
  crm::server::GrpcServer server(options, {&service}, {"crm.bench.v1.Echo"}, nullptr);
  auto port = server.Start();
  if (!port.ok()) {
    std::fprintf(stderr, "echo_server: %s\n", port.status().ToString().c_str());
    return 1;
  }
  crm::server::WritePortFile(absl::GetFlag(FLAGS_port_file), *port);
  crm::server::WaitForTerminationSignal();
  server.Shutdown();
  return 0;
}
