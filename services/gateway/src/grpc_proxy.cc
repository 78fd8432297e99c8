#include "services/gateway/src/grpc_proxy.h"

#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/generic_stub.h>

#include <algorithm>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status/grpc_status.h"

namespace crm::gateway {
namespace {

absl::string_view View(const grpc::string_ref& s) { return absl::string_view(s.data(), s.size()); }

// What this gateway was built knowing about a method: kUnary is forwarded
// as soon as its one request message is read; kStreaming is refused; a
// method it does not know (kUnknown: a backend newer than the gateway) is
// forwarded only after the client's stream is seen to end.
enum class MethodKind { kUnary, kStreaming, kUnknown };

MethodKind KindOf(absl::string_view full_method) {
  // "/crm.customers.v1.CustomerService/GetCustomer" → "crm.customers.v1.CustomerService.GetCustomer"
  if (!absl::ConsumePrefix(&full_method, "/")) return MethodKind::kUnknown;
  std::string name(full_method);
  std::replace(name.begin(), name.end(), '/', '.');
  const google::protobuf::MethodDescriptor* method =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(name);
  if (method == nullptr) return MethodKind::kUnknown;
  return method->client_streaming() || method->server_streaming() ? MethodKind::kStreaming : MethodKind::kUnary;
}


// One proxied unary call. Lives until gRPC calls OnDone, which comes only
// after Finish; Finish is called exactly once (on a refusal, or when the
// backend call ends).
class ProxyCall final : public grpc::ServerGenericBidiReactor {
 public:
  ProxyCall(grpc::GenericCallbackServerContext* context, const Backends& backends, Door& door,
            const ProxyOptions& options)
      : context_(context), backends_(backends), door_(door), options_(options), started_(absl::Now()) {
    request_id_ = RequestIdOrNew(SingleMetadata(context_->client_metadata(), kRequestIdKey));
    context_->AddInitialMetadata(kRequestIdKey, request_id_);
    backend_ = backends_.BackendForMethod(context_->method());
    if (backend_ == nullptr) {
      Answer(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                          absl::StrCat("the gateway does not serve ", context_->method())));
      return;
    }
    kind_ = KindOf(context_->method());
    if (kind_ == MethodKind::kStreaming) {
      RefuseStreaming();
      return;
    }
    StartRead(&request_);
  }

  // The request, then (for a method not known to be unary) the end of the
  // client's stream: a client that sends a second message is calling a
  // streaming method, which a unary forward would silently cut short. For a
  // known unary method that read is skipped (one reaction fewer, each run
  // on gRPC's executor thread): a gRPC client sends exactly one request.
  void OnReadDone(bool ok) override {
    if (!have_request_) {
      if (!ok) {
        Answer(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request message"));
        return;
      }
      have_request_ = true;
      if (kind_ == MethodKind::kUnary) {
        Forward();
        return;
      }
      StartRead(&extra_);
      return;
    }
    if (ok) {
      RefuseStreaming();
      return;
    }
    Forward();
  }

 private:
  void Forward() {
    const absl::string_view authorization = SingleMetadata(context_->client_metadata(), "authorization");
    absl::StatusOr<auth::Principal> principal = door_.Admit(authorization, context_->method());
    if (!principal.ok()) {
      Answer(ToGrpcStatus(principal.status()));
      return;
    }
    subject_ = principal->subject;

    // The client's deadline, capped; the backend sees the same token and
    // request id and decides on roles and ownership itself (GW-2).
    const auto cap = std::chrono::system_clock::now() + absl::ToChronoNanoseconds(options_.max_call_duration);
    backend_context_.set_deadline(std::min(context_->deadline(), cap));
    backend_context_.AddMetadata("authorization", std::string(authorization));
    backend_context_.AddMetadata(kRequestIdKey, request_id_);
    grpc::GenericStub stub(backend_->channel);
    stub.UnaryCall(&backend_context_, context_->method(), grpc::StubOptions(), &request_, &response_,
                   [this](grpc::Status status) {
                     if (status.ok()) {
                       code_ = grpc::StatusCode::OK;
                       StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
                     } else {
                       Answer(status);
                     }
                   });
  }


 public:
  // The client went away or its deadline passed: stop the backend call
  // too (safe before it started and after it ended).
  void OnCancel() override { backend_context_.TryCancel(); }

  void OnDone() override {
    const absl::Duration latency = absl::Now() - started_;
    // Unknown methods share one metrics label (callers choose the names).
    door_.Record({.front = GrpcProxy::kFront,
                  .method = backend_ == nullptr ? absl::string_view("unknown") : absl::string_view(context_->method()),
                  .subject = subject_,
                  .request_id = request_id_,
                  .code = static_cast<absl::StatusCode>(code_),
                  .latency = latency});
    delete this;
  }

 private:
  void RefuseStreaming() {
    Answer(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                        absl::StrCat("the gateway forwards unary calls only; call ", context_->method(),
                                     " on its service")));
  }

  void Answer(const grpc::Status& status) {
    code_ = status.error_code();
    Finish(status);
  }

  grpc::GenericCallbackServerContext* const context_;
  const Backends& backends_;
  Door& door_;
  const ProxyOptions& options_;
  const absl::Time started_;
  const Backend* backend_ = nullptr;
  std::string request_id_;
  std::string subject_;
  MethodKind kind_ = MethodKind::kUnknown;
  bool have_request_ = false;
  grpc::ByteBuffer request_, extra_, response_;
  grpc::ClientContext backend_context_;
  grpc::StatusCode code_ = grpc::StatusCode::UNKNOWN;
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


}  // namespace crm::gateway
