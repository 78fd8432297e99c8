#pragma once
// Thin helpers over Connector/C++ prepared statements so repositories read
// as SQL plus values: Execute(conn, "UPDATE t SET a=? WHERE id=?", a, id).
// Times are UTC DATETIME(6); std::nullopt binds NULL.

#include <cppconn/connection.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/db/statement_cache.h"

namespace crm::db {

std::string FormatDateTime(absl::Time t);
// Reads "YYYY-MM-DD HH:MM:SS[.ffffff]" (how DATETIME(6) comes back) as UTC;
// InfinitePast for anything else.
absl::Time ParseDateTime(const std::string& s);

// The 1-based position of `name` in a comma-separated column list such as
// "id, kind, display_name", found at compile time (a name not in the list
// does not compile). Reading a column by position skips what reading it by
// name costs Connector/C++ on every call: upper-casing the name and a map
// lookup.
consteval uint32_t ColumnIndex(std::string_view columns, std::string_view name) {
  uint32_t index = 1;
  size_t start = 0;
  while (true) {
    size_t end = columns.find(',', start);
    std::string_view column = columns.substr(start, end == std::string_view::npos ? end : end - start);
    while (!column.empty() && column.front() == ' ') column.remove_prefix(1);
    while (!column.empty() && column.back() == ' ') column.remove_suffix(1);
    if (column == name) return index;
    if (end == std::string_view::npos) break;
    start = end + 1;
    ++index;
  }
  throw "column not in the list";
}

inline void Bind(sql::PreparedStatement& ps, unsigned i, absl::string_view v) {
  ps.setString(i, sql::SQLString(v.data(), v.size()));
}
inline void Bind(sql::PreparedStatement& ps, unsigned i, const std::string& v) { ps.setString(i, v); }
inline void Bind(sql::PreparedStatement& ps, unsigned i, const char* v) { ps.setString(i, v); }
inline void Bind(sql::PreparedStatement& ps, unsigned i, bool v) { ps.setBoolean(i, v); }
inline void Bind(sql::PreparedStatement& ps, unsigned i, double v) { ps.setDouble(i, v); }
inline void Bind(sql::PreparedStatement& ps, unsigned i, absl::Time v) {
  ps.setDateTime(i, FormatDateTime(v));
}
template <typename T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
void Bind(sql::PreparedStatement& ps, unsigned i, T v) {
  ps.setInt64(i, static_cast<int64_t>(v));
}
inline void Bind(sql::PreparedStatement& ps, unsigned i, std::nullopt_t) { ps.setNull(i, 0); }
template <typename T>
void Bind(sql::PreparedStatement& ps, unsigned i, const std::optional<T>& v) {
  if (v.has_value()) {
    Bind(ps, i, *v);
  } else {
    ps.setNull(i, 0);
  }
}

template <typename... Args>
Statement Prepare(sql::Connection& conn, absl::string_view query, const Args&... args) {
  Statement ps = PrepareStatement(conn, query);
  unsigned i = 1;
  (Bind(*ps, i++, args), ...);
  return ps;
}

// Rows read from a statement; the statement goes back to its connection's
// cache when the result set is closed.
struct ResultSetCloser {
  Statement statement;
  void operator()(sql::ResultSet* rs) const { delete rs; }
};
using ResultSetPtr = std::unique_ptr<sql::ResultSet, ResultSetCloser>;

inline ResultSetPtr ExecuteQuery(Statement statement) {
  sql::ResultSet* rs = statement->executeQuery();
  return ResultSetPtr(rs, ResultSetCloser{std::move(statement)});
}

// Runs a statement that returns no rows; returns the affected row count.
template <typename... Args>
int Execute(sql::Connection& conn, absl::string_view query, const Args&... args) {
  return Prepare(conn, query, args...)->executeUpdate();
}

template <typename... Args>
ResultSetPtr Query(sql::Connection& conn, absl::string_view query, const Args&... args) {
  return ExecuteQuery(Prepare(conn, query, args...));
}

// For statements whose shape depends on the request (optional filters).
// std::nullopt binds NULL, so a nullable column keeps one statement text.
using Param = std::variant<std::string, int64_t, double, bool, absl::Time, std::nullopt_t>;
ResultSetPtr QueryDynamic(sql::Connection& conn, absl::string_view query,
                          const std::vector<Param>& params);
int ExecuteDynamic(sql::Connection& conn, absl::string_view query, const std::vector<Param>& params);

int64_t LastInsertId(sql::Connection& conn);

// Column readers that map NULL to an empty value.
std::string GetString(const sql::ResultSet& rs, const char* column);
std::optional<absl::Time> GetTime(const sql::ResultSet& rs, const char* column);
std::string GetString(const sql::ResultSet& rs, uint32_t column);
std::optional<absl::Time> GetTime(const sql::ResultSet& rs, uint32_t column);

}  // namespace crm::db
