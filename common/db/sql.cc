#include "common/db/sql.h"

#include <cppconn/statement.h>

#include "absl/time/civil_time.h"

namespace crm::db {

std::string FormatDateTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E6S", t, absl::UTCTimeZone());
}

absl::Time ParseDateTime(const std::string& s) {
  // By hand, not absl::ParseTime: rows carry several of these and the format
  // is fixed, so the general parser was a visible share of a point read.
  const auto digits = [&s](size_t pos, size_t n, int& out) {
    if (pos + n > s.size()) return false;
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    out = v;
    return true;
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(0, 4, year) || s.size() < 19 || s[4] != '-' || !digits(5, 2, month) || s[7] != '-' ||
      !digits(8, 2, day) || s[10] != ' ' || !digits(11, 2, hour) || s[13] != ':' ||
      !digits(14, 2, minute) || s[16] != ':' || !digits(17, 2, second)) {
    return absl::InfinitePast();
  }
  int64_t micros = 0;
  if (s.size() > 19) {
    const size_t fraction = s.size() - 20;
    int value = 0;
    if (s[19] != '.' || fraction == 0 || fraction > 6 || !digits(20, fraction, value)) {
      return absl::InfinitePast();
    }
    micros = value;
    for (size_t i = fraction; i < 6; ++i) micros *= 10;
  }
  const absl::CivilSecond civil(year, month, day, hour, minute, second);
  // CivilSecond normalizes out-of-range fields (month 13 → next year): such
  // text is not a DATETIME.
  if (civil.year() != year || civil.month() != month || civil.day() != day || civil.hour() != hour ||
      civil.minute() != minute || civil.second() != second) {
    return absl::InfinitePast();
  }
  return absl::FromCivil(civil, absl::UTCTimeZone()) + absl::Microseconds(micros);
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

std::string GetString(const sql::ResultSet& rs, uint32_t column) {
  if (rs.isNull(column)) return std::string();
  return rs.getString(column);
}

std::optional<absl::Time> GetTime(const sql::ResultSet& rs, uint32_t column) {
  if (rs.isNull(column)) return std::nullopt;
  return ParseDateTime(rs.getString(column));
}

}  // namespace crm::db
