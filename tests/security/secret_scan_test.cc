// The scanner the security tests rely on finds a secret in each form it
// may take in a log line or an error, and only there.

#include "tests/security/secret_scan.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::secret_scan {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(SecretScanTest, FindsTheSecretAsIsBase64AndHex) {
  const std::string key = "k3y-\xff\xfe-material";  // bytes where base64 and its URL-safe form differ
  const Secret secret{"the key", key};
  for (const std::string& text :
       {absl::StrCat("{\"msg\":\"", key, "\"}"), absl::StrCat("x=", absl::Base64Escape(key)),
        absl::StrCat("x=", absl::WebSafeBase64Escape(key)), absl::StrCat("0x", absl::BytesToHexString(key))}) {
    EXPECT_THAT(Leaks({secret}, {{"log", text}}), ElementsAre("the key in log")) << text;
  }
}

TEST(SecretScanTest, QuietWhenAbsentAndNamesEachText) {
  const Secret a{"a", "secret-a-0123456789"}, b{"b", "secret-b-0123456789"};
  EXPECT_THAT(Leaks({a, b}, {{"log", "nothing to see"}, {"error", "denied"}}), IsEmpty());
  EXPECT_THAT(Leaks({a, b}, {{"log", "secret-b-0123456789"}, {"error", "secret-a-0123456789!"}}),
              ElementsAre("a in error", "b in log"));
}

TEST(SecretScanTest, AnEmptySecretIsReportedNotSkipped) {
  EXPECT_THAT(Leaks({{"db password", ""}}, {{"log", "x"}}), ElementsAre("db password is empty: nothing to look for"));
}

TEST(SecretScanTest, RandomSecretsDiffer) {
  const std::string one = RandomSecret("p"), two = RandomSecret("p");
  EXPECT_NE(one, two);
  EXPECT_EQ(one.size(), 2u + 32u);
}

}  // namespace
}  // namespace crm::secret_scan
