#include "common/server/server.h"

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"

namespace crm::server {
namespace {

using HealthStatus = grpc::health::v1::HealthCheckResponse;

HealthStatus::ServingStatus Check(grpc::health::v1::Health::Stub& health, const std::string& service) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  HealthStatus response;
  const grpc::Status status = health.Check(&ctx, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.status();
}

TEST(GrpcServerTest, LivenessStaysServingWhileTheDatabaseIsDown) {
  ServerOptions options;
  options.health_probe_interval = absl::Hours(1);  // the first probe decides
  GrpcServer server(options, {}, {"crm.test.v1.TestService"},
                    [] { return absl::UnavailableError("database down"); });
  auto port = server.Start();
  ASSERT_TRUE(port.ok()) << port.status();
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", *port), grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(channel);

  EXPECT_EQ(Check(*health, ""), HealthStatus::NOT_SERVING);
  EXPECT_EQ(Check(*health, "crm.test.v1.TestService"), HealthStatus::NOT_SERVING);
  EXPECT_EQ(Check(*health, kLivenessServiceName), HealthStatus::SERVING);
}

TEST(GrpcServerTest, LivenessStaysServingAfterReadinessChanges) {
  GrpcServer server(ServerOptions{}, {}, {}, nullptr);  // no probe: SERVING at once
  auto port = server.Start();
  ASSERT_TRUE(port.ok()) << port.status();
  auto health = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", *port), grpc::InsecureChannelCredentials()));
  EXPECT_EQ(Check(*health, ""), HealthStatus::SERVING);
  EXPECT_EQ(Check(*health, kLivenessServiceName), HealthStatus::SERVING);
}

// A client that keeps one connection forever never learns of replicas added
// after it connected; the server closing old connections makes it re-resolve.
TEST(GrpcServerTest, ClosesConnectionsOlderThanTheMaximumAge) {
  ServerOptions options;
  options.max_connection_age = absl::Milliseconds(300);
  options.max_connection_age_grace = absl::Milliseconds(300);
  GrpcServer server(options, {}, {}, nullptr);
  auto port = server.Start();
  ASSERT_TRUE(port.ok()) << port.status();
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", *port), grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(channel);
  ASSERT_EQ(Check(*health, ""), HealthStatus::SERVING);
  ASSERT_EQ(channel->GetState(false), GRPC_CHANNEL_READY);

  // GOAWAY moves the channel out of READY (to IDLE); without the limit it
  // would stay READY for as long as the test waits.
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  grpc_connectivity_state state = GRPC_CHANNEL_READY;
  while (state == GRPC_CHANNEL_READY && absl::Now() < give_up) {
    channel->WaitForStateChange(state, absl::ToChronoTime(give_up));
    state = channel->GetState(false);
  }
  EXPECT_NE(state, GRPC_CHANNEL_READY);
  // And the next call simply reconnects.
  EXPECT_EQ(Check(*health, ""), HealthStatus::SERVING);
}

}  // namespace
}  // namespace crm::server
