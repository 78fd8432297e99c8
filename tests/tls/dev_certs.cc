#include "tests/tls/dev_certs.h"

#include <stdlib.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/process.h"
#include "gtest/gtest.h"

namespace crm::testing {

absl::StatusOr<std::unique_ptr<DevCerts>> DevCerts::Create(const std::string& script) {
  std::string pattern = ::testing::TempDir() + "crm-tls-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  std::unique_ptr<DevCerts> certs(new DevCerts(buffer.data()));
  const char* path = std::getenv("PATH");
  const std::string log = certs->root_ + "/log";
  auto child = ChildProcess::Start({"/bin/bash", script, certs->dir_},
                                   {{"PATH", path != nullptr ? path : "/usr/bin:/bin"}}, log);
  if (!child.ok()) return child.status();
  const std::optional<int> status = (*child)->WaitFor(absl::Seconds(60));
  if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    std::ifstream in(log);
    return absl::InternalError(
        absl::StrCat(script, " failed: ", std::string(std::istreambuf_iterator<char>(in), {})));
  }
  return certs;
}

DevCerts::~DevCerts() {
  std::error_code ignored;
  std::filesystem::remove_all(root_, ignored);
}

tls::ServerTls DevCerts::Server(const std::string& name, bool require_client_ca) const {
  auto tls = tls::LoadServerTls(Path(name + ".crt"), Path(name + ".key"), require_client_ca ? Path("ca.crt") : "");
  EXPECT_TRUE(tls.ok()) << tls.status();
  return tls.ok() ? *tls : tls::ServerTls{};
}

tls::ChannelTls DevCerts::Channel(const std::string& client_name) const {
  auto tls = tls::LoadChannelTls(Path("ca.crt"), client_name.empty() ? "" : Path(client_name + ".crt"),
                                 client_name.empty() ? "" : Path(client_name + ".key"));
  EXPECT_TRUE(tls.ok()) << tls.status();
  return tls.ok() ? *tls : tls::ChannelTls{};
}

}  // namespace crm::testing
