#include "services/gateway/src/http_front.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <chrono>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/status/grpc_status.h"

namespace crm::gateway {

namespace gpb = google::protobuf;

namespace {

constexpr char kJson[] = "application/json";
// HTTP connections served at once (each blocks a worker while it is open).
constexpr size_t kHttpWorkers = 64;

// One unary call by method name on `channel`, with serialized messages.
grpc::Status CallUnary(grpc::Channel& channel, grpc::ClientContext& context, const std::string& method,
                       const std::string& request, std::string& response) {
  grpc::GenericStub stub(std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  grpc::CompletionQueue cq;
  grpc::Slice slice(request);
  grpc::ByteBuffer request_buffer(&slice, 1);
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> call =
      stub.PrepareUnaryCall(&context, method, request_buffer, &cq);
  call->StartCall();
  grpc::ByteBuffer response_buffer;
  grpc::Status status;
  call->Finish(&response_buffer, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  if (!status.ok()) return status;
  std::vector<grpc::Slice> slices;
  if (!response_buffer.Dump(&slices).ok()) return grpc::Status(grpc::INTERNAL, "unreadable reply");
  response.clear();
  for (const grpc::Slice& s : slices) response.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return status;
}

}  // namespace

HttpFront::HttpFront(const HttpRoutes& routes, const Backends& backends, Door& door, const Views& views,
                     HttpFrontOptions options)
    : routes_(routes),
      backends_(backends),
      door_(door),
      views_(views),
      options_(options),
      openapi_(routes.RenderOpenApi()) {}

HttpFront::~HttpFront() { Stop(); }

JsonReply HttpFront::Handle(absl::string_view http_method, absl::string_view target, absl::string_view body,
                            absl::string_view authorization, absl::string_view request_id) {
  const absl::Time start = absl::Now();
  std::string subject;
  auto finish = [&](absl::string_view method, const grpc::Status& status, JsonReply reply) {
    door_.Record({.front = "http", .method = method, .subject = subject, .request_id = request_id,
                  .code = static_cast<absl::StatusCode>(status.error_code()), .latency = absl::Now() - start});
    return reply;
  };
  size_t question = target.find('?');
  absl::string_view path = target.substr(0, question);
  absl::string_view query = question == absl::string_view::npos ? absl::string_view() : target.substr(question + 1);
  auto call = routes_.Route(std::string_view(http_method.data(), http_method.size()),
                            std::string_view(path.data(), path.size()),
                            std::string_view(query.data(), query.size()),
                            std::string_view(body.data(), body.size()));
  if (!call.ok()) return finish("unrouted", ToGrpcStatus(call.status()), ErrorReply(call.status()));
  auto principal = door_.Admit(authorization, call->grpc_method);
  if (!principal.ok()) {
    return finish(call->grpc_method, ToGrpcStatus(principal.status()), ErrorReply(principal.status()));
  }
  subject = principal->subject;
  const Outbound outbound{.authorization = std::string(authorization),
                          .request_id = std::string(request_id),
                          .subject = subject,
                          .deadline = std::chrono::system_clock::now() +
                                      absl::ToChronoMilliseconds(options_.max_call_duration)};
  std::unique_ptr<gpb::Message> response(
      gpb::MessageFactory::generated_factory()->GetPrototype(call->method->output_type())->New());
  grpc::Status status;
  if (Views::Serves(*call->method)) {
    absl::Notification answered;
    views_.Dispatch(*call->method, outbound, *call->request, response.get(), [&](const grpc::Status& s) {
      status = s;
      answered.Notify();
    });
    answered.WaitForNotification();
  } else if (std::shared_ptr<grpc::Channel> channel = backends_.ChannelForMethod(call->grpc_method)) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", outbound.authorization);
    context.AddMetadata(kRequestIdKey, outbound.request_id);
    context.set_deadline(outbound.deadline);
    std::string response_bytes;
    status = CallUnary(*channel, context, call->grpc_method, call->request->SerializeAsString(), response_bytes);
    if (status.ok() && !response->ParseFromString(response_bytes)) {
      status = grpc::Status(grpc::INTERNAL, "unreadable reply from the backend");
    }
  } else {
    status = grpc::Status(grpc::UNIMPLEMENTED, "no backend serves this method");
  }
  return finish(call->grpc_method, status, status.ok() ? JsonReply{200, MessageToJson(*response)} : ErrorReply(status));
}

absl::StatusOr<int> HttpFront::Start(const std::string& host, int port) {
  if (options_.tls.enabled()) {
    absl::Status configured;
    server_ = std::make_unique<httplib::SSLServer>([&](SSL_CTX& context) {
      configured = tls::ConfigureServerContext(context, options_.tls);
      return configured.ok();
    });
    if (!server_->is_valid()) {
      return configured.ok() ? absl::InternalError("cannot create the HTTPS server") : configured;
    }
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  // Replies go out as headers then body; without TCP_NODELAY the body waits
  // for the client's delayed ACK (~40 ms per call on a kept-alive
  // connection). cpp-httplib's defaults (8 workers, 5 requests per
  // connection) would also cap a portal at a few hundred calls a second.
  server_->set_tcp_nodelay(true);
  server_->set_keep_alive_max_count(10000);
  server_->new_task_queue = [] { return new httplib::ThreadPool(kHttpWorkers); };
  auto api = [this](const httplib::Request& req, httplib::Response& res) {
    const std::string request_id = RequestIdOrNew(req.get_header_value("X-Request-Id"));
    JsonReply reply = Handle(req.method, req.target, req.body, req.get_header_value("Authorization"), request_id);
    res.set_header("X-Request-Id", request_id);
    res.status = reply.http_status;
    res.set_content(reply.body, kJson);
  };
  server_->Get("/openapi.json", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(openapi_, kJson);
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(door_.RenderPrometheus(), "text/plain; version=0.0.4");
  });
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"status\":\"SERVING\"}", kJson);
  });
  server_->Get(".*", api);
  server_->Post(".*", api);
  server_->Put(".*", api);
  server_->Patch(".*", api);
  server_->Delete(".*", api);
  int bound = port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (bound < 0) return absl::UnavailableError(absl::StrCat("cannot listen on ", host, ":", port));
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() before the loop runs would be lost: wait until it runs.
  while (!server_->is_running()) std::this_thread::yield();
  return bound;
}

void HttpFront::Stop() {
  if (server_ != nullptr) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace crm::gateway
