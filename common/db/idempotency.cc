#include "common/db/idempotency.h"

#include "absl/strings/str_cat.h"
#include "common/db/sql.h"
#include "common/status/status.h"

namespace crm::db {

absl::Status ValidateRequestId(absl::string_view request_id, absl::string_view field) {
  if (request_id.size() > 64) return InvalidField(std::string(field), "at most 64 characters");
  for (char c : request_id) {
    if (c < 0x21 || c > 0x7e) return InvalidField(std::string(field), "printable ASCII only");
  }
  return absl::OkStatus();
}

std::optional<std::string> FindIdempotentResult(sql::Connection& conn, const IdempotencyKey& key) {
  if (key.request_id.empty()) return std::nullopt;
  auto rs = Query(conn,
                  "SELECT resource_name FROM idempotency_keys WHERE method = ? AND caller = ? AND request_id = ?",
                  key.method, key.caller, key.request_id);
  if (!rs->next()) return std::nullopt;
  return std::string(rs->getString(1));
}

void RememberIdempotentResult(sql::Connection& conn, const IdempotencyKey& key,
                              absl::string_view resource_name, absl::Time now) {
  if (key.request_id.empty()) return;
  Execute(conn,
          "INSERT INTO idempotency_keys (method, caller, request_id, resource_name, create_time) "
          "VALUES (?, ?, ?, ?, ?)",
          key.method, key.caller, key.request_id, resource_name, now);
}

void RememberIdempotentResults(sql::Connection& conn, absl::string_view method,
                               const std::vector<IdempotentResult>& results) {
  std::string sql = "INSERT INTO idempotency_keys (method, caller, request_id, resource_name, create_time) VALUES ";
  std::vector<Param> params;
  for (const IdempotentResult& r : results) {
    if (r.request_id.empty()) continue;
    absl::StrAppend(&sql, params.empty() ? "" : ", ", "(?, ?, ?, ?, ?)");
    params.insert(params.end(), {std::string(method), r.caller, r.request_id, r.resource_name, r.create_time});
  }
  if (!params.empty()) ExecuteDynamic(conn, sql, params);
}

}  // namespace crm::db
