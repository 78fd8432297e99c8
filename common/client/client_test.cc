#include "common/client/client.h"

#include <grpcpp/grpcpp.h>

#include <atomic>

#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"
#include "common/testing/status_matchers.h"
#include "crm/bench/v1/echo.grpc.pb.h"
#include "gtest/gtest.h"

namespace crm::client {
namespace {

using ::crm::testing::StatusIs;
using ::testing::HasSubstr;

TEST(RetryServiceConfigTest, RetriesOnlyUnavailable) {
  const std::string config = RetryServiceConfig({});
  EXPECT_THAT(config, HasSubstr(R"("retryableStatusCodes":["UNAVAILABLE"])"));
  EXPECT_THAT(config, HasSubstr(R"("maxAttempts":3)"));
  EXPECT_THAT(config, HasSubstr(R"("loadBalancingConfig":[{"round_robin":{}}])"));
  EXPECT_THAT(config, HasSubstr(R"("initialBackoff":"0.100s")"));
  ChannelOptions many;
  many.max_attempts = 50;
  EXPECT_THAT(RetryServiceConfig(many), HasSubstr(R"("maxAttempts":5)"));
}

TEST(NewContextTest, PropagatesTheDeadlineCapped) {
  const absl::Time soon = absl::Now() + absl::Seconds(2);
  auto ctx = NewContext(Caller{soon, "t"});
  EXPECT_LE(absl::FromChrono(ctx->deadline()), soon + absl::Milliseconds(1));
  EXPECT_GE(absl::FromChrono(ctx->deadline()), soon - absl::Milliseconds(1));
  auto capped = NewContext(Caller{absl::InfiniteFuture(), "t"}, absl::Seconds(5));
  EXPECT_LE(absl::FromChrono(capped->deadline()), absl::Now() + absl::Seconds(5));
}

TEST(PeerErrorTest, NamesThePeerWhenItIsDown) {
  EXPECT_THAT(PeerError("customers service", grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused")),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("customers service unavailable: connection refused")));
  EXPECT_THAT(PeerError("customers service", grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "")),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("customers service")));
  EXPECT_THAT(PeerError("customers service", grpc::Status(grpc::StatusCode::NOT_FOUND, "customers/9 not found")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("customers/9")));
  EXPECT_TRUE(PeerError("x", grpc::Status::OK).ok());
}

// An in-process peer that answers with a scripted status and records what it saw.
class ScriptedEcho final : public bench::v1::Echo::Service {
 public:
  grpc::Status Echo(grpc::ServerContext* ctx, const bench::v1::EchoRequest* req,
                    bench::v1::EchoResponse* resp) override {
    calls++;
    auto caller = CallerOf(*ctx, absl::FromChrono(ctx->deadline()));
    if (caller.ok()) {
      absl::MutexLock lock(&mu);
      seen_token = caller->bearer_token;
      seen_deadline = caller->deadline;
    }
    if (calls <= fail_first) return grpc::Status(fail_code, "scripted failure");
    resp->set_payload(req->payload());
    return grpc::Status::OK;
  }
  std::atomic<int> calls{0};
  int fail_first = 0;
  grpc::StatusCode fail_code = grpc::StatusCode::UNAVAILABLE;
  absl::Mutex mu;
  std::string seen_token ABSL_GUARDED_BY(mu);
  absl::Time seen_deadline ABSL_GUARDED_BY(mu);
};

class ClientCallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&echo_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ChannelOptions options;
    options.initial_backoff = absl::Milliseconds(10);
    stub_ = bench::v1::Echo::NewStub(MakeChannel(absl::StrCat("127.0.0.1:", port_), options));
  }
  void TearDown() override { server_->Shutdown(); }

  grpc::Status Call(const Caller& caller) {
    auto ctx = NewContext(caller);
    bench::v1::EchoRequest req;
    req.set_payload("hi");
    bench::v1::EchoResponse resp;
    return stub_->Echo(ctx.get(), req, &resp);
  }

