#include "common/server/server.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "crm/bench/v1/echo.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/tls/dev_certs.h"

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

// The status of a Check of "" (for calls that are expected to fail).
grpc::StatusCode CheckError(grpc::health::v1::Health::Stub& health) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  HealthStatus response;
  return health.Check(&ctx, grpc::health::v1::HealthCheckRequest(), &response).error_code();
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

// ---- The plaintext health-only port (TLS on the main port) ----

class EchoService final : public bench::v1::Echo::Service {
  grpc::Status Echo(grpc::ServerContext*, const bench::v1::EchoRequest* request,
                    bench::v1::EchoResponse* response) override {
    response->set_payload(request->payload());
    return grpc::Status::OK;
  }
};

grpc::Status CallEcho(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  bench::v1::EchoRequest request;
  request.set_payload("ping");
  bench::v1::EchoResponse response;
  return bench::v1::Echo::NewStub(channel)->Echo(&ctx, request, &response);
}

// ServerReflectionInfo with one list_services request (field 7, ""), sent
// as raw bytes: no reflection stubs are installed. `services` gets the
// response bytes (the service names appear in them as plain strings).
grpc::Status ListServicesByReflection(const std::shared_ptr<grpc::Channel>& channel, std::string* services) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
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

// Polls `check` until it holds or 10 s pass.
template <typename Check>
bool Eventually(Check check) {
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (!check()) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

constexpr char kServiceName[] = "crm.bench.v1.Echo";

// The kubelet's gRPC probes cannot speak TLS; they get a second port.
class HealthPortTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto certs = testing::DevCerts::Create(CRM_DEV_CERTS_SH);
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = certs->release();
  }
  static void TearDownTestSuite() { delete certs_; }

  void SetUp() override {
    ServerOptions options;
    options.tls = certs_->Server("customers", /*require_client_ca=*/true);
    options.health_listen_address = "127.0.0.1:0";
    options.health_probe_interval = absl::Milliseconds(10);
    options.shutdown_grace = absl::Seconds(1);
    server_ = std::make_unique<GrpcServer>(options, std::vector<grpc::Service*>{&echo_},
                                           std::vector<std::string>{kServiceName},
                                           [this]() -> absl::Status {
                                             if (database_up_) return absl::OkStatus();
                                             return absl::UnavailableError("database down");
                                           });
    auto port = server_->Start();
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
    ASSERT_NE(server_->health_port(), 0);
    ASSERT_NE(server_->health_port(), port_);
    health_channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->health_port()),
                                          grpc::InsecureChannelCredentials());
    main_channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_),
                                        tls::ChannelCredentials(certs_->Channel("crmctl")));
  }

  static testing::DevCerts* certs_;
  EchoService echo_;
  std::atomic<bool> database_up_{false};
  std::unique_ptr<GrpcServer> server_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> health_channel_;
  std::shared_ptr<grpc::Channel> main_channel_;
};

testing::DevCerts* HealthPortTest::certs_ = nullptr;

TEST_F(HealthPortTest, PlaintextHealthPortReportsWhatTheMainPortReports) {
  auto probe = grpc::health::v1::Health::NewStub(health_channel_);
  auto main = grpc::health::v1::Health::NewStub(main_channel_);
  // Database down: unready, but alive.
  EXPECT_EQ(Check(*probe, ""), HealthStatus::NOT_SERVING);
  EXPECT_EQ(Check(*probe, kServiceName), HealthStatus::NOT_SERVING);
  EXPECT_EQ(Check(*probe, kLivenessServiceName), HealthStatus::SERVING);
  EXPECT_EQ(Check(*main, ""), HealthStatus::NOT_SERVING);

  // The readiness probe's changes reach both listeners.
  database_up_ = true;
  EXPECT_TRUE(Eventually([&] { return Check(*probe, "") == HealthStatus::SERVING; }));
  EXPECT_EQ(Check(*probe, kServiceName), HealthStatus::SERVING);
  EXPECT_EQ(Check(*probe, kLivenessServiceName), HealthStatus::SERVING);
  EXPECT_EQ(Check(*main, ""), HealthStatus::SERVING);
  EXPECT_EQ(Check(*main, kServiceName), HealthStatus::SERVING);

  database_up_ = false;
  EXPECT_TRUE(Eventually([&] { return Check(*probe, kServiceName) == HealthStatus::NOT_SERVING; }));
  EXPECT_EQ(Check(*probe, kLivenessServiceName), HealthStatus::SERVING);
}

TEST_F(HealthPortTest, HealthPortServesNothingButHealth) {
  EXPECT_EQ(CallEcho(health_channel_).error_code(), grpc::StatusCode::UNIMPLEMENTED);
  std::string services;
  EXPECT_EQ(ListServicesByReflection(health_channel_, &services).error_code(), grpc::StatusCode::UNIMPLEMENTED);
  // Both are served on the main port, to a client with a certificate.
  EXPECT_TRUE(CallEcho(main_channel_).ok());
  services.clear();
  const grpc::Status listed = ListServicesByReflection(main_channel_, &services);
  EXPECT_TRUE(listed.ok()) << listed.error_message();
  EXPECT_NE(services.find(kServiceName), std::string::npos);
}

