#pragma once
// absl::Status <-> grpc::Status, in one place. Field violations travel as a
// google.rpc.Status with a BadRequest detail in grpc-status-details-bin.

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace crm {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace crm
