#include "services/gateway/src/grpc_proxy.h"

#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/generic_stub.h>

#include <grpcpp/impl/codegen/server_callback_handlers.h>
#include <grpcpp/impl/rpc_service_method.h>

#include <algorithm>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status/grpc_status.h"

namespace crm::gateway {
namespace {

absl::string_view View(const grpc::string_ref& s) { return absl::string_view(s.data(), s.size()); }

// Whether this gateway was built knowing `full_method` as a streaming method.
bool IsKnownStreaming(absl::string_view full_method) {
  // "/crm.customers.v1.CustomerService/ImportMembers" → "crm.customers.v1.CustomerService.ImportMembers"
  if (!absl::ConsumePrefix(&full_method, "/")) return false;
  std::string name(full_method);
  std::replace(name.begin(), name.end(), '/', '.');
  const google::protobuf::MethodDescriptor* method =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(name);
  return method != nullptr && (method->client_streaming() || method->server_streaming());
}

// What both fronts' reactors share for one forwarded call: the request id
// (the client's or a new one, echoed in the initial metadata), the door,
// the backend call with the caller's token, request id and deadline
// (capped), and the access record.
class ForwardedCall {
 public:
  ForwardedCall(grpc::ServerContextBase* context, Door& door, const ProxyOptions& options)
      : context_(context),
        door_(door),
        options_(options),
        started_(absl::Now()),
        request_id_(RequestIdOrNew(SingleMetadata(context->client_metadata(), kRequestIdKey))) {
    context_->AddInitialMetadata(kRequestIdKey, request_id_);
  }

  // Admits the call and forwards `request` to `backend`; `answer` gets the
  // status to finish with (the backend's reply is then in `response`).
  template <typename Answer>
  void Forward(const Backend& backend, const std::string& method, const grpc::ByteBuffer* request,
               grpc::ByteBuffer* response, Answer answer) {
    const absl::string_view authorization = SingleMetadata(context_->client_metadata(), "authorization");
    absl::StatusOr<auth::Principal> principal = door_.Admit(authorization, method);
    if (!principal.ok()) {
      answer(ToGrpcStatus(principal.status()));
      return;
    }
    subject_ = principal->subject;
    // The backend sees the same token and request id and decides on roles
    // and ownership itself (GW-2).
    const auto cap = std::chrono::system_clock::now() + absl::ToChronoNanoseconds(options_.max_call_duration);
    backend_context_.set_deadline(std::min(context_->deadline(), cap));
    backend_context_.AddMetadata("authorization", std::string(authorization));
    backend_context_.AddMetadata(kRequestIdKey, request_id_);
    grpc::GenericStub stub(backend.channel);
    stub.UnaryCall(&backend_context_, method, grpc::StubOptions(), request, response, std::move(answer));
  }

  // The client went away or its deadline passed: stop the backend call
  // too (safe before it started and after it ended).
  void Cancel() { backend_context_.TryCancel(); }

  void set_code(grpc::StatusCode code) { code_ = code; }

  // One access log line and the metrics; `method` is the label.
  void Record(absl::string_view method) {
    door_.Record({.front = GrpcProxy::kFront,
                  .method = method,
                  .subject = subject_,
                  .request_id = request_id_,
                  .code = static_cast<absl::StatusCode>(code_),
                  .latency = absl::Now() - started_});
  }

 private:
  grpc::ServerContextBase* const context_;
  Door& door_;
  const ProxyOptions& options_;
  const absl::Time started_;
  const std::string request_id_;
  std::string subject_;
  grpc::ClientContext backend_context_;
  grpc::StatusCode code_ = grpc::StatusCode::UNKNOWN;
};

// A unary method the gateway knows: gRPC hands over the request already
// read, so the only reactions are the backend's answer and OnDone.
class ForwardedUnary final : public grpc::ServerUnaryReactor {
 public:
  ForwardedUnary(grpc::CallbackServerContext* context, const std::string& method, const Backend& backend,
                 Door& door, const ProxyOptions& options, const grpc::ByteBuffer* request,
                 grpc::ByteBuffer* response)
      : call_(context, door, options), method_(method) {
    call_.Forward(backend, method, request, response, [this](const grpc::Status& status) {
      call_.set_code(status.error_code());
      Finish(status);
    });
  }

  void OnCancel() override { call_.Cancel(); }

  void OnDone() override {
    call_.Record(method_);
    delete this;
  }

