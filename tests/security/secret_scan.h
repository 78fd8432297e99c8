#pragma once
// Looks for secrets in text a process or a client could show to someone:
// logs, error messages. A secret counts as leaked when it appears as is,
// base64 (standard or URL-safe) or hex encoded.

#include <map>
#include <string>
#include <vector>

namespace crm::secret_scan {

struct Secret {
  std::string what;   // "JWT signing key", never the value
  std::string value;
};

// One line per (secret, text) where the secret appears: "<what> in <text name>".
std::vector<std::string> Leaks(const std::vector<Secret>& secrets, const std::map<std::string, std::string>& texts);

// "<prefix>-" and 32 random hex digits (from /dev/urandom).
std::string RandomSecret(const std::string& prefix);

// Writes `content` to `path` with mode 0600; false on failure.
bool WriteFile(const std::string& path, const std::string& content);

}  // namespace crm::secret_scan
