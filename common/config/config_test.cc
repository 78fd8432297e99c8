#include "common/config/config.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "gtest/gtest.h"

ABSL_FLAG(int, config_test_port, 1, "a flag for this test only");

namespace crm::config {
namespace {

// Parses `args` after the program name, as a main() does: once per process
// (Abseil aborts on a second call), so each case runs in a child process
// (a death test) and reports the flag's value as its exit code.
void ParseAndExitWithThePort(std::vector<std::string> args) {
  args.insert(args.begin(), "config_test");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  ParseFlagsWithEnv(static_cast<int>(argv.size()), argv.data(), "test");
  std::exit(absl::GetFlag(FLAGS_config_test_port));
}

TEST(ConfigDeathTest, EnvironmentSetsAFlagAndTheCommandLineWins) {
  EXPECT_EQ(EnvNameForFlag("config_test_port"), "CRM_CONFIG_TEST_PORT");
  ASSERT_EQ(setenv("CRM_CONFIG_TEST_PORT", "5", 1), 0);
  EXPECT_EXIT(ParseAndExitWithThePort({}), ::testing::ExitedWithCode(5), "");
  EXPECT_EXIT(ParseAndExitWithThePort({"--config_test_port=7"}), ::testing::ExitedWithCode(7), "");
  unsetenv("CRM_CONFIG_TEST_PORT");
  EXPECT_EXIT(ParseAndExitWithThePort({}), ::testing::ExitedWithCode(1), "");  // the default
}

TEST(ConfigDeathTest, AnUnparsableEnvironmentValueExitsWithTwoAndNamesTheVariable) {
  ASSERT_EQ(setenv("CRM_CONFIG_TEST_PORT", "many", 1), 0);
  EXPECT_EXIT(ParseAndExitWithThePort({}), ::testing::ExitedWithCode(2),
              "configuration error: CRM_CONFIG_TEST_PORT");
  unsetenv("CRM_CONFIG_TEST_PORT");
}

}  // namespace
}  // namespace crm::config
