// Unit tests of the gateway's door (no network): method routing, the
// per-principal token buckets on a fake clock, the bearer token check and
// the Prometheus text rendering.
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/auth/token_minter.h"
#include "common/auth/token_verifier.h"
#include "common/status/status.h"
#include "common/testing/status_matchers.h"
#include "common/util/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/gateway/src/backends.h"
#include "services/gateway/src/door.h"
#include "services/gateway/src/metrics.h"
#include "services/gateway/src/rate_limiter.h"

namespace crm::gateway {
namespace {

using crm::testing::IsOk;
using crm::testing::StatusIs;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

TEST(BackendsTest, RoutesByPackage) {
  EXPECT_EQ(PackageOfMethod("/crm.customers.v1.CustomerService/GetCustomer"), "crm.customers.v1");
  EXPECT_EQ(PackageOfMethod("crm.customers.v1.CustomerService/GetCustomer"), "");
  EXPECT_EQ(PackageOfMethod("/CustomerService/GetCustomer"), "");
  EXPECT_EQ(PackageOfMethod("/crm.customers.v1.CustomerService/"), "");
  EXPECT_EQ(PackageOfMethod("/crm.customers.v1.CustomerService/Get/More"), "");

  const Backends backends = Backends::Connect({});
  ASSERT_EQ(backends.list().size(), 4u);
  const Backend* b = backends.BackendForMethod("/crm.scheduling.v1.SchedulingService/BookVisit");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->name, "scheduling");
  EXPECT_EQ(b->address, "127.0.0.1:50054");
  EXPECT_NE(backends.ChannelForMethod("/crm.complaints.v1.ComplaintService/GetComplaint"), nullptr);
  // The internal event feeds and unknown packages are not routed.
  EXPECT_EQ(backends.ChannelForMethod("/crm.events.v1.EventFeed/ReadEvents"), nullptr);
  EXPECT_EQ(backends.ChannelForMethod("/crm.customers.v2.CustomerService/GetCustomer"), nullptr);
  EXPECT_EQ(backends.ChannelForMethod("/grpc.health.v1.Health/Check"), nullptr);
}

TEST(RateLimiterTest, BurstThenRefillAtRate) {
  FakeClock clock(kStart);
  RateLimiter limiter(/*rate_per_second=*/5, /*burst=*/5, clock);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.TryAcquire("mgr-li"), std::nullopt) << i;
  // Empty: the next token is 1/5 s away.
  EXPECT_THAT(limiter.TryAcquire("mgr-li"), Optional(absl::Milliseconds(200)));
  // Another subject has its own bucket.
  EXPECT_EQ(limiter.TryAcquire("mgr-wang"), std::nullopt);

  clock.Advance(absl::Milliseconds(100));
  EXPECT_THAT(limiter.TryAcquire("mgr-li"), Optional(absl::Milliseconds(100)));
  clock.Advance(absl::Milliseconds(100));
  EXPECT_EQ(limiter.TryAcquire("mgr-li"), std::nullopt);
  EXPECT_NE(limiter.TryAcquire("mgr-li"), std::nullopt);

  // A long pause refills to the burst, not beyond.
  clock.Advance(absl::Hours(1));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.TryAcquire("mgr-li"), std::nullopt) << i;
  EXPECT_NE(limiter.TryAcquire("mgr-li"), std::nullopt);
}

TEST(RateLimiterTest, IdleBucketsAreForgotten) {
  FakeClock clock(kStart);
  RateLimiter limiter(10, 10, clock);
  for (int i = 0; i < 2000; ++i) limiter.TryAcquire(absl::StrCat("user-", i));
  EXPECT_EQ(limiter.tracked_keys(), 2000u);
  clock.Advance(absl::Minutes(1));
  limiter.TryAcquire("fresh");
  EXPECT_EQ(limiter.tracked_keys(), 1u);
}

class DoorTest : public ::testing::Test {
 protected:
  static constexpr char kKey[] = "door-test-hs256-key-0123456789abcdef";
  DoorTest() : clock_(kStart) {
    auth::AuthConfig config;
    config.hs256_key = kKey;
    config.issuer = "crm-test";
    config.audience = "crm";
    auto v = auth::TokenVerifier::Create(config, clock_);
    EXPECT_TRUE(v.ok()) << v.status();
    verifier_ = *std::move(v);
    door_ = std::make_unique<Door>(*verifier_, DoorOptions{.rate_limit_per_second = 1, .rate_limit_burst = 2},
                                   clock_);
  }
  std::string Bearer(const auth::Principal& p, absl::string_view audience = "crm") {
    auto token = auth::MintHs256Token(kKey, "crm-test", std::string_view(audience.data(), audience.size()), p,
                                      clock_.Now(), absl::Minutes(5));
    EXPECT_TRUE(token.ok()) << token.status();
    return absl::StrCat("Bearer ", *token);
  }

  FakeClock clock_;
  std::unique_ptr<auth::TokenVerifier> verifier_;
  std::unique_ptr<Door> door_;
};

