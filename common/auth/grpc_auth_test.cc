#include "common/auth/grpc_auth.h"

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <string>

#include "common/auth/token_minter.h"
#include "common/testing/status_matchers.h"
#include "common/util/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"

namespace crm::auth {
namespace {

using ::crm::testing::IsOk;
using ::crm::testing::StatusIs;
using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;

using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

constexpr char kKey[] = "0123456789abcdef0123456789abcdef-test-key";
const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

TEST(BearerTokenFromMetadataTest, ExtractsToken) {
  Metadata metadata = {{"authorization", "Bearer abc.def.ghi"}, {"x-other", "1"}};
  auto token = BearerTokenFromMetadata(metadata);
  ASSERT_THAT(token, IsOk());
  EXPECT_EQ(*token, "abc.def.ghi");

  Metadata lower = {{"authorization", "bearer  abc "}};
  token = BearerTokenFromMetadata(lower);
  ASSERT_THAT(token, IsOk());
  EXPECT_EQ(*token, "abc");
}

TEST(BearerTokenFromMetadataTest, RefusesMissingRepeatedOrOtherSchemes) {
  const auto unauthenticated = StatusIs(absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(BearerTokenFromMetadata({}), unauthenticated);
  EXPECT_THAT(BearerTokenFromMetadata({{"authorization", "Basic dXNlcjpwdw=="}}), unauthenticated);
  EXPECT_THAT(BearerTokenFromMetadata({{"authorization", "Bearer"}}), unauthenticated);
  EXPECT_THAT(BearerTokenFromMetadata({{"authorization", "Bearer   "}}), unauthenticated);
  EXPECT_THAT(BearerTokenFromMetadata({{"authorization", "Bearerabc"}}), unauthenticated);
  EXPECT_THAT(BearerTokenFromMetadata({{"authorization", "Bearer a"}, {"authorization", "Bearer b"}}),
              unauthenticated);
}

// A health service that answers SERVING only to an authenticated caller,
// so the test goes through real gRPC metadata handling.
class AuthenticatedHealth final : public Health::Service {
 public:
  explicit AuthenticatedHealth(const TokenVerifier& verifier) : verifier_(verifier) {}

  grpc::Status Check(grpc::ServerContext* context, const HealthCheckRequest*,
                     HealthCheckResponse* response) override {
    absl::StatusOr<Principal> principal = AuthenticateCall(verifier_, *context);
    if (!principal.ok()) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(principal.status().message()));
    }
    if (principal->subject != "u-1") return grpc::Status(grpc::StatusCode::INTERNAL, "wrong subject");
    response->set_status(HealthCheckResponse::SERVING);
    return grpc::Status::OK;
  }

 private:
  const TokenVerifier& verifier_;
};

class AuthenticateCallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AuthConfig config;
    config.hs256_key = kKey;
    config.issuer = "crm-test";
    config.audience = "crm";
    auto verifier = TokenVerifier::Create(config, clock_);
    ASSERT_THAT(verifier, IsOk());
    verifier_ = *std::move(verifier);
    service_ = std::make_unique<AuthenticatedHealth>(*verifier_);
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = Health::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  grpc::Status Call(const std::string& authorization) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!authorization.empty()) context.AddMetadata("authorization", authorization);
    HealthCheckResponse response;
    return stub_->Check(&context, HealthCheckRequest(), &response);
  }

  FakeClock clock_{kNow};
  std::unique_ptr<TokenVerifier> verifier_;
  std::unique_ptr<AuthenticatedHealth> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Health::Stub> stub_;
};

TEST_F(AuthenticateCallTest, AcceptsValidBearerToken) {
  auto token = MintHs256Token(kKey, "crm-test", "crm", Principal{.subject = "u-1", .role = Role::kManager, .team = ""},
                              kNow, absl::Hours(1));
  ASSERT_THAT(token, IsOk());
  const grpc::Status status = Call("Bearer " + *token);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(AuthenticateCallTest, RefusesMissingAndInvalidTokens) {
  grpc::Status missing = Call("");
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(missing.error_message(), HasSubstr("missing"));

  auto wrong_audience = MintHs256Token(kKey, "crm-test", "billing",
                                       Principal{.subject = "u-1", .role = Role::kManager, .team = ""}, kNow,
                                       absl::Hours(1));
  ASSERT_THAT(wrong_audience, IsOk());
  grpc::Status refused = Call("Bearer " + *wrong_audience);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(refused.error_message(), HasSubstr("audience"));
}

}  // namespace
}  // namespace crm::auth