TEST_F(HealthPortTest, MainPortStillRefusesPlaintext) {
  auto plaintext = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
  EXPECT_EQ(CallEcho(plaintext).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(CheckError(*grpc::health::v1::Health::NewStub(plaintext)), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(HealthPortTest, HealthPortStopsWithTheServer) {
  auto probe = grpc::health::v1::Health::NewStub(health_channel_);
  database_up_ = true;
  ASSERT_TRUE(Eventually([&] { return Check(*probe, "") == HealthStatus::SERVING; }));
  server_->Shutdown();
  EXPECT_EQ(CheckError(*probe), grpc::StatusCode::UNAVAILABLE);
}

// Draining: NOT_SERVING on the health port while the main port still serves.
TEST(GrpcServerHealthPortTest, ReportsNotServingOnTheHealthPortWhileDraining) {
  ServerOptions options;
  options.health_listen_address = "127.0.0.1:0";
  options.shutdown_drain = absl::Seconds(2);
  EchoService echo;
  GrpcServer server(options, {&echo}, {}, nullptr);
  auto port = server.Start();
  ASSERT_TRUE(port.ok()) << port.status();
  auto probe = grpc::health::v1::Health::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", server.health_port()), grpc::InsecureChannelCredentials()));
  auto main = grpc::CreateChannel(absl::StrCat("127.0.0.1:", *port), grpc::InsecureChannelCredentials());
  ASSERT_EQ(Check(*probe, kLivenessServiceName), HealthStatus::SERVING);
  ASSERT_TRUE(CallEcho(main).ok());

  std::thread stopping([&] { server.Shutdown(); });
  EXPECT_TRUE(Eventually([&] { return Check(*probe, "") == HealthStatus::NOT_SERVING; }));
  EXPECT_TRUE(CallEcho(main).ok());  // still inside the drain
  stopping.join();
  EXPECT_EQ(CallEcho(main).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(CheckError(*probe), grpc::StatusCode::UNAVAILABLE);
}

// ---- Graceful stop: calls in flight get the grace period, then are cancelled ----

// Echo that holds a call with the payload "block" until the test releases it
// or the server cancels it.
class HoldingEchoService final : public bench::v1::Echo::Service {
 public:
  absl::Notification entered;
  absl::Notification release;
  std::atomic<bool> saw_cancellation{false};

 private:
  grpc::Status Echo(grpc::ServerContext* context, const bench::v1::EchoRequest* request,
                    bench::v1::EchoResponse* response) override {
    if (request->payload() != "block") {
      response->set_payload(request->payload());
      return grpc::Status::OK;
    }
    entered.Notify();
    // The sync API has no cancellation callback; a database wait in a real
    // handler ends by its own deadline instead.
    while (!release.WaitForNotificationWithTimeout(absl::Milliseconds(5))) {
      if (context->IsCancelled()) {
        saw_cancellation = true;
        return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the server");
      }
    }
    response->set_payload("released");
    return grpc::Status::OK;
  }
};

struct HeldCall {
  grpc::Status status;
  std::string payload;
  absl::Notification done;
};

// Starts a "block" call with a deadline far beyond the test's waits.
std::thread StartHeldCall(const std::shared_ptr<grpc::Channel>& channel, HeldCall& call) {
  return std::thread([channel, &call] {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    bench::v1::EchoRequest request;
    request.set_payload("block");
    bench::v1::EchoResponse response;
    call.status = bench::v1::Echo::NewStub(channel)->Echo(&ctx, request, &response);
    call.payload = response.payload();
    call.done.Notify();
  });
}

class GrpcServerShutdownTest : public ::testing::Test {
 protected:
  // Starts a server with `grace` and one call on it that the service holds.
  void StartWithHeldCall(absl::Duration grace) {
    ServerOptions options;
    options.shutdown_grace = grace;
    server_ = std::make_unique<GrpcServer>(options, std::vector<grpc::Service*>{&echo_},
                                           std::vector<std::string>{}, nullptr);
    auto port = server_->Start();
    ASSERT_TRUE(port.ok()) << port.status();
    address_ = absl::StrCat("127.0.0.1:", *port);
    caller_ = StartHeldCall(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()), call_);
    ASSERT_TRUE(echo_.entered.WaitForNotificationWithTimeout(absl::Seconds(10)));
  }

  void TearDown() override {
    if (!echo_.release.HasBeenNotified()) echo_.release.Notify();
    if (server_ != nullptr) server_->Shutdown();
    if (caller_.joinable()) caller_.join();
  }

  HoldingEchoService echo_;
  std::unique_ptr<GrpcServer> server_;
  std::string address_;
  HeldCall call_;
  std::thread caller_;
};

TEST_F(GrpcServerShutdownTest, ACallInFlightFinishesWithinTheGrace) {
  ASSERT_NO_FATAL_FAILURE(StartWithHeldCall(absl::Seconds(60)));

  std::thread stopping([&] { server_->Shutdown(); });
  // The listener is closed once the stop has begun: a new connection fails.
  EXPECT_TRUE(Eventually([&] {
    return CallEcho(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials())).error_code() ==
           grpc::StatusCode::UNAVAILABLE;
  }));
  EXPECT_FALSE(call_.done.HasBeenNotified());  // still held, not cut off
  echo_.release.Notify();
  caller_.join();
  stopping.join();
  EXPECT_TRUE(call_.status.ok()) << call_.status.error_message();
  EXPECT_EQ(call_.payload, "released");
  EXPECT_FALSE(echo_.saw_cancellation);
}

TEST_F(GrpcServerShutdownTest, CallsStillRunningWhenTheGraceEndsAreCancelled) {
  ASSERT_NO_FATAL_FAILURE(StartWithHeldCall(absl::Milliseconds(200)));

  server_->Shutdown();  // returns only once the held call has ended
  EXPECT_TRUE(echo_.saw_cancellation);
  caller_.join();
  EXPECT_FALSE(call_.status.ok());
  EXPECT_NE(call_.payload, "released");
}

}  // namespace
}  // namespace crm::server
