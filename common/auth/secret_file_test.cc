#include "common/auth/secret_file.h"

#include <fstream>
#include <string>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::auth {
namespace {

using ::crm::testing::IsOk;
using ::crm::testing::StatusIs;

std::string WriteFile(const std::string& name, const std::string& contents) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

TEST(ReadSecretFileTest, TrimsTrailingLineBreaks) {
  auto secret = ReadSecretFile(WriteFile("secret_crlf", "s3cret value\r\n\n"));
  ASSERT_THAT(secret, IsOk());
  EXPECT_EQ(*secret, "s3cret value");
}

TEST(ReadSecretFileTest, KeepsInnerLinesOfPem) {
  const std::string pem = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----";
  auto secret = ReadSecretFile(WriteFile("secret_pem", pem + "\n"));
  ASSERT_THAT(secret, IsOk());
  EXPECT_EQ(*secret, pem);
}

TEST(ReadSecretFileTest, RefusesEmptyFile) {
  EXPECT_THAT(ReadSecretFile(WriteFile("secret_empty", "")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ReadSecretFile(WriteFile("secret_newline", "\n")),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ReadSecretFileTest, RefusesHugeFile) {
  EXPECT_THAT(ReadSecretFile(WriteFile("secret_huge", std::string(100 * 1024, 'k'))),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ReadSecretFileTest, MissingFileIsNotFound) {
  EXPECT_THAT(ReadSecretFile(::testing::TempDir() + "/no-such-secret"),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace crm::auth
