#pragma once
// Loads a key (HMAC secret or PEM) from a file, e.g. a mounted Kubernetes
// secret, so keys never travel on command lines or in environment dumps.

#include <string>

#include "absl/status/statusor.h"

namespace crm::auth {

// The file's contents without trailing line breaks. NOT_FOUND /
// PERMISSION_DENIED / ... when it cannot be read; INVALID_ARGUMENT when it
// is empty (after trimming) or larger than 64 KiB (not a key).
absl::StatusOr<std::string> ReadSecretFile(const std::string& path);

}  // namespace crm::auth
