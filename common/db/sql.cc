#include "common/db/sql.h"

#include <cppconn/statement.h>

namespace crm::db {

std::string FormatDateTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E6S", t, absl::UTCTimeZone());
}

absl::Time ParseDateTime(const std::string& s) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%d %H:%M:%E*S", s, absl::UTCTimeZone(), &t, &err)) {
    return absl::InfinitePast();
  }
  return t;
}

namespace {
Statement PrepareDynamic(sql::Connection& conn, absl::string_view query,
                         const std::vector<Param>& params) {
  Statement ps = PrepareStatement(conn, query);
  unsigned i = 1;
  for (const Param& p : params) {
    std::visit([&](const auto& v) { Bind(*ps, i, v); }, p);
    ++i;
  }
  return ps;
}
}  // namespace

ResultSetPtr QueryDynamic(sql::Connection& conn, absl::string_view query,
                          const std::vector<Param>& params) {
  return ExecuteQuery(PrepareDynamic(conn, query, params));
}

int ExecuteDynamic(sql::Connection& conn, absl::string_view query, const std::vector<Param>& params) {
  return PrepareDynamic(conn, query, params)->executeUpdate();
}

int64_t LastInsertId(sql::Connection& conn) {
  std::unique_ptr<sql::Statement> stmt(conn.createStatement());
  std::unique_ptr<sql::ResultSet> rs(stmt->executeQuery("SELECT LAST_INSERT_ID()"));
  rs->next();
  return rs->getInt64(1);
}

std::string GetString(const sql::ResultSet& rs, const char* column) {
  if (rs.isNull(column)) return std::string();
  return rs.getString(column);
}

std::optional<absl::Time> GetTime(const sql::ResultSet& rs, const char* column) {
  if (rs.isNull(column)) return std::nullopt;
  return ParseDateTime(rs.getString(column));
}

}  // namespace crm::db
