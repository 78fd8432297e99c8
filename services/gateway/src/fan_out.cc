#include "services/gateway/src/fan_out.h"

#include <grpcpp/client_context.h>
#include <grpcpp/generic/generic_stub.h>

#include <vector>

#include "services/gateway/src/door.h"

namespace crm::gateway {
namespace {

// One call in flight: what gRPC needs alive until its callback.
struct Leg {
  grpc::ClientContext context;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
};

bool ParseByteBuffer(const grpc::ByteBuffer& buffer, google::protobuf::Message& message) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return false;
  std::string bytes;
  for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return message.ParseFromString(bytes);
}

}  // namespace

std::shared_ptr<FanOut> FanOut::Create(const Backends& backends, Outbound outbound, std::function<void()> all_done) {
  return std::make_shared<FanOut>(backends, std::move(outbound), std::move(all_done));
}

void FanOut::Start(std::shared_ptr<grpc::Channel> channel, const std::string& method,
                   const google::protobuf::Message& request, std::chrono::system_clock::time_point deadline,
                   std::shared_ptr<google::protobuf::Message> response,
                   std::function<void(const grpc::Status&)> on_reply) {
  pending_.fetch_add(1);
  if (channel == nullptr) {
    Reply(on_reply, grpc::Status(grpc::StatusCode::UNIMPLEMENTED, absl::StrCat("no backend serves ", method)));
    LegDone();
    return;
  }
  auto leg = std::make_shared<Leg>();
  leg->context.set_deadline(deadline);
  leg->context.AddMetadata("authorization", outbound_.authorization);
  leg->context.AddMetadata(kRequestIdKey, outbound_.request_id);
  const std::string bytes = request.SerializeAsString();
  grpc::Slice slice(bytes);
  leg->request = grpc::ByteBuffer(&slice, 1);
  grpc::GenericStub stub(channel);
  stub.UnaryCall(&leg->context, method, grpc::StubOptions(), &leg->request, &leg->response,
                 [self = shared_from_this(), leg, response, on_reply = std::move(on_reply)](grpc::Status status) {
                   if (status.ok() && !ParseByteBuffer(leg->response, *response)) {
                     status = grpc::Status(grpc::StatusCode::INTERNAL, "unreadable reply from the backend");
                   }
                   self->Reply(on_reply, status);
                   self->LegDone();
                 });
}

void FanOut::Reply(const std::function<void(const grpc::Status&)>& on_reply, const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  on_reply(status);
}

void FanOut::LegDone() {
  if (pending_.fetch_sub(1) == 1) all_done_();
}

}  // namespace crm::gateway