 private:
  ForwardedCall call_;
  const std::string& method_;
};

// Every method UnaryForwardingService does not serve, as a generic bidi
// stream: a method no backend serves and a known streaming method are
// refused; a method of a backend newer than the gateway is forwarded as
// unary once the client's stream is seen to end. Lives until gRPC calls
// OnDone, which comes only after Finish; Finish is called exactly once (on
// a refusal, or when the backend call ends).
class ProxyCall final : public grpc::ServerGenericBidiReactor {
 public:
  ProxyCall(grpc::GenericCallbackServerContext* context, const Backends& backends, Door& door,
            const ProxyOptions& options)
      : context_(context), call_(context, door, options) {
    backend_ = backends.BackendForMethod(context_->method());
    if (backend_ == nullptr) {
      Answer(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                          absl::StrCat("the gateway does not serve ", context_->method())));
      return;
    }
    if (IsKnownStreaming(context_->method())) {
      RefuseStreaming();
      return;
    }
    StartRead(&request_);
  }

  // The request, then the end of the client's stream: a client that sends a
  // second message is calling a streaming method, which a unary forward
  // would silently cut short.
  void OnReadDone(bool ok) override {
    if (!have_request_) {
      if (!ok) {
        Answer(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request message"));
        return;
      }
      have_request_ = true;
      StartRead(&extra_);
      return;
    }
    if (ok) {
      RefuseStreaming();
      return;
    }
    Forward();
  }

  void OnCancel() override { call_.Cancel(); }

  void OnDone() override {
    // Unknown methods share one metrics label (callers choose the names).
    call_.Record(backend_ == nullptr ? absl::string_view("unknown") : absl::string_view(context_->method()));
    delete this;
  }

 private:
  void Forward() {
    call_.Forward(*backend_, context_->method(), &request_, &response_, [this](const grpc::Status& status) {
      if (status.ok()) {
        call_.set_code(grpc::StatusCode::OK);
        StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
      } else {
        Answer(status);
      }
    });
  }

  void RefuseStreaming() {
    Answer(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                        absl::StrCat("the gateway forwards unary calls only; call ", context_->method(),
                                     " on its service")));
  }

  void Answer(const grpc::Status& status) {
    call_.set_code(status.error_code());
    Finish(status);
  }

  grpc::GenericCallbackServerContext* const context_;
  ForwardedCall call_;
  const Backend* backend_ = nullptr;
  bool have_request_ = false;
  grpc::ByteBuffer request_, extra_, response_;
};

}  // namespace

absl::string_view SingleMetadata(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                                 absl::string_view key) {
  auto [first, last] = metadata.equal_range(grpc::string_ref(key.data(), key.size()));
  if (first == last || std::next(first) != last) return {};
  return View(first->second);
}

grpc::ServerGenericBidiReactor* GrpcProxy::CreateReactor(grpc::GenericCallbackServerContext* context) {
  return new ProxyCall(context, backends_, door_, options_);
}

UnaryForwardingService::UnaryForwardingService(const google::protobuf::ServiceDescriptor& service,
                                               const Backend& backend, Door& door, ProxyOptions options)
    : door_(door), options_(options) {
  for (int i = 0; i < service.method_count(); ++i) {
    const google::protobuf::MethodDescriptor* m = service.method(i);
    if (m->client_streaming() || m->server_streaming()) continue;  // refused by GrpcProxy
    // The name is kept by pointer; a deque's elements stay put.
    const std::string& method = methods_.emplace_back(absl::StrCat("/", service.full_name(), "/", m->name()));
    AddMethod(new grpc::internal::RpcServiceMethod(method.c_str(), grpc::internal::RpcMethod::NORMAL_RPC, nullptr));
    MarkMethodRawCallback(
        static_cast<int>(methods_.size()) - 1,
        new grpc::internal::CallbackUnaryHandler<grpc::ByteBuffer, grpc::ByteBuffer>(
            [this, &method, &backend](grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) -> grpc::ServerUnaryReactor* {
              return new ForwardedUnary(context, method, backend, door_, options_, request, response);
            }));
  }
}

std::vector<std::unique_ptr<UnaryForwardingService>> UnaryForwardingService::ForServices(
    const std::vector<const google::protobuf::ServiceDescriptor*>& services, const Backends& backends, Door& door,
    ProxyOptions options) {
  std::vector<std::unique_ptr<UnaryForwardingService>> forwarding;
  for (const google::protobuf::ServiceDescriptor* service : services) {
    for (const Backend& backend : backends.list()) {
      if (backend.package == service->file()->package()) {
        forwarding.push_back(std::make_unique<UnaryForwardingService>(*service, backend, door, options));
      }
    }
  }
  return forwarding;
}

}  // namespace crm::gateway
