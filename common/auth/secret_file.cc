#include "common/auth/secret_file.h"

#include <cerrno>
#include <cstdio>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace crm::auth {
namespace {

constexpr size_t kMaxSecretBytes = 64 * 1024;

}  // namespace

absl::StatusOr<std::string> ReadSecretFile(const std::string& path) {
  std::unique_ptr<FILE, decltype(&std::fclose)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) return absl::ErrnoToStatus(errno, absl::StrCat("cannot open secret file ", path));

  std::string contents;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) {
    contents.append(buffer, n);
    if (contents.size() > kMaxSecretBytes) {
      return absl::InvalidArgumentError(absl::StrCat("secret file ", path, " is too large"));
    }
  }
  if (std::ferror(file.get())) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot read secret file ", path));
  }
  while (!contents.empty() && (contents.back() == '\n' || contents.back() == '\r')) {
    contents.pop_back();
  }
  if (contents.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("secret file ", path, " is empty"));
  }
  return contents;
}

}  // namespace crm::auth
