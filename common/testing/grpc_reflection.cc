#include "common/testing/grpc_reflection.h"

#include <grpcpp/generic/generic_stub.h>

#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace crm::testing {

grpc::Status ListServicesByReflection(const std::shared_ptr<grpc::Channel>& channel, std::string* services) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  // ServerReflectionRequest{list_services: ""}: field 7, length 0.
  grpc::Slice slice(std::string("\x3a\x00", 2));
  const grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::Status result;
  absl::Notification done;
  stub.UnaryCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", grpc::StubOptions(),
                 &request, &response, [&](grpc::Status status) {
                   result = std::move(status);
                   done.Notify();
                 });
  done.WaitForNotification();
  std::vector<grpc::Slice> slices;
  if (result.ok() && response.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) services->append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return result;
}

}  // namespace crm::testing
