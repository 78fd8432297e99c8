#pragma once
// Forward-only schema migrations. Each service embeds its V###__name.sql
// files (cmake/CrmEmbed.cmake) and applies them at start-up. Applied files
// are recorded with a SHA-256 checksum; a file changed after it was applied
// is refused (FAILED_PRECONDITION) instead of silently diverging.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/db/pool.h"

namespace crm::db {

struct Migration {
  std::string name;  // file name, e.g. "V001__customers.sql"; applied in name order
  std::string sql;   // statements separated by ";" at the end of a line
};

// Serialised across replicas with GET_LOCK, so several pods may start at once.
// An unreachable database (still starting) is tried again until `deadline`.
absl::Status ApplyMigrations(ConnectionPool& pool, const std::vector<Migration>& migrations,
                             absl::Time deadline);

// Splits a migration file into statements (exposed for tests).
std::vector<std::string> SplitStatements(const std::string& sql);

std::string Sha256Hex(const std::string& data);

}  // namespace crm::db
