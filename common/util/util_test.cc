#include "absl/strings/escaping.h"
#include "common/testing/status_matchers.h"
#include "common/util/clock.h"
#include "common/util/page_token.h"
#include "common/util/resource_name.h"
#include "gtest/gtest.h"

namespace crm {
namespace {

using ::crm::testing::HasFieldViolation;
using ::crm::testing::StatusIs;
using ::testing::ElementsAre;

TEST(PageTokenTest, RoundTripsCursor) {
  PageTokenCodec codec("secret");
  std::string token = codec.Encode("list|owner=a", "42");
  EXPECT_NE(token.find("42"), 0u);
  EXPECT_EQ(*codec.Decode("list|owner=a", token), "42");
  EXPECT_EQ(*codec.Decode("list|owner=a", ""), "");
}

TEST(PageTokenTest, TamperedTokenIsRejected) {
  PageTokenCodec codec("secret");
  std::string token = codec.Encode("q", "100");
  // Change the cursor inside the token: the MAC no longer matches.
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &raw));
  raw.back() = '9';
  EXPECT_THAT(codec.Decode("q", absl::WebSafeBase64Escape(raw)), HasFieldViolation("page_token"));
  // And a flipped bit in the MAC.
  std::string tampered = token;
  tampered[3] = tampered[3] == 'A' ? 'B' : 'A';
  EXPECT_THAT(codec.Decode("q", tampered), HasFieldViolation("page_token"));
  EXPECT_THAT(codec.Decode("q", "not base64 !!"), HasFieldViolation("page_token"));
}

TEST(PageTokenTest, TokenOfAnotherQueryOrKeyIsRejected) {
  PageTokenCodec codec("secret");
  std::string token = codec.Encode("owner=a", "7");
  EXPECT_THAT(codec.Decode("owner=b", token), HasFieldViolation("page_token"));
  EXPECT_THAT(PageTokenCodec("other").Decode("owner=a", token), HasFieldViolation("page_token"));
}

TEST(PageSizeTest, DefaultsAndCaps) {
  EXPECT_EQ(*EffectivePageSize(0), 50);
  EXPECT_EQ(*EffectivePageSize(10), 10);
  EXPECT_EQ(*EffectivePageSize(100000), 500);
  EXPECT_THAT(EffectivePageSize(-1), HasFieldViolation("page_size"));
}

TEST(ResourceNameTest, ParsesNestedNames) {
  EXPECT_THAT(*ParseResourceName("customers/12/contacts/7", {"customers", "contacts"}, "name"),
              ElementsAre(12, 7));
  EXPECT_EQ(*ParseSingleId("customers/5", "customers", "name"), 5);
}

TEST(ResourceNameTest, RejectsMalformedNames) {
  for (const char* bad : {"", "customers", "customers/", "customers/x", "customers/0",
                          "customers/-1", "contacts/5", "customers/5/extra",
                          "customers/+5", "customers/05", "customers/ 5", "customers/5 "}) {
    EXPECT_THAT(ParseSingleId(bad, "customers", "name"), HasFieldViolation("name")) << bad;
  }
}

TEST(FakeClockTest, AdvancesOnlyWhenTold) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(1000));
  clock.Advance(absl::Hours(1));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(4600));
}

}  // namespace
}  // namespace crm
