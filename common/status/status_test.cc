#include "common/status/status.h"

#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "common/testing/status_matchers.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace crm {
namespace {

using ::crm::testing::HasFieldViolation;
using ::crm::testing::IsOk;
using ::crm::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(StatusTest, InvalidArgumentCarriesEveryViolation) {
  Violations v;
  v.Add("customer.credit_code", "bad check digit");
  v.Add("customer.phone", "not a phone number");
  absl::Status s = v.ToStatus();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("credit_code")));
  EXPECT_THAT(FieldViolations(s),
              ElementsAre(FieldViolation{"customer.credit_code", "bad check digit"},
                          FieldViolation{"customer.phone", "not a phone number"}));
}

TEST(StatusTest, EmptyViolationsIsOk) { EXPECT_THAT(Violations().ToStatus(), IsOk()); }

// Found by tests/fuzz (crm_fuzz_gateway_http): a violation echoing client
// bytes that are not UTF-8 made the BadRequest unparsable, so the client got
// INVALID_ARGUMENT naming no field.
TEST(StatusTest, ViolationsOfTextThatIsNotUtf8StillReachTheClient) {
  absl::Status s = InvalidField("colour\xff\xfe", "\"\xe9\x97\" is not a number");
  EXPECT_THAT(FieldViolations(s), ElementsAre(FieldViolation{"colour\uFFFD\uFFFD", "\"\uFFFD\uFFFD\" is not a number"}));
  EXPECT_EQ(ValidUtf8("福州\xe5\x85"), "福州\uFFFD\uFFFD");
  EXPECT_EQ(ValidUtf8("\xed\xa0\x80ok\xc0\xaf"), "\uFFFD\uFFFD\uFFFDok\uFFFD\uFFFD");
}

TEST(GrpcStatusTest, InvalidArgumentBecomesBadRequestDetail) {
  grpc::Status g = ToGrpcStatus(InvalidField("customer.name", "required"));
  EXPECT_EQ(g.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::Status rpc;
  ASSERT_TRUE(rpc.ParseFromString(g.error_details()));
  ASSERT_EQ(rpc.details_size(), 1);
  google::rpc::BadRequest bad;
  ASSERT_TRUE(rpc.details(0).UnpackTo(&bad));
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).field(), "customer.name");
}

TEST(GrpcStatusTest, RoundTripKeepsCodeMessageAndFields) {
  absl::Status back = FromGrpcStatus(ToGrpcStatus(InvalidField("a.b", "why")));
  EXPECT_THAT(back, HasFieldViolation("a.b"));
  EXPECT_THAT(FromGrpcStatus(ToGrpcStatus(absl::AbortedError("etag mismatch"))),
              StatusIs(absl::StatusCode::kAborted, "etag mismatch"));
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(GrpcStatusTest, RetryAfterBecomesRetryInfoDetail) {
  grpc::Status g = ToGrpcStatus(ResourceExhaustedRetryAfter("slow down", absl::Milliseconds(1500)));
  EXPECT_EQ(g.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  google::rpc::Status rpc;
  ASSERT_TRUE(rpc.ParseFromString(g.error_details()));
  ASSERT_EQ(rpc.details_size(), 1);
  google::rpc::RetryInfo info;
  ASSERT_TRUE(rpc.details(0).UnpackTo(&info));
  EXPECT_EQ(info.retry_delay().seconds(), 1);
  EXPECT_EQ(info.retry_delay().nanos(), 500000000);
  absl::Status back = FromGrpcStatus(g);
  EXPECT_THAT(back, StatusIs(absl::StatusCode::kResourceExhausted, "slow down"));
  EXPECT_EQ(RetryDelay(back), absl::Milliseconds(1500));
  EXPECT_EQ(RetryDelay(absl::ResourceExhaustedError("no hint")), std::nullopt);
}

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("odd");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int half, Half(x));
  ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

absl::Status CheckEven(int x) {
  RETURN_IF_ERROR(Half(x).status());
  return absl::OkStatus();
}

TEST(StatusMacrosTest, PropagateFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_THAT(Quarter(6), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CheckEven(3), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CheckEven(4), IsOk());
}

}  // namespace
}  // namespace crm
