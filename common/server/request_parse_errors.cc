#include "common/server/request_parse_errors.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/stubs/logging.h>

#include <deque>
#include <mutex>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status/grpc_status.h"
#include "common/status/status.h"

namespace crm::server {
namespace {

namespace pb = google::protobuf;

// protobuf 3.21, wire_format_lite.cc (PrintUTF8ErrorLog).
constexpr absl::string_view kUtf8Prefix = "String field '";
constexpr absl::string_view kUtf8Suffix = "' contains invalid UTF-8 data when parsing";

thread_local std::string invalid_utf8_field;
pb::LogHandler* previous_handler = nullptr;

void RecordParseErrors(pb::LogLevel level, const char* filename, int line, const std::string& message) {
  absl::string_view text = message;
  if (absl::ConsumePrefix(&text, kUtf8Prefix)) {
    size_t end = text.find(kUtf8Suffix);
    if (end != absl::string_view::npos) {
      // A client's bad input, answered to that client; not a server fault
      // worth a log line.
      invalid_utf8_field = std::string(text.substr(0, end));
      return;
    }
  }
  if (previous_handler != nullptr) previous_handler(level, filename, line, message);
}

absl::Status InvalidUtf8(const pb::Descriptor& root, const std::string& full_name, absl::string_view where) {
  return InvalidField(FieldPathFrom(root, full_name), absl::StrCat("must be valid UTF-8", where));
}

class RequestParseErrorInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit RequestParseErrorInterceptor(const pb::Descriptor& request_type) : request_type_(request_type) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      std::string field = TakeInvalidUtf8Field();
      grpc::Status status = methods->GetSendStatus();
      // A parse failure gives no message: INTERNAL on the sync API,
      // UNIMPLEMENTED on the callback API (gRPC 1.51 answers a request it
      // could not parse as if the method had no handler). A handler's own
      // errors always carry a message.
      const bool parse_failure = status.error_message().empty() &&
                                 (status.error_code() == grpc::StatusCode::INTERNAL ||
                                  status.error_code() == grpc::StatusCode::UNIMPLEMENTED);
      if (!field.empty() && parse_failure) {
        methods->ModifySendStatus(ToGrpcStatus(InvalidUtf8(request_type_, field, "")));
      }
    }
    methods->Proceed();
  }

 private:
  const pb::Descriptor& request_type_;
};

class RequestParseErrorInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RequestParseErrorInterceptorFactory(const std::vector<std::string>& service_names) {
    for (const std::string& service_name : service_names) {
      const pb::ServiceDescriptor* service = pb::DescriptorPool::generated_pool()->FindServiceByName(service_name);
      if (service == nullptr) continue;
      for (int i = 0; i < service->method_count(); ++i) {
        const pb::MethodDescriptor* method = service->method(i);
        request_types_.emplace(absl::StrCat("/", service->full_name(), "/", method->name()), method->input_type());
      }
    }
  }

  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    // Built once, read-only afterwards: no lock on the call path. Other
    // methods (health, reflection, the gateway's raw proxy) go uninspected.
    auto it = request_types_.find(info->method());
    if (it == request_types_.end()) return nullptr;
    return new RequestParseErrorInterceptor(*it->second);
  }

 private:
  absl::flat_hash_map<std::string, const pb::Descriptor*> request_types_;
};

}  // namespace

void CaptureRequestParseErrors() {
  static std::once_flag once;
  std::call_once(once, [] { previous_handler = pb::SetLogHandler(&RecordParseErrors); });
}

std::string TakeInvalidUtf8Field() { return std::exchange(invalid_utf8_field, std::string()); }

std::string FieldPathFrom(const pb::Descriptor& root, absl::string_view full_name) {
  struct Reached {
    const pb::Descriptor* type;
    std::string path;
  };
  std::deque<Reached> queue{{&root, ""}};
  absl::flat_hash_set<const pb::Descriptor*> seen{&root};
  while (!queue.empty()) {
    Reached at = std::move(queue.front());
    queue.pop_front();
    for (int i = 0; i < at.type->field_count(); ++i) {
      const pb::FieldDescriptor* field = at.type->field(i);
      std::string path = at.path.empty() ? field->name() : absl::StrCat(at.path, ".", field->name());
      if (field->full_name() == full_name) return path;
      const pb::Descriptor* child = field->message_type();
      if (child != nullptr && seen.insert(child).second) queue.push_back({child, std::move(path)});
    }
  }
  size_t dot = full_name.rfind('.');
  return std::string(dot == absl::string_view::npos ? full_name : full_name.substr(dot + 1));
}

absl::Status StreamEndStatus(const pb::Descriptor& message_type, int64_t messages_read) {
  std::string field = TakeInvalidUtf8Field();
  if (field.empty()) return absl::OkStatus();
  return InvalidUtf8(message_type, field, absl::StrCat(" (message ", messages_read, " of the stream)"));
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeRequestParseErrorInterceptorFactory(
    const std::vector<std::string>& service_names) {
  return std::make_unique<RequestParseErrorInterceptorFactory>(service_names);
}

}  // namespace crm::server
