#include "tests/security/secret_scan.h"

#include <sys/stat.h>

#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace crm::secret_scan {

std::vector<std::string> Leaks(const std::vector<Secret>& secrets, const std::map<std::string, std::string>& texts) {
  std::vector<std::string> leaks;
  for (const Secret& secret : secrets) {
    if (secret.value.empty()) {
      leaks.push_back(absl::StrCat(secret.what, " is empty: nothing to look for"));
      continue;
    }
    const std::string forms[] = {secret.value, absl::Base64Escape(secret.value),
                                 absl::WebSafeBase64Escape(secret.value), absl::BytesToHexString(secret.value)};
    for (const auto& [name, text] : texts) {
      for (const std::string& form : forms) {
        if (absl::StrContains(text, form)) {
          leaks.push_back(absl::StrCat(secret.what, " in ", name));
          break;
        }
      }
    }
  }
  return leaks;
}

std::string RandomSecret(const std::string& prefix) {
  std::ifstream random("/dev/urandom", std::ios::binary);
  std::string bytes(16, '\0');
  random.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return absl::StrCat(prefix, "-", absl::BytesToHexString(bytes));
}

bool WriteFile(const std::string& path, const std::string& content) {
  {
    std::ofstream out(path, std::ios::trunc);
    out << content;
    if (!out) return false;
  }
  return chmod(path.c_str(), 0600) == 0;
}

}  // namespace crm::secret_scan
