#include "services/crmctl/rpc.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace crm::crmctl {

std::shared_ptr<grpc::Channel> Invocation::Channel() {
  if (!channel_) {
    std::shared_ptr<grpc::ChannelCredentials> credentials =
        options_.tls.enabled() ? tls::ChannelCredentials(options_.tls)
        : options_.insecure    ? grpc::InsecureChannelCredentials()
                               : grpc::SslCredentials(grpc::SslCredentialsOptions());
    channel_ = grpc::CreateChannel(options_.address, credentials);
  }
  return channel_;
}

void Invocation::Prepare(grpc::ClientContext& context) const {
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(options_.timeout));
  if (!options_.token.empty()) context.AddMetadata("authorization", "Bearer " + options_.token);
}

int Invocation::UsageError(absl::string_view message) {
  err_ << "crmctl: " << message << "\n";
  return kExitUsage;
}

void PrintMessage(const google::protobuf::Message& message, bool pretty, std::ostream& out) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) {
    // Only possible for messages with unresolvable Any payloads.
    json = "{}";
  }
  while (!json.empty() && json.back() == '\n') json.pop_back();
  out << json << "\n";
}

void PrintRpcError(const grpc::Status& status, std::ostream& err) {
  // grpc::StatusCode and absl::StatusCode share the canonical numbering.
  err << "ERROR " << absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()))
      << ": " << status.error_message() << "\n";
  google::rpc::Status details;
  if (status.error_details().empty() || !details.ParseFromString(status.error_details())) return;
  for (const google::protobuf::Any& detail : details.details()) {
    google::rpc::BadRequest bad_request;
    if (!detail.UnpackTo(&bad_request)) continue;
    for (const auto& violation : bad_request.field_violations()) {
      err << "  " << violation.field() << ": " << violation.description() << "\n";
    }
  }
}

absl::Status ParseJsonArg(const std::string& json, google::protobuf::Message& message) {
  std::string text = json;
  if (!json.empty() && json[0] == '@') {
    std::ifstream file(json.substr(1), std::ios::binary);
    if (!file) return absl::InvalidArgumentError(absl::StrCat("cannot read ", json.substr(1)));
    std::ostringstream contents;
    contents << file.rdbuf();
    text = contents.str();
  }
  const auto status = google::protobuf::util::JsonStringToMessage(text, &message);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("not a valid ", message.GetTypeName(),
                                                   " in JSON: ", status.message().as_string()));
  }
  return absl::OkStatus();
}

std::vector<std::string_view> WithPaging(std::vector<std::string_view> flags) {
  flags.insert(flags.end(), kPaging.begin(), kPaging.end());
  return flags;
}

absl::StatusOr<int32_t> PageSizeArg(const Args& args) {
  std::optional<std::string> size = args.Get("page-size");
  if (!size) return 0;
  int32_t n = 0;
  if (!absl::SimpleAtoi(*size, &n) || n < 0) {
    return absl::InvalidArgumentError("--page-size must be a non-negative integer");
  }
  return n;
}

absl::Status ParseTimeArg(const Args& args, std::string_view flag, google::protobuf::Timestamp& timestamp) {
  const std::string text = *args.Get(flag);
  if (!google::protobuf::util::TimeUtil::FromString(text, &timestamp)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", std::string(flag), " must be an RFC 3339 time such as 2024-05-01T00:00:00+08:00, got \"",
        text, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> ParseEnumArg(const Args& args, std::string_view flag,
                                 const google::protobuf::EnumDescriptor& descriptor) {
  const google::protobuf::EnumValueDescriptor* value =
      descriptor.FindValueByName(absl::AsciiStrToUpper(*args.Get(flag)));
  if (value != nullptr && value->number() != 0) return value->number();
  std::vector<std::string> names;
  for (int i = 0; i < descriptor.value_count(); ++i) {
    if (descriptor.value(i)->number() != 0) names.push_back(descriptor.value(i)->name());
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--", std::string(flag), " must be one of ", absl::StrJoin(names, ", ")));
}

absl::StatusOr<int32_t> ParseIntArg(const Args& args, std::string_view flag, int32_t min, int32_t max) {
  int32_t n = 0;
  if (!absl::SimpleAtoi(*args.Get(flag), &n) || n < min || n > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", std::string(flag), " must be an integer from ", min, " to ", max));
  }
  return n;
}

absl::Status FirstError(std::initializer_list<absl::Status> steps) {
  for (const absl::Status& s : steps) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace crm::crmctl