TEST_F(DoorTest, AdmitsValidTokenAndRateLimitsPerSubject) {
  const auth::Principal li{"mgr-li", auth::Role::kManager, "east"};
  const std::string m = "/crm.customers.v1.CustomerService/GetCustomer";
  auto admitted = door_->Admit(Bearer(li), m);
  ASSERT_THAT(admitted.status(), IsOk());
  EXPECT_EQ(admitted->subject, "mgr-li");
  EXPECT_THAT(door_->Admit(Bearer(li), m).status(), IsOk());
  absl::Status over = door_->Admit(Bearer(li), m).status();
  EXPECT_THAT(over, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(RetryDelay(over), Optional(absl::Seconds(1)));
  EXPECT_THAT(door_->Admit(Bearer({"mgr-wang", auth::Role::kManager, "east"}), m).status(), IsOk());
  clock_.Advance(absl::Seconds(1));
  EXPECT_THAT(door_->Admit(Bearer(li), m).status(), IsOk());
}

TEST_F(DoorTest, RefusesMissingOrBadTokens) {
  const auth::Principal li{"mgr-li", auth::Role::kManager, "east"};
  const std::string m = "/crm.customers.v1.CustomerService/GetCustomer";
  EXPECT_THAT(door_->Admit("", m).status(), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(door_->Admit("Basic dXNlcjpwdw==", m).status(), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(door_->Admit("Bearer ", m).status(), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(door_->Admit(Bearer(li, "not-crm"), m).status(), StatusIs(absl::StatusCode::kUnauthenticated));
  std::string tampered = Bearer(li);
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  EXPECT_THAT(door_->Admit(tampered, m).status(), StatusIs(absl::StatusCode::kUnauthenticated));
  // The scheme is case-insensitive.
  std::string lower = Bearer(li);
  lower[0] = 'b';
  EXPECT_THAT(door_->Admit(lower, m).status(), IsOk());
}

std::vector<std::string> Lines(const std::string& text) { return absl::StrSplit(text, '\n', absl::SkipEmpty()); }

TEST(MetricsTest, RendersPrometheusTextFormat) {
  Metrics metrics;
  const std::string m = "/crm.customers.v1.CustomerService/GetCustomer";
  metrics.Record("grpc", m, absl::StatusCode::kOk, absl::Milliseconds(3));
  metrics.Record("grpc", m, absl::StatusCode::kOk, absl::Milliseconds(30));
  metrics.Record("grpc", m, absl::StatusCode::kNotFound, absl::Seconds(20));
  const std::vector<std::string> lines = Lines(metrics.RenderPrometheus());
  const std::string labels = "front=\"grpc\",method=\"/crm.customers.v1.CustomerService/GetCustomer\"";

  EXPECT_THAT(lines, Contains("# TYPE crm_gateway_requests_total counter"));
  EXPECT_THAT(lines, Contains("crm_gateway_requests_total{" + labels + ",code=\"OK\"} 2"));
  EXPECT_THAT(lines, Contains("crm_gateway_requests_total{" + labels + ",code=\"NOT_FOUND\"} 1"));
  EXPECT_THAT(lines, Contains("# TYPE crm_gateway_request_errors_total counter"));
  EXPECT_THAT(lines, Contains("crm_gateway_request_errors_total{" + labels + ",code=\"NOT_FOUND\"} 1"));
  EXPECT_THAT(lines, Not(Contains(HasSubstr("crm_gateway_request_errors_total{" + labels + ",code=\"OK\"}"))));
  EXPECT_THAT(lines, Contains("# TYPE crm_gateway_request_duration_seconds histogram"));
  // Buckets are cumulative; 20 s falls only in +Inf.
  EXPECT_THAT(lines, Contains("crm_gateway_request_duration_seconds_bucket{" + labels + ",le=\"0.001\"} 0"));
  EXPECT_THAT(lines, Contains("crm_gateway_request_duration_seconds_bucket{" + labels + ",le=\"0.005\"} 1"));
  EXPECT_THAT(lines, Contains("crm_gateway_request_duration_seconds_bucket{" + labels + ",le=\"0.05\"} 2"));
  EXPECT_THAT(lines, Contains("crm_gateway_request_duration_seconds_bucket{" + labels + ",le=\"10\"} 2"));
  EXPECT_THAT(lines, Contains("crm_gateway_request_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} 3"));
  EXPECT_THAT(lines, Contains(::testing::StartsWith("crm_gateway_request_duration_seconds_sum{" + labels + "} 20.03")));
  EXPECT_THAT(lines, Contains("crm_gateway_request_duration_seconds_count{" + labels + "} 3"));
  // Every line is a comment or "name{labels} value".
  for (const std::string& line : lines) {
    if (line[0] == '#') continue;
    EXPECT_THAT(line, ::testing::MatchesRegex(R"re(crm_gateway_[a-z_]+\{[^}]*\} [0-9.e+-]+)re")) << line;
  }
}

TEST(MetricsTest, EscapesLabelValuesAndBoundsMethods) {
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  Metrics metrics;
  for (size_t i = 0; i < Metrics::kMaxMethods + 10; ++i) {
    metrics.Record("grpc", absl::StrCat("/x.v1.S/M", i), absl::StatusCode::kUnimplemented, absl::Milliseconds(1));
  }
  const std::string text = metrics.RenderPrometheus();
  EXPECT_THAT(text, HasSubstr("crm_gateway_requests_total{front=\"grpc\",method=\"other\",code=\"UNIMPLEMENTED\"} 10"));
}

}  // namespace
}  // namespace crm::gateway
