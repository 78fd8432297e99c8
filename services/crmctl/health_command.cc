// crmctl health: grpc.health.v1 Check; exit 0 only when SERVING.

#include "grpc/health/v1/health.grpc.pb.h"
#include "services/crmctl/command.h"
#include "services/crmctl/rpc.h"

namespace crm::crmctl {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

int CheckHealth(Invocation& inv) {
  HealthCheckRequest request;
  request.set_service(inv.args().GetOr("service", ""));
  grpc::ClientContext context;
  inv.Prepare(context);
  HealthCheckResponse response;
  const grpc::Status status = Health::NewStub(inv.Channel())->Check(&context, request, &response);
  if (!status.ok()) {
    PrintRpcError(status, inv.err());
    return kExitFailed;
  }
  inv.out() << HealthCheckResponse::ServingStatus_Name(response.status()) << "\n";
  return response.status() == HealthCheckResponse::SERVING ? kExitOk : kExitFailed;
}

}  // namespace

std::vector<CommandSpec> HealthCommands() {
  return {{.path = {"health"},
           .positional = {},
           .required_flags = {},
           .optional_flags = {"service"},
           .summary = "SERVING or NOT_SERVING (exit 0 only when SERVING); --service "
                      "crm.customers.v1.CustomerService checks one service",
           .run = &CheckHealth}};
}

}  // namespace crm::crmctl