  ScriptedEcho echo_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<bench::v1::Echo::Stub> stub_;
};

TEST_F(ClientCallTest, ForwardsTokenAndDeadline) {
  const absl::Time deadline = absl::Now() + absl::Seconds(7);
  ASSERT_TRUE(Call(Caller{deadline, "the-callers-jwt"}).ok());
  absl::MutexLock lock(&echo_.mu);
  EXPECT_EQ(echo_.seen_token, "the-callers-jwt");
  EXPECT_LE(absl::AbsDuration(echo_.seen_deadline - deadline), absl::Milliseconds(50));
}

TEST_F(ClientCallTest, RetriesUnavailable) {
  echo_.fail_first = 2;
  EXPECT_TRUE(Call(Caller{absl::Now() + absl::Seconds(5), "t"}).ok());
  EXPECT_EQ(echo_.calls.load(), 3);
}

TEST_F(ClientCallTest, GivesUpAfterMaxAttempts) {
  echo_.fail_first = 100;
  grpc::Status s = Call(Caller{absl::Now() + absl::Seconds(5), "t"});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(echo_.calls.load(), 3);
}

TEST_F(ClientCallTest, NeverRetriesOtherCodes) {
  echo_.fail_first = 1;
  echo_.fail_code = grpc::StatusCode::ABORTED;
  EXPECT_EQ(Call(Caller{absl::Now() + absl::Seconds(5), "t"}).error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(echo_.calls.load(), 1);
}

TEST(ClientReplicasTest, SpreadsCallsAndSkipsAReplicaThatStops) {
  ScriptedEcho echo[2];
  std::unique_ptr<grpc::Server> servers[2];
  std::string addresses;
  for (int i = 0; i < 2; ++i) {
    int port = 0;
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&echo[i]);
    servers[i] = builder.BuildAndStart();
    ASSERT_NE(servers[i], nullptr);
    absl::StrAppend(&addresses, i == 0 ? "ipv4:" : ",", "127.0.0.1:", port);
  }
  ChannelOptions options;
  options.initial_backoff = absl::Milliseconds(10);
  auto stub = bench::v1::Echo::NewStub(MakeChannel(addresses, options));
  auto call = [&] {
    auto ctx = NewContext(Caller{absl::Now() + absl::Seconds(5), "t"});
    bench::v1::EchoRequest req;
    bench::v1::EchoResponse resp;
    return stub->Echo(ctx.get(), req, &resp);
  };
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(call().ok());
  // Round robin: both replicas served (pick_first would send all to one).
  EXPECT_GT(echo[0].calls.load(), 0);
  EXPECT_GT(echo[1].calls.load(), 0);

  // One replica stops (a rolling upgrade): every later call still succeeds.
  servers[0]->Shutdown();
  const int before = echo[1].calls.load();
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(call().ok()) << i;
  EXPECT_EQ(echo[1].calls.load(), before + 20);
  servers[1]->Shutdown();
}

TEST(ClientDownPeerTest, DownPeerIsAClearUnavailable) {
  // Bind a port, then close the server: nothing listens there any more.
  int port = 0;
  {
    ScriptedEcho echo;
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&echo);
    auto server = builder.BuildAndStart();
    server->Shutdown();
  }
  ChannelOptions options;
  options.initial_backoff = absl::Milliseconds(10);
  auto stub = bench::v1::Echo::NewStub(MakeChannel(absl::StrCat("127.0.0.1:", port), options));
  auto ctx = NewContext(Caller{absl::Now() + absl::Seconds(5), "t"});
  bench::v1::EchoRequest req;
  bench::v1::EchoResponse resp;
  const absl::Time start = absl::Now();
  absl::Status s = PeerError("customers service", stub->Echo(ctx.get(), req, &resp));
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("customers service unavailable")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));  // fails fast, not at the deadline
}

}  // namespace
}  // namespace crm::client
