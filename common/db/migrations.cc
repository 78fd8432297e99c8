#include "common/db/migrations.h"

#include <cppconn/statement.h>
#include <openssl/sha.h>

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/db/sql.h"
#include "common/db/transaction.h"
#include "common/util/log.h"

namespace crm::db {

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  std::string hex;
  for (unsigned char b : digest) absl::StrAppend(&hex, absl::Hex(b, absl::kZeroPad2));
  return hex;
}

std::vector<std::string> SplitStatements(const std::string& sql) {
  std::vector<std::string> statements;
  std::string current;
  for (absl::string_view line : absl::StrSplit(sql, '\n')) {
    absl::string_view stripped = absl::StripAsciiWhitespace(line);
    if (stripped.empty() || absl::StartsWith(stripped, "--")) continue;
    absl::StrAppend(&current, line, "\n");
    if (absl::EndsWith(stripped, ";")) {
      absl::string_view stmt = absl::StripAsciiWhitespace(current);
      stmt.remove_suffix(1);  // the ';'
      statements.emplace_back(stmt);
      current.clear();
    }
  }
  if (!absl::StripAsciiWhitespace(current).empty()) {
    statements.emplace_back(absl::StripAsciiWhitespace(current));
  }
  return statements;
}

namespace {

absl::Status ApplyOnce(ConnectionPool& pool, const std::vector<Migration>& ordered, absl::Time deadline) {
  return WithConnection(pool, deadline, [&](sql::Connection& conn) -> absl::Status {
    std::unique_ptr<sql::Statement> stmt(conn.createStatement());
    const int64_t lock_seconds = std::max<int64_t>(1, absl::ToInt64Seconds(deadline - absl::Now()));
    {
      auto rs = Query(conn, "SELECT GET_LOCK('crm_schema_migrations', ?)", lock_seconds);
      if (!rs->next() || rs->getInt(1) != 1) {
        return absl::DeadlineExceededError("another replica holds the migration lock");
      }
    }
    struct Unlock {
      sql::Statement* s;
      ~Unlock() {
        try {
          s->execute("DO RELEASE_LOCK('crm_schema_migrations')");
        } catch (const sql::SQLException&) {
        }
      }
    } unlock{stmt.get()};
    // The deadline bounds the wait for the database and the lock, not the
    // work: an ALTER of a big table may take longer than the call's limit
    // the pool set on this session (restored for the next lease).
    double statement_limit = 0;
    {
      std::unique_ptr<sql::ResultSet> rs(stmt->executeQuery("SELECT @@SESSION.max_statement_time"));
      if (rs->next()) statement_limit = rs->getDouble(1);
    }
    stmt->execute("SET SESSION max_statement_time = 0");
    struct RestoreLimit {
      sql::Statement* s;
      double seconds;
      ~RestoreLimit() {
        try {
          s->execute(absl::StrCat("SET SESSION max_statement_time = ", seconds));
        } catch (const sql::SQLException&) {
        }
      }
    } restore{stmt.get(), statement_limit};

    stmt->execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " name VARCHAR(255) NOT NULL PRIMARY KEY,"
        " checksum CHAR(64) NOT NULL,"
        " applied_at DATETIME(6) NOT NULL"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
    std::map<std::string, std::string> applied;
    {
      std::unique_ptr<sql::ResultSet> rs(
          stmt->executeQuery("SELECT name, checksum FROM schema_migrations"));
      while (rs->next()) applied[rs->getString(1)] = rs->getString(2);
    }
    for (const Migration& m : ordered) {
      const std::string checksum = Sha256Hex(m.sql);
      auto it = applied.find(m.name);
      if (it != applied.end()) {
        if (it->second != checksum) {
          return absl::FailedPreconditionError(absl::StrCat(
              "migration ", m.name, " was changed after it was applied; add a new migration instead"));
        }
        continue;
      }
      // DDL commits implicitly in MySQL, so a migration is not atomic: keep
      // each file to statements that are safe to re-run (IF NOT EXISTS).
      for (const std::string& statement : SplitStatements(m.sql)) stmt->execute(statement);
      Execute(conn, "INSERT INTO schema_migrations (name, checksum, applied_at) VALUES (?, ?, UTC_TIMESTAMP(6))",
              m.name, checksum);
      log::Info("migration applied", {{"name", m.name}});
    }
    return absl::OkStatus();
  }, "migrations");
}

}  // namespace

absl::Status ApplyMigrations(ConnectionPool& pool, const std::vector<Migration>& migrations,
                             absl::Time deadline) {
  std::vector<Migration> ordered = migrations;
  std::sort(ordered.begin(), ordered.end(),
            [](const Migration& a, const Migration& b) { return a.name < b.name; });
  // A process and its database often start together: an unreachable
  // database is tried again until the deadline; any other error is final.
  absl::Duration pause = absl::Milliseconds(100);
  for (bool first = true;; first = false) {
    absl::Status applied = ApplyOnce(pool, ordered, deadline);
    if (!absl::IsUnavailable(applied) || absl::Now() + pause >= deadline) return applied;
    if (first) log::Info("database unreachable; retrying the migrations", {{"status", applied.ToString()}});
    absl::SleepFor(pause);
    pause = std::min(2 * pause, absl::Seconds(2));
  }
}

}  // namespace crm::db
