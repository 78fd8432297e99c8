#include "common/status/grpc_status.h"

#include "common/status/status.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace crm {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  std::vector<FieldViolation> violations = FieldViolations(status);
  const std::optional<absl::Duration> retry_delay = RetryDelay(status);
  if (violations.empty() && !retry_delay.has_value()) return grpc::Status(code, std::string(status.message()));

  google::rpc::Status rpc_status;
  rpc_status.set_code(static_cast<int>(code));
  rpc_status.set_message(std::string(status.message()));
  if (!violations.empty()) {
    google::rpc::BadRequest bad_request;
    for (const FieldViolation& v : violations) {
      auto* out = bad_request.add_field_violations();
      out->set_field(v.field);
      out->set_description(v.description);
    }
    rpc_status.add_details()->PackFrom(bad_request);
  }
  if (retry_delay.has_value()) {
    google::rpc::RetryInfo retry_info;
    absl::Duration rest = *retry_delay;
    retry_info.mutable_retry_delay()->set_seconds(absl::IDivDuration(rest, absl::Seconds(1), &rest));
    retry_info.mutable_retry_delay()->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(rest)));
    rpc_status.add_details()->PackFrom(retry_info);
  }
  return grpc::Status(code, std::string(status.message()), rpc_status.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  google::rpc::Status rpc_status;
  if (!status.error_details().empty() && rpc_status.ParseFromString(status.error_details())) {
    for (const auto& detail : rpc_status.details()) {
      google::rpc::BadRequest bad_request;
      if (code == absl::StatusCode::kInvalidArgument && detail.UnpackTo(&bad_request)) {
        std::vector<FieldViolation> violations;
        for (const auto& v : bad_request.field_violations()) {
          violations.push_back({v.field(), v.description()});
        }
        if (!violations.empty()) return InvalidArgument(std::move(violations));
      }
      google::rpc::RetryInfo retry_info;
      if (code == absl::StatusCode::kResourceExhausted && detail.UnpackTo(&retry_info)) {
        return ResourceExhaustedRetryAfter(status.error_message(),
                                           absl::Seconds(retry_info.retry_delay().seconds()) +
                                               absl::Nanoseconds(retry_info.retry_delay().nanos()));
      }
    }
  }
  return absl::Status(code, status.error_message());
}

}  // namespace crm
