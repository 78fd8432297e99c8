// The launcher's sanitizer check: SanitizerReport on log text as the
// sanitizers write it, and a ServiceProcess whose process leaves a report in
// its log failing the test (once) when it has exited — after RunToExit, or
// when the object goes away after a crash nobody waited for.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"
#include "tests/e2e/service_process.h"

namespace crm::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kJsonLine[] = R"({"time":"2026-01-01T00:00:00Z","level":"info","msg":"listening","port":"40000"})";
constexpr char kLeak[] =
    "=================================================================\n"
    "==4242==ERROR: LeakSanitizer: detected memory leaks\n"
    "\n"
    "Direct leak of 24 byte(s) in 1 object(s) allocated from:\n"
    "    #0 0x7f3a1c0b1b28 in operator new(unsigned long) ../../../../src/libsanitizer/asan/asan_new_delete.cpp:95\n"
    "    #1 0x55d0c2a0f1e2 in main services/customers/src/main.cc:40\n"
    "\n"
    "SUMMARY: AddressSanitizer: 24 byte(s) leaked in 1 allocation(s).\n";
constexpr char kUseAfterFree[] =
    "==4242==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010 at pc 0x55d0c2a0f1e2 bp "
    "0x7ffd5a0 sp 0x7ffd598\n"
    "READ of size 4 at 0x602000000010 thread T3\n";
constexpr char kUndefined[] =
    "common/util/clock.cc:12:7: runtime error: signed integer overflow: 2147483647 + 1 cannot be represented in "
    "type 'int'\n";

TEST(SanitizerReportTest, FindsEachKindFromItsFirstLine) {
  for (const char* report : {kLeak, kUseAfterFree, kUndefined}) {
    const std::string log = absl::StrCat(kJsonLine, "\n", kJsonLine, "\n", report);
    const std::string found = SanitizerReport(log);
    EXPECT_THAT(found, Not(HasSubstr("listening"))) << report;
    EXPECT_THAT(std::string(report), HasSubstr(found));
    EXPECT_THAT(found, HasSubstr(report[0] == '=' ? "==4242==ERROR" : "runtime error:"));
  }
  EXPECT_THAT(SanitizerReport(kLeak), StartsWith("==4242==ERROR: LeakSanitizer"));
}

TEST(SanitizerReportTest, KeepsAtMostFortyLines) {
  std::string log = kUseAfterFree;
  for (int i = 0; i < 100; ++i) absl::StrAppend(&log, "    #", i, " 0x55d0c2a0f1e2 in frame", i, "\n");
  const std::string found = SanitizerReport(log);
  EXPECT_EQ(std::count(found.begin(), found.end(), '\n'), 40);
  EXPECT_THAT(found, HasSubstr("frame37\n"));
  EXPECT_THAT(found, Not(HasSubstr("frame38")));
}

TEST(SanitizerReportTest, CleanLogsAndTheServicesOwnLinesAreNoReport) {
  EXPECT_EQ(SanitizerReport(""), "");
  EXPECT_EQ(SanitizerReport(absl::StrCat(kJsonLine, "\n", kJsonLine)), "");
  // A service's JSON log line may quote anything, a client's input included.
  EXPECT_EQ(SanitizerReport(R"({"level":"warning","msg":"bad request","error":"runtime error: x ERROR: )"
                            R"(AddressSanitizer"})"),
            "");
}

// A stand-in for a service binary: its first run writes a LeakSanitizer
// report and exits 23, as a leaking ASan binary does; later runs exit 0.
class LauncherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    script_ = absl::StrCat(::testing::TempDir(), "crm-launcher-test-", getpid(), ".sh");
    std::ofstream(script_) << "#!/bin/sh\n"
                              "if [ -e \"$0.ran\" ]; then exit 0; fi\n"
                              ": > \"$0.ran\"\n"
                           << "echo '" << kJsonLine << "'\n"
                           << "cat <<'EOF'\n"
                           << kLeak << "EOF\n"
                           << "exit 23\n";
    std::filesystem::permissions(script_, std::filesystem::perms::owner_all);
    auto process = ServiceProcess::Create("launcher-test", script_);
    ASSERT_TRUE(process.ok()) << process.status();
    process_ = *std::move(process);
  }
  void TearDown() override {
    std::remove(script_.c_str());
    std::remove((script_ + ".ran").c_str());
  }

  std::string script_;
  std::unique_ptr<ServiceProcess> process_;
};

TEST_F(LauncherTest, AReportFailsTheTestOnceTheProcessHasExited) {
  ::testing::TestPartResultArray failures;
  {
    ::testing::ScopedFakeTestPartResultReporter intercept(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
    const std::optional<int> status = process_->RunToExit(absl::Seconds(30));
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 23);
  }
  ASSERT_EQ(failures.size(), 1);
  EXPECT_TRUE(failures.GetTestPartResult(0).nonfatally_failed());
  EXPECT_THAT(failures.GetTestPartResult(0).message(), HasSubstr("launcher-test"));
  EXPECT_THAT(failures.GetTestPartResult(0).message(), HasSubstr("ERROR: LeakSanitizer: detected memory leaks"));
  EXPECT_THAT(failures.GetTestPartResult(0).message(), HasSubstr("services/customers/src/main.cc:40"));

  // The next run writes no report: the old one is not reported again, now
  // or when the object goes away.
  ::testing::TestPartResultArray later;
  {
    ::testing::ScopedFakeTestPartResultReporter intercept(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &later);
    EXPECT_EQ(process_->RunToExit(absl::Seconds(30)), std::optional<int>(0));
    process_.reset();
  }
  EXPECT_EQ(later.size(), 0);
}

TEST_F(LauncherTest, AReportOfAProcessThatDiedUnwatchedFailsTheTestAtTheEnd) {
  ::testing::TestPartResultArray failures;
  {
    ::testing::ScopedFakeTestPartResultReporter intercept(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
    // It exits instead of listening; nobody waits for it but the destructor.
    EXPECT_FALSE(process_->Start().ok());
    process_.reset();
  }
  ASSERT_EQ(failures.size(), 1);
  EXPECT_THAT(failures.GetTestPartResult(0).message(), HasSubstr("ERROR: LeakSanitizer"));
}

}  // namespace
}  // namespace crm::testing
