#include "common/status/status.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/rpc/error_details.pb.h"

namespace crm {
namespace {
constexpr char kBadRequestUrl[] = "type.googleapis.com/google.rpc.BadRequest";
constexpr char kRetryInfoUrl[] = "type.googleapis.com/google.rpc.RetryInfo";
}  // namespace

absl::Status InvalidArgument(std::vector<FieldViolation> violations) {
  google::rpc::BadRequest bad_request;
  std::vector<std::string> parts;
  for (const FieldViolation& v : violations) {
    auto* out = bad_request.add_field_violations();
    out->set_field(v.field);
    out->set_description(v.description);
    parts.push_back(absl::StrCat(v.field, ": ", v.description));
  }
  absl::Status status(absl::StatusCode::kInvalidArgument, absl::StrJoin(parts, "; "));
  status.SetPayload(kBadRequestUrl, absl::Cord(bad_request.SerializeAsString()));
  return status;
}

absl::Status InvalidField(std::string field, std::string description) {
  return InvalidArgument({{std::move(field), std::move(description)}});
}

std::vector<FieldViolation> FieldViolations(const absl::Status& status) {
  std::vector<FieldViolation> out;
  auto payload = status.GetPayload(kBadRequestUrl);
  if (!payload.has_value()) return out;
  google::rpc::BadRequest bad_request;
  if (!bad_request.ParseFromString(std::string(*payload))) return out;
  for (const auto& v : bad_request.field_violations()) {
    out.push_back({v.field(), v.description()});
  }
  return out;
}

absl::Status ResourceExhaustedRetryAfter(std::string message, absl::Duration retry_delay) {
  if (retry_delay < absl::ZeroDuration()) retry_delay = absl::ZeroDuration();
  google::rpc::RetryInfo info;
  const int64_t seconds = absl::IDivDuration(retry_delay, absl::Seconds(1), &retry_delay);
  info.mutable_retry_delay()->set_seconds(seconds);
  info.mutable_retry_delay()->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(retry_delay)));
  absl::Status status(absl::StatusCode::kResourceExhausted, message);
  status.SetPayload(kRetryInfoUrl, absl::Cord(info.SerializeAsString()));
  return status;
}

std::optional<absl::Duration> RetryDelay(const absl::Status& status) {
  auto payload = status.GetPayload(kRetryInfoUrl);
  if (!payload.has_value()) return std::nullopt;
  google::rpc::RetryInfo info;
  if (!info.ParseFromString(std::string(*payload))) return std::nullopt;
  return absl::Seconds(info.retry_delay().seconds()) + absl::Nanoseconds(info.retry_delay().nanos());
}

absl::Status Violations::ToStatus() const {
  if (list_.empty()) return absl::OkStatus();
  return InvalidArgument(list_);
}

void CheckText(const std::string& value, const std::string& field, size_t max, bool required, Violations& v) {
  if (required && value.empty()) {
    v.Add(field, "required");
  } else if (value.size() > max) {
    v.Add(field, absl::StrCat("at most ", max, " bytes"));
  }
}

}  // namespace crm
