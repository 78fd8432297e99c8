#include "services/customers/src/mysql_customer_repository.h"

#include <cppconn/statement.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/container/flat_hash_map.h"
#include "common/db/idempotency.h"
#include "common/db/sql.h"
#include "common/db/transaction.h"
#include "common/events/outbox.h"
#include "common/status/status_macros.h"
#include "common/util/log.h"
#include "common/util/proto_diff.h"
#include "common/util/proto_time.h"
#include "services/customers/src/customer_events.h"

namespace crm::customers {
namespace {

using db::Execute;
using db::Param;
using db::Query;

constexpr char kCustomerColumns[] =
    "id, kind, display_name, credit_code, industry, address, latitude, longitude, "
    "revenue_currency, revenue_units, revenue_nanos, employee_count, qualification_rating, "
    "it_usage_notes, competitor_notes, status, owner, team, high_value, phone, risk_tolerance, "
    "risk_assessed_on, aml_rating, tier, value_score, churn_risk, retention_stage, "
    "last_verified_at, directory_collected_at, version, create_time, update_time";

constexpr char kContactColumns[] =
    "id, customer_id, display_name, role, phone, title, birthday, hobbies, family_notes, "
    "vip_level, version, create_time, update_time";

// Output-only or derived fields never count as a change in the audit trail.
const std::set<std::string>& CustomerAuditIgnore() {
  static const std::set<std::string> kIgnore = {
      "name", "etag", "update_time", "create_time", "service_mode", "completeness",
      "similar_customers", "value_score"};
  return kIgnore;
}

std::string CustomerName(int64_t id) { return absl::StrCat("customers/", id); }
std::string ContactName(int64_t customer_id, int64_t id) {
  return absl::StrCat("customers/", customer_id, "/contacts/", id);
}

absl::Status CustomerNotFound(int64_t id) {
  return absl::NotFoundError(absl::StrCat(CustomerName(id), " not found"));
}

void ParseDate(const std::string& ymd, crm::type::v1::Date* out) {
  std::vector<std::string> parts = absl::StrSplit(ymd, '-');
  int y = 0, m = 0, d = 0;
  if (parts.size() == 3 && absl::SimpleAtoi(parts[0], &y) && absl::SimpleAtoi(parts[1], &m) &&
      absl::SimpleAtoi(parts[2], &d)) {
    out->set_year(y);
    out->set_month(m);
    out->set_day(d);
  }
}

std::optional<std::string> DateColumn(bool has, const crm::type::v1::Date& d) {
  if (!has) return std::nullopt;
  return FormatYmd(d.year(), d.month(), d.day());
}

// Columns are read by position in kCustomerColumns (see db::ColumnIndex).
consteval uint32_t Col(std::string_view name) { return db::ColumnIndex(kCustomerColumns, name); }

pb::Customer CustomerFromRow(const sql::ResultSet& rs) {
  pb::Customer c;
  const int64_t id = rs.getInt64(Col("id"));
  c.set_name(CustomerName(id));
  c.set_kind(static_cast<pb::CustomerKind>(rs.getInt(Col("kind"))));
  c.set_display_name(rs.getString(Col("display_name")));
  c.set_credit_code(db::GetString(rs, Col("credit_code")));
  c.set_industry(rs.getString(Col("industry")));
  c.set_address(rs.getString(Col("address")));
  if (!rs.isNull(Col("latitude"))) {
    c.mutable_location()->set_latitude(static_cast<double>(rs.getDouble(Col("latitude"))));
    c.mutable_location()->set_longitude(static_cast<double>(rs.getDouble(Col("longitude"))));
  }
  if (!std::string(rs.getString(Col("revenue_currency"))).empty()) {
    auto* m = c.mutable_annual_revenue();
    m->set_currency_code(rs.getString(Col("revenue_currency")));
    m->set_units(rs.getInt64(Col("revenue_units")));
    m->set_nanos(rs.getInt(Col("revenue_nanos")));
  }
  c.set_employee_count(rs.getInt64(Col("employee_count")));
  c.set_qualification_rating(rs.getString(Col("qualification_rating")));
  c.set_it_usage_notes(rs.getString(Col("it_usage_notes")));
  c.set_competitor_notes(rs.getString(Col("competitor_notes")));
  c.set_status(static_cast<pb::CustomerStatus>(rs.getInt(Col("status"))));
  c.set_owner(rs.getString(Col("owner")));
  c.set_team(rs.getString(Col("team")));
  c.set_high_value(rs.getBoolean(Col("high_value")));
  c.set_phone(rs.getString(Col("phone")));
  c.set_risk_tolerance(static_cast<pb::RiskTolerance>(rs.getInt(Col("risk_tolerance"))));
  if (!rs.isNull(Col("risk_assessed_on"))) ParseDate(rs.getString(Col("risk_assessed_on")), c.mutable_risk_assessed_on());
  c.set_aml_rating(static_cast<pb::AmlRating>(rs.getInt(Col("aml_rating"))));
  c.set_tier(static_cast<pb::Tier>(rs.getInt(Col("tier"))));
  c.set_value_score(static_cast<double>(rs.getDouble(Col("value_score"))));
  c.set_churn_risk(rs.getBoolean(Col("churn_risk")));
  c.set_retention_stage(static_cast<pb::RetentionStage>(rs.getInt(Col("retention_stage"))));
  if (auto t = db::GetTime(rs, Col("last_verified_at"))) ToProto(*t, c.mutable_last_verified_time());
  if (auto t = db::GetTime(rs, Col("directory_collected_at"))) {
    ToProto(*t, c.mutable_directory_collected_time());
  }
  c.set_etag(absl::StrCat(rs.getInt64(Col("version"))));
  ToProto(db::ParseDateTime(rs.getString(Col("create_time"))), c.mutable_create_time());
  ToProto(db::ParseDateTime(rs.getString(Col("update_time"))), c.mutable_update_time());
  c.set_service_mode(ServiceModeFor(c.tier(), c.high_value()));
  c.set_completeness(Completeness(c));
  return c;
}

int64_t IdOf(const pb::Customer& c) {
  int64_t id = 0;
  (void)absl::SimpleAtoi(absl::string_view(c.name()).substr(absl::string_view("customers/").size()), &id);
  return id;
}

// Every stored, client-settable column.
constexpr char kWritableColumns[] =
    "kind, display_name, name_key, credit_code, industry, address, latitude, longitude, "
    "revenue_currency, revenue_units, revenue_nanos, employee_count, qualification_rating, "
    "it_usage_notes, competitor_notes, status, owner, team, high_value, phone, risk_tolerance, "
    "risk_assessed_on, aml_rating, churn_risk, retention_stage, last_verified_at, "
    "directory_collected_at";

// The values of the writable columns (NULL as std::nullopt), in kWritableColumns order.
std::vector<Param> WritableValues(const pb::Customer& c) {
  auto nullable = [](bool has, Param value) { return has ? std::move(value) : Param(std::nullopt); };
  auto date = DateColumn(c.has_risk_assessed_on(), c.risk_assessed_on());
  return {
      int64_t{c.kind()},
      c.display_name(),
      NameKey(c.display_name()),
      nullable(!c.credit_code().empty(), c.credit_code()),
      c.industry(),
      c.address(),
      nullable(c.has_location(), c.location().latitude()),
      nullable(c.has_location(), c.location().longitude()),
      c.annual_revenue().currency_code(),
      int64_t{c.annual_revenue().units()},
      int64_t{c.annual_revenue().nanos()},
      int64_t{c.employee_count()},
      c.qualification_rating(),
      c.it_usage_notes(),
      c.competitor_notes(),
      int64_t{c.status()},
      c.owner(),
      c.team(),
      c.high_value(),
      c.phone(),
      int64_t{c.risk_tolerance()},
      date ? Param(*date) : Param(std::nullopt),
      int64_t{c.aml_rating()},
      c.churn_risk(),
      int64_t{c.retention_stage() == pb::RETENTION_STAGE_UNSPECIFIED ? pb::NO_RISK : c.retention_stage()},
      nullable(c.has_last_verified_time(), FromProto(c.last_verified_time())),
      nullable(c.has_directory_collected_time(), FromProto(c.directory_collected_time())),
  };
}

absl::StatusOr<pb::Customer> LoadCustomer(sql::Connection& conn, int64_t id, bool for_update) {
  auto rs = Query(conn, absl::StrCat("SELECT ", kCustomerColumns, " FROM customers WHERE id = ?",
                                     for_update ? " FOR UPDATE" : ""),
                  id);
  if (!rs->next()) return CustomerNotFound(id);
  return CustomerFromRow(*rs);
}

constexpr char kInsertFieldChanges[] =
    "INSERT INTO field_changes (customer_id, resource, field, old_value, new_value, actor, "
    "method, change_time) VALUES ";

void InsertFieldChanges(sql::Connection& conn, int64_t customer_id, const std::string& resource,
                        const std::vector<FieldDiff>& diffs, const Actor& actor) {
  if (diffs.empty()) return;
  std::string sql = kInsertFieldChanges;
  std::vector<Param> params;
  for (size_t i = 0; i < diffs.size(); ++i) {
    absl::StrAppend(&sql, i == 0 ? "" : ", ", "(?, ?, ?, ?, ?, ?, ?, ?)");
    params.insert(params.end(), {customer_id, resource, diffs[i].field, diffs[i].old_value,
                                 diffs[i].new_value, actor.subject, actor.method, actor.now});
  }
  db::ExecuteDynamic(conn, sql, params);
}

// Writes `after` over the stored row (version + 1) and audits the diff.
absl::StatusOr<pb::Customer> WriteCustomerChanges(sql::Connection& conn, const pb::Customer& before,
                                                  const pb::Customer& after, const Actor& actor) {
  std::vector<FieldDiff> diffs = DiffMessages(before, after, CustomerAuditIgnore());
  if (diffs.empty()) return before;  // nothing changed: keep the etag
  const int64_t id = IdOf(before);
  std::vector<Param> params = WritableValues(after);
  std::vector<std::string> sets = absl::StrSplit(kWritableColumns, ", ");
  for (std::string& column : sets) absl::StrAppend(&column, " = ?");
  params.push_back(actor.now);
  params.push_back(id);
  db::ExecuteDynamic(conn,
                     absl::StrCat("UPDATE customers SET ", absl::StrJoin(sets, ", "),
                                  ", version = version + 1, update_time = ? WHERE id = ?"),
                     params);
  InsertFieldChanges(conn, id, CustomerName(id), diffs, actor);
  ASSIGN_OR_RETURN(pb::Customer written, LoadCustomer(conn, id, false));
  for (const auto& event : EventsForChange(before, written)) {
    events::AppendEvent(conn, written.name(), *event, actor.now);
  }
  return written;
}

void AppendScope(const AccessScope& scope, const char* table_prefix, std::string& where,
                 std::vector<Param>& params) {
  const std::string p = table_prefix;
  switch (scope.kind) {
    case AccessScope::Kind::kAll:
      break;
    case AccessScope::Kind::kTeam:
      absl::StrAppend(&where, " AND ", p, "team = ?");
      params.push_back(scope.team);
      break;
    case AccessScope::Kind::kOwner:
      absl::StrAppend(&where, " AND ", p, "owner = ?");
      params.push_back(scope.subject);
      break;
    case AccessScope::Kind::kTeamOrdinaryC:
      absl::StrAppend(&where, " AND ", p, "team = ? AND ", p, "tier = ", static_cast<int>(pb::C), " AND ",
                      p, "high_value = FALSE");
      params.push_back(scope.team);
      break;
    case AccessScope::Kind::kNone:
      absl::StrAppend(&where, " AND FALSE");
      break;
  }
}

void AppendFilter(const CustomerFilter& f, std::string& where, std::vector<Param>& params) {
  AppendScope(f.scope, "", where, params);
  if (!f.owner.empty()) {
    where += " AND owner = ?";
    params.push_back(f.owner);
  }
  if (f.tier != pb::TIER_UNSPECIFIED) {
    where += " AND tier = ?";
    params.push_back(int64_t{f.tier});
  }
  if (f.status != pb::CUSTOMER_STATUS_UNSPECIFIED) {
    where += " AND status = ?";
    params.push_back(int64_t{f.status});
  } else if (!f.show_archived) {
    where += " AND status <> ?";
    params.push_back(int64_t{pb::ARCHIVED});
  }
  if (f.kind != pb::CUSTOMER_KIND_UNSPECIFIED) {
    where += " AND kind = ?";
    params.push_back(int64_t{f.kind});
  }
  if (!f.industry.empty()) {
    where += " AND industry = ?";
    params.push_back(f.industry);
  }
  if (!f.name_contains.empty()) {
    // LIKE wildcards in the user's text are matched literally.
    std::string escaped;
    for (char ch : f.name_contains) {
      if (ch == '%' || ch == '_' || ch == '\\') escaped.push_back('\\');
      escaped.push_back(ch);
    }
    where += " AND display_name LIKE ?";
    params.push_back(absl::StrCat("%", escaped, "%"));
  }
}

pb::Contact ContactFromRow(const sql::ResultSet& rs) {
  pb::Contact c;
  c.set_name(ContactName(rs.getInt64("customer_id"), rs.getInt64("id")));
  c.set_display_name(rs.getString("display_name"));
  c.set_role(static_cast<pb::ContactRole>(rs.getInt("role")));
  c.set_phone(rs.getString("phone"));
  c.set_title(rs.getString("title"));
  if (!rs.isNull("birthday")) ParseDate(rs.getString("birthday"), c.mutable_birthday());
  c.set_hobbies(rs.getString("hobbies"));
  c.set_family_notes(rs.getString("family_notes"));
  c.set_vip_level(static_cast<pb::VipLevel>(rs.getInt("vip_level")));
  c.set_etag(absl::StrCat(rs.getInt64("version")));
  ToProto(db::ParseDateTime(rs.getString("create_time")), c.mutable_create_time());
  ToProto(db::ParseDateTime(rs.getString("update_time")), c.mutable_update_time());
  return c;
}

absl::StatusOr<pb::Contact> LoadContact(sql::Connection& conn, int64_t customer_id, int64_t id,
                                        bool for_update) {
  auto rs = Query(conn,
                  absl::StrCat("SELECT ", kContactColumns,
                               " FROM contacts WHERE customer_id = ? AND id = ?",
                               for_update ? " FOR UPDATE" : ""),
                  customer_id, id);
  if (!rs->next()) {
    return absl::NotFoundError(absl::StrCat(ContactName(customer_id, id), " not found"));
  }
  return ContactFromRow(*rs);
}

// Locks the parent customer and runs the caller's access check on it;
// the customer (its owner and team go into contact events).
absl::StatusOr<pb::Customer> GuardCustomer(sql::Connection& conn, int64_t customer_id,
                                           const CustomerGuard& guard) {
  ASSIGN_OR_RETURN(pb::Customer customer, LoadCustomer(conn, customer_id, true));
  RETURN_IF_ERROR(guard(customer));
  return customer;
}

template <typename Fn>
auto Tx(db::ConnectionPool& pool, absl::Time deadline, absl::string_view context, Fn&& fn) {
  return db::RunInTransaction(pool, deadline, std::forward<Fn>(fn), {3, context});
}

template <typename Fn>
auto Read(db::ConnectionPool& pool, absl::Time deadline, absl::string_view context, Fn&& fn) {
  return db::WithConnection(pool, deadline, std::forward<Fn>(fn), context);
}

// A create that lost a race on its request id (the same caller's
// concurrent retry): the winner's result.
template <typename T, typename Load>
absl::StatusOr<T> ResolveIdempotentRace(const absl::StatusOr<T>& result, db::ConnectionPool& pool,
                                        absl::Time deadline, const db::IdempotencyKey& key, Load&& load) {
  if (result.ok() || result.status().code() != absl::StatusCode::kAlreadyExists ||
      key.request_id.empty()) {
    return result;
  }
  return Read(pool, deadline, key.method, [&](sql::Connection& conn) -> absl::StatusOr<T> {
    auto existing = db::FindIdempotentResult(conn, key);
    if (!existing) return result.status();
    return load(conn, *existing);
  });
}

int64_t TrailingId(const std::string& name) {
  int64_t id = 0;
  (void)absl::SimpleAtoi(name.substr(name.rfind('/') + 1), &id);
  return id;
}

// ---------------------------------------------------------------- creating customers

using NewCustomer = MysqlCustomerRepository::NewCustomer;

constexpr absl::string_view kCreateMethod = "CreateCustomer";
// Concurrent creates written in one transaction at most.
constexpr size_t kMaxCreateBatch = 32;
// Two batches at once: one writes while the other commits. Measured with
// bench/ at 32 callers: 1 → 4 695/s, 2 → 6 157/s, 3 → 5 050/s, 4 → 4 997/s
// (more batches at once make each smaller, and a create's share of the
// round trips larger). Since waiters wake on their own futex: 1 → 6 262–
// 7 111/s with the machine 71–73 % busy (each batch's eight round trips and
// commit are the limit), 2 → 6 516–7 370/s at 89–90 % busy.
constexpr int kCreateBatchesRunning = 2;
// While one batch runs, the other starts only once this many creates wait
// (or when the first ends). Starting at once with whatever waited made
// batches of 8.5 on average at 32 callers, and each batch's eight round trips
// were much of the CPU a create cost; waiting for 16 makes them 13–16, and
// the CPU per create (service, MariaDB, bench, other) went from 170–177 to
// 149–155 µs in interleaved runs (bench/README.md).
constexpr size_t kMinCreateBatchWhileBusy = kMaxCreateBatch / 2;
constexpr int kMaxSimilar = 10;
// Concurrent GetCustomer calls answered by one query at most.
constexpr size_t kMaxReadBatch = 32;
// One read batch at a time: reads queue behind it and share the next query.
// Measured with bench/ at 32 callers: two at once gave batches of 3.2 reads
// on average and cost MariaDB 20–24 µs of CPU per GetCustomer; one at once,
// 8.6 reads and 11–12 µs (a lone read still runs at once).
constexpr int kReadBatchesRunning = 1;

absl::Status CreateExpired() { return absl::DeadlineExceededError("deadline passed before the customer was written"); }
absl::Status ReadExpired() { return absl::DeadlineExceededError("deadline passed before the customer was read"); }
// Queued calls hold memory while the database stalls; past the queue's cap
// a call is refused at once instead.
absl::Status TooManyWaiting() {
  return absl::ResourceExhaustedError("too many calls are waiting for the database; retry with backoff");
}

// DATETIME(6) keeps microseconds.
absl::Time AsStored(absl::Time t) { return absl::FromUnixMicros(absl::ToUnixMicros(t)); }

// What CustomerFromRow reads back from the row INSERT wrote for `c` (the
// columns not written keep their defaults), so a create needs no read-back.
pb::Customer AsInserted(const pb::Customer& c, int64_t id, absl::Time now) {
  pb::Customer out = c;
  out.set_name(CustomerName(id));
  out.clear_tier();
  out.clear_value_score();
  out.clear_similar_customers();
  if (out.annual_revenue().currency_code().empty()) out.clear_annual_revenue();
  if (out.retention_stage() == pb::RETENTION_STAGE_UNSPECIFIED) out.set_retention_stage(pb::NO_RISK);
  if (out.has_last_verified_time()) {
    ToProto(AsStored(FromProto(out.last_verified_time())), out.mutable_last_verified_time());
  }
  if (out.has_directory_collected_time()) {
    ToProto(AsStored(FromProto(out.directory_collected_time())), out.mutable_directory_collected_time());
  }
  ToProto(AsStored(now), out.mutable_create_time());
  ToProto(AsStored(now), out.mutable_update_time());
  out.set_etag("1");
  out.set_service_mode(ServiceModeFor(out.tier(), out.high_value()));
  out.set_completeness(Completeness(out));
  return out;
}

// Inserts one customer row per request with one statement; the new ids in
// request order.
absl::StatusOr<std::vector<int64_t>> InsertCustomerRows(sql::Connection& conn,
                                                        const std::vector<const NewCustomer*>& rows) {
  const size_t columns = std::vector<std::string>(absl::StrSplit(kWritableColumns, ", ")).size();
  std::string row_values = "(?";
  for (size_t i = 1; i < columns; ++i) row_values += ", ?";
  row_values += ", 1, ?, ?)";
  std::string sql = absl::StrCat("INSERT INTO customers (", kWritableColumns,
                                 ", version, create_time, update_time) VALUES ");
  std::vector<Param> params;
  params.reserve(rows.size() * (columns + 2));
  for (size_t i = 0; i < rows.size(); ++i) {
    absl::StrAppend(&sql, i == 0 ? "" : ", ", row_values);
    std::vector<Param> values = WritableValues(rows[i]->customer);
    std::move(values.begin(), values.end(), std::back_inserter(params));
    params.push_back(rows[i]->actor.now);
    params.push_back(rows[i]->actor.now);
  }
  // RETURNING hands back each row's id as the row is written, i.e. in
  // VALUES order: no reliance on consecutive auto-increment values.
  sql += " RETURNING id";
  db::ResultSetPtr rs = db::QueryDynamic(conn, sql, params);
  std::vector<int64_t> ids;
  ids.reserve(rows.size());
  while (rs->next()) ids.push_back(rs->getInt64(1));
  if (ids.size() != rows.size()) {
    return absl::InternalError(absl::StrCat("INSERT returned ", ids.size(), " ids for ", rows.size(), " rows"));
  }
  return ids;
}

// For each name key, the ids of customers with that key (as the column's
// collation compares), up to kMaxSimilar + 1 a key, in any order: one
// `UNION ALL` of capped index reads.
std::vector<std::vector<int64_t>> SimilarIdsPerKey(sql::Connection& conn, const std::vector<std::string>& name_keys) {
  std::string sql;
  std::vector<Param> params;
  for (size_t i = 0; i < name_keys.size(); ++i) {
    absl::StrAppend(&sql, i == 0 ? "" : " UNION ALL ",
                    "(SELECT ? AS k, id FROM customers WHERE name_key = ? ORDER BY id LIMIT ",
                    kMaxSimilar + 1, ")");
    params.push_back(static_cast<int64_t>(i));
    params.push_back(name_keys[i]);
  }
  std::vector<std::vector<int64_t>> ids(name_keys.size());
  db::ResultSetPtr rs = db::QueryDynamic(conn, sql, params);
  while (rs->next()) {
    const auto k = static_cast<size_t>(rs->getInt64(1));
    if (k < ids.size()) ids[k].push_back(rs->getInt64(2));
  }
  return ids;
}

// As SimilarIdsPerKey, but with one range read over all the keys, which
// MariaDB plans once instead of once a key (the UNION, mostly its planning,
// was a fifth of MariaDB's CPU under CreateCustomer load). Each row says which keys it
// matches (the collation decides, not byte equality). Only when the read
// fills its limit can a key have lost rows to a more common one; then the
// capped per-key reads answer instead.
std::vector<std::vector<int64_t>> SimilarIds(sql::Connection& conn, const std::vector<std::string>& name_keys) {
  const size_t limit = name_keys.size() * (kMaxSimilar + 1);
  std::string sql = "SELECT id";
  std::vector<Param> params;
  for (const std::string& key : name_keys) {
    sql += ", name_key = ?";
    params.push_back(key);
  }
  sql += " FROM customers WHERE name_key IN (?";
  for (size_t i = 1; i < name_keys.size(); ++i) sql += ", ?";
  sql += ") ORDER BY name_key, id LIMIT ?";
  params.insert(params.end(), name_keys.begin(), name_keys.end());
  params.push_back(static_cast<int64_t>(limit));
  std::vector<std::vector<int64_t>> ids(name_keys.size());
  size_t rows = 0;
  db::ResultSetPtr rs = db::QueryDynamic(conn, sql, params);
  while (rs->next()) {
    ++rows;
    const int64_t id = rs->getInt64(1);
    for (size_t k = 0; k < name_keys.size(); ++k) {
      if (rs->getBoolean(static_cast<uint32_t>(k + 2))) ids[k].push_back(id);
    }
  }
  return rows < limit ? ids : SimilarIdsPerKey(conn, name_keys);
}

// For each name key, up to kMaxSimilar customers with that key other than
// the one in `own_ids` at the same index, lowest ids first.
std::vector<std::vector<std::string>> SimilarCustomerNames(sql::Connection& conn,
                                                           const std::vector<std::string>& name_keys,
                                                           const std::vector<int64_t>& own_ids) {
  std::vector<std::vector<int64_t>> ids = SimilarIds(conn, name_keys);
  std::vector<std::vector<std::string>> names(name_keys.size());
  for (size_t k = 0; k < ids.size(); ++k) {
    std::erase(ids[k], own_ids[k]);
    std::sort(ids[k].begin(), ids[k].end());
    if (ids[k].size() > kMaxSimilar) ids[k].resize(kMaxSimilar);
    for (int64_t id : ids[k]) names[k].push_back(CustomerName(id));
  }
  return names;
}

// `customer` with its similar customers.
absl::StatusOr<pb::Customer> WithSimilar(sql::Connection& conn, pb::Customer customer) {
  std::vector<std::vector<std::string>> similar =
      SimilarCustomerNames(conn, {NameKey(customer.display_name())}, {IdOf(customer)});
  for (std::string& name : similar[0]) customer.add_similar_customers(std::move(name));
  return customer;
}

// Writes new customers inside the caller's transaction: the rows, their
// idempotency keys, one "(created)" audit row each (CUS-12) and one
// CustomerCreated each, with one statement per table. A request id already
// used fails the statement with ALREADY_EXISTS, as does a credit code
// already held. Returns the customers as stored, with their similar ones.
absl::StatusOr<std::vector<pb::Customer>> WriteNewCustomers(sql::Connection& conn,
                                                            const std::vector<const NewCustomer*>& rows) {
  ASSIGN_OR_RETURN(std::vector<int64_t> ids, InsertCustomerRows(conn, rows));
  std::vector<pb::Customer> created;
  std::vector<db::IdempotentResult> keys;
  std::string audit_sql = kInsertFieldChanges;
  std::vector<Param> audit_params;
  std::vector<std::string> name_keys;
  for (size_t i = 0; i < rows.size(); ++i) {
    const NewCustomer& r = *rows[i];
    created.push_back(AsInserted(r.customer, ids[i], r.actor.now));
    const std::string& name = created.back().name();
    keys.push_back({r.actor.subject, r.request_id, name, r.actor.now});
    absl::StrAppend(&audit_sql, i == 0 ? "" : ", ", "(?, ?, ?, ?, ?, ?, ?, ?)");
    audit_params.insert(audit_params.end(), {ids[i], name, std::string("(created)"), std::string(),
                                             r.customer.display_name(), r.actor.subject, r.actor.method,
                                             r.actor.now});
    name_keys.push_back(NameKey(r.customer.display_name()));
  }
  db::RememberIdempotentResults(conn, kCreateMethod, keys);
  db::ExecuteDynamic(conn, audit_sql, audit_params);
  std::vector<std::vector<std::string>> similar = SimilarCustomerNames(conn, name_keys, ids);
  std::vector<pb::CustomerCreated> payloads;
  payloads.reserve(created.size());
  std::vector<events::OutboxEvent> events;
  for (size_t i = 0; i < created.size(); ++i) {
    payloads.push_back(CreatedEvent(created[i]));
    events.push_back({created[i].name(), &payloads.back(), rows[i]->actor.now});
    for (std::string& name : similar[i]) created[i].add_similar_customers(std::move(name));
  }
  events::AppendEvents(conn, events);  // last: it serialises appends until commit
  return created;
}

}  // namespace

// ---------------------------------------------------------------- customers

MysqlCustomerRepository::MysqlCustomerRepository(db::ConnectionPool& pool)
    : pool_(pool),
      creates_({.max_batch = kMaxCreateBatch,
                .max_running = kCreateBatchesRunning,
                .min_batch_while_busy = kMinCreateBatchWhileBusy},
               [this](absl::Span<CreateCommit::Item* const> batch) { CreateCustomers(batch); }, CreateExpired),
      // Every queued read joins the next batch: the IN list is padded to a
      // power of two instead (see GetCustomers).
      reads_({.max_batch = kMaxReadBatch, .max_running = kReadBatchesRunning, .power_of_two = false},
             [this](absl::Span<ReadBatch::Item* const> batch) { GetCustomers(batch); }, ReadExpired) {}

// SubmitAsync moves `done` only when it queues the request; refused, the
// callback is still here to answer.
void MysqlCustomerRepository::CreateCustomer(absl::Time deadline, const pb::Customer& c,
                                             const std::string& request_id, const Actor& actor,
                                             CustomerDone done) {
  if (!creates_.SubmitAsync(NewCustomer{deadline, c, request_id, actor}, deadline, std::move(done))) {
    std::move(done)(TooManyWaiting());
  }
}

absl::StatusOr<pb::Customer> MysqlCustomerRepository::CreateOne(const NewCustomer& request) {
  absl::StatusOr<pb::Customer> result =
      Tx(pool_, request.deadline, "create customer", [&](sql::Connection& conn) -> absl::StatusOr<pb::Customer> {
        ASSIGN_OR_RETURN(std::vector<pb::Customer> created, WriteNewCustomers(conn, {&request}));
        return std::move(created[0]);
      });
  if (result.status().code() != absl::StatusCode::kAlreadyExists) return result;
  return ExplainCreateConflict(request, result.status());
}

// A create refused with a duplicate key: a retry of a committed request
// (its first result), or a credit code another customer holds.
absl::StatusOr<pb::Customer> MysqlCustomerRepository::ExplainCreateConflict(const NewCustomer& request,
                                                                            const absl::Status& conflict) {
  return Read(pool_, request.deadline, "create customer", [&](sql::Connection& conn) -> absl::StatusOr<pb::Customer> {
    if (auto existing = db::FindIdempotentResult(
            conn, {.method = kCreateMethod, .caller = request.actor.subject, .request_id = request.request_id})) {
      ASSIGN_OR_RETURN(pb::Customer first, LoadCustomer(conn, TrailingId(*existing), false));
      return WithSimilar(conn, std::move(first));
    }
    const std::string& code = request.customer.credit_code();
    if (!code.empty()) {
      auto rs = Query(conn, "SELECT id FROM customers WHERE credit_code = ?", code);
      if (rs->next()) {
        return absl::AlreadyExistsError(
            absl::StrCat("credit code ", code, " already belongs to ", CustomerName(rs->getInt64(1))));
      }
    }
    return conflict;
  });
}

void MysqlCustomerRepository::CreateCustomers(absl::Span<CreateCommit::Item* const> batch) {
  if (batch.size() == 1) {
    batch[0]->result = CreateOne(batch[0]->request);
    return;
  }
  using Item = CreateCommit::Item;
  // Sorted out before the transaction: requests whose deadline has passed
  // are not written; a second request with a request id its caller already
  // used in the batch gets the first one's answer; a second request with a credit code
  // already in the batch runs alone afterwards (to be refused with the
  // holder's name).
  const absl::Time now = absl::Now();
  std::vector<Item*> writes, alone;
  std::vector<std::pair<Item*, Item*>> retries;  // (retry, first)
  std::map<std::pair<std::string, std::string>, Item*> by_caller_request_id;
  std::set<std::string> credit_codes;
  absl::Time deadline = now;
  for (Item* item : batch) {
    const NewCustomer& r = item->request;
    if (r.deadline <= now) {
      item->result = CreateExpired();
      continue;
    }
    if (!r.request_id.empty()) {
      auto [first, inserted] = by_caller_request_id.emplace(std::pair(r.actor.subject, r.request_id), item);
      if (!inserted) {
        retries.emplace_back(item, first->second);
        continue;
      }
    }
    if (!r.customer.credit_code().empty() && !credit_codes.insert(r.customer.credit_code()).second) {
      alone.push_back(item);
      continue;
    }
    writes.push_back(item);
    deadline = std::max(deadline, r.deadline);
  }

  // Per attempt (the transaction may run again after a deadlock).
  std::vector<absl::StatusOr<pb::Customer>> results;
  absl::Status written = writes.empty() ? absl::OkStatus() : Tx(pool_, deadline, "create customers", [&](sql::Connection& conn) -> absl::Status {
    results.assign(writes.size(), absl::UnknownError("not written"));
    std::vector<Param> codes;
    for (const Item* item : writes) {
      if (!item->request.customer.credit_code().empty()) codes.push_back(item->request.customer.credit_code());
    }
    std::set<std::string> holders;
    if (!codes.empty()) {
      std::string sql = "SELECT credit_code FROM customers WHERE credit_code IN (?";
      for (size_t i = 1; i < codes.size(); ++i) sql += ", ?";
      db::ResultSetPtr rs = db::QueryDynamic(conn, sql + ")", codes);
      while (rs->next()) holders.insert(rs->getString(1));
    }
    std::vector<const NewCustomer*> rows;
    std::vector<size_t> row_index;
    for (size_t i = 0; i < writes.size(); ++i) {
      const NewCustomer& r = writes[i]->request;
      if (holders.count(r.customer.credit_code()) != 0) {
        // Answered after the commit: the holder may be this request's own
        // earlier attempt.
        results[i] = absl::AlreadyExistsError("credit code already held");
        continue;
      }
      rows.push_back(&r);
      row_index.push_back(i);
    }
    if (rows.empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::vector<pb::Customer> created, WriteNewCustomers(conn, rows));
    for (size_t j = 0; j < created.size(); ++j) results[row_index[j]] = std::move(created[j]);
    return absl::OkStatus();
  });

  if (written.ok()) {
    for (size_t i = 0; i < writes.size(); ++i) {
      writes[i]->result = results[i].status().code() == absl::StatusCode::kAlreadyExists
                              ? ExplainCreateConflict(writes[i]->request, results[i].status())
                              : std::move(results[i]);
    }
  } else {
    // One request the batch could not take (a key another transaction
    // committed meanwhile, a row the database refuses) fails the whole
    // statement: write them one at a time, so only that one fails.
    log::Warning("create batch rolled back; creating one at a time",
                 {{"requests", absl::StrCat(writes.size())}, {"status", written.ToString()}});
    for (Item* item : writes) item->result = CreateOne(item->request);
  }
  for (Item* item : alone) item->result = CreateOne(item->request);
  for (auto& [retry, first] : retries) retry->result = first->result;
}

void MysqlCustomerRepository::GetCustomer(absl::Time deadline, int64_t id, CustomerDone done) {
  if (!reads_.SubmitAsync(CustomerRead{deadline, id}, deadline, std::move(done))) {
    std::move(done)(TooManyWaiting());
  }
}

absl::StatusOr<pb::Customer> MysqlCustomerRepository::GetCustomer(absl::Time deadline, int64_t id) {
  return reads_.Submit(CustomerRead{deadline, id}, deadline);
}

void MysqlCustomerRepository::GetCustomers(absl::Span<ReadBatch::Item* const> batch) {
  // Each read's query starts after its call arrived, so a batch sees every
  // write committed before any of its calls: batching changes no answer.
  const absl::Time now = absl::Now();
  std::vector<ReadBatch::Item*> reads;
  absl::Time deadline = now;
  for (ReadBatch::Item* item : batch) {
    if (item->request.deadline <= now) {
      item->result = ReadExpired();
      continue;
    }
    reads.push_back(item);
    deadline = std::max(deadline, item->request.deadline);
  }
  if (reads.empty()) return;
  if (reads.size() == 1) {
    const int64_t id = reads[0]->request.id;
    reads[0]->result = Read(pool_, deadline, "get customer",
                            [&](sql::Connection& conn) { return LoadCustomer(conn, id, false); });
    return;
  }
  // The IN list is padded to a power of two with the last id repeated, so
  // every pooled connection caches at most log2(kMaxReadBatch) such texts.
  std::vector<Param> ids;
  for (const ReadBatch::Item* item : reads) ids.emplace_back(item->request.id);
  size_t placeholders = 2;
  while (placeholders < ids.size()) placeholders *= 2;
  ids.resize(placeholders, ids.back());
  std::string sql = absl::StrCat("SELECT ", kCustomerColumns, " FROM customers WHERE id IN (?");
  for (size_t i = 1; i < placeholders; ++i) sql += ", ?";
  sql += ")";
  // At most kMaxReadBatch rows: plain vectors and linear scans beat hashing.
  using Rows = std::vector<std::pair<int64_t, pb::Customer>>;
  absl::StatusOr<Rows> rows = Read(pool_, deadline, "get customers", [&](sql::Connection& conn) -> absl::StatusOr<Rows> {
    db::ResultSetPtr rs = db::QueryDynamic(conn, sql, ids);
    Rows out;
    out.reserve(reads.size());
    while (rs->next()) out.emplace_back(rs->getInt64(Col("id")), CustomerFromRow(*rs));
    return out;
  });
  if (!rows.ok()) {
    for (ReadBatch::Item* item : reads) item->result = rows.status();
    return;
  }
  for (size_t i = 0; i < reads.size(); ++i) {
    const int64_t id = reads[i]->request.id;
    auto row = std::find_if(rows->begin(), rows->end(), [id](const auto& r) { return r.first == id; });
    if (row == rows->end()) {
      reads[i]->result = CustomerNotFound(id);
      continue;
    }
    // The last read of a row takes it; an earlier read of the same id copies.
    const bool read_again = std::any_of(reads.begin() + static_cast<std::ptrdiff_t>(i) + 1, reads.end(),
                                        [id](const ReadBatch::Item* later) { return later->request.id == id; });
    reads[i]->result = read_again ? row->second : std::move(row->second);
  }
}

absl::StatusOr<pb::Customer> MysqlCustomerRepository::MutateCustomer(absl::Time deadline, int64_t id,
                                                                     const Actor& actor,
                                                                     const CustomerMutation& mutate) {
  return Tx(pool_, deadline, "update customer", [&](sql::Connection& conn) -> absl::StatusOr<pb::Customer> {
    ASSIGN_OR_RETURN(pb::Customer before, LoadCustomer(conn, id, true));
    pb::Customer after = before;
    RETURN_IF_ERROR(mutate(after));
    return WriteCustomerChanges(conn, before, after, actor);
  });
}

absl::StatusOr<std::vector<pb::Customer>> MysqlCustomerRepository::ListCustomers(
    absl::Time deadline, const CustomerFilter& filter, int64_t after_id, int limit) {
  return Read(pool_, deadline, "list customers", [&](sql::Connection& conn) -> absl::StatusOr<std::vector<pb::Customer>> {
    std::string where = "id > ?";
    std::vector<Param> params = {after_id};
    AppendFilter(filter, where, params);
    params.push_back(int64_t{limit});
    db::ResultSetPtr rs = db::QueryDynamic(conn,
                           absl::StrCat("SELECT ", kCustomerColumns, " FROM customers WHERE ", where,
                                        " ORDER BY id LIMIT ?"),
                           params);
    std::vector<pb::Customer> out;
    while (rs->next()) out.push_back(CustomerFromRow(*rs));
    return out;
  });
}

absl::StatusOr<pb::Customer> MysqlCustomerRepository::RecordVerification(
    absl::Time deadline, int64_t id, const Actor& actor, const CustomerGuard& guard,
    int fields_checked, int fields_corrected, bool directory_recollected) {
  return Tx(pool_, deadline, "verify customer", [&](sql::Connection& conn) -> absl::StatusOr<pb::Customer> {
    ASSIGN_OR_RETURN(pb::Customer before, LoadCustomer(conn, id, true));
    RETURN_IF_ERROR(guard(before));
    pb::Customer after = before;
    ToProto(actor.now, after.mutable_last_verified_time());
    if (directory_recollected) ToProto(actor.now, after.mutable_directory_collected_time());
    Execute(conn,
            "INSERT INTO verifications (customer_id, fields_checked, fields_corrected, verified_by, "
            "verify_time) VALUES (?, ?, ?, ?, ?)",
            id, fields_checked, fields_corrected, actor.subject, actor.now);
    ASSIGN_OR_RETURN(pb::Customer written, WriteCustomerChanges(conn, before, after, actor));
    events::AppendEvent(conn, written.name(), VerifiedEvent(written, actor.now), actor.now);
    return written;
  });
}

absl::StatusOr<std::vector<pb::FieldChange>> MysqlCustomerRepository::ListFieldChanges(
    absl::Time deadline, int64_t customer_id, int64_t after_id, int limit, int64_t* last_id) {
  return Read(pool_, deadline, "list changes", [&](sql::Connection& conn) -> absl::StatusOr<std::vector<pb::FieldChange>> {
    auto rs = Query(conn,
                    "SELECT id, resource, field, old_value, new_value, actor, method, change_time "
                    "FROM field_changes WHERE customer_id = ? AND id > ? ORDER BY id LIMIT ?",
                    customer_id, after_id, limit);
    std::vector<pb::FieldChange> out;
    while (rs->next()) {
      pb::FieldChange& c = out.emplace_back();
      *last_id = rs->getInt64("id");
      c.set_resource(rs->getString("resource"));
      c.set_field(rs->getString("field"));
      c.set_old_value(rs->getString("old_value"));
      c.set_new_value(rs->getString("new_value"));
      c.set_actor(rs->getString("actor"));
      c.set_method(rs->getString("method"));
      ToProto(db::ParseDateTime(rs->getString("change_time")), c.mutable_change_time());
    }
    return out;
  });
}

// ----------------------------------------------------------------- contacts

absl::StatusOr<pb::Contact> MysqlCustomerRepository::CreateContact(
    absl::Time deadline, int64_t customer_id, const CustomerGuard& guard, const pb::Contact& c,
    const std::string& request_id, const Actor& actor) {
  const db::IdempotencyKey key{.method = "CreateContact", .caller = actor.subject, .request_id = request_id};
  auto load_named = [customer_id](sql::Connection& conn, const std::string& name) {
    return LoadContact(conn, customer_id, TrailingId(name), false);
  };
  auto result = Tx(pool_, deadline, "create contact", [&](sql::Connection& conn) -> absl::StatusOr<pb::Contact> {
    ASSIGN_OR_RETURN(pb::Customer customer, GuardCustomer(conn, customer_id, guard));
    if (auto existing = db::FindIdempotentResult(conn, key)) return load_named(conn, *existing);
    Execute(conn,
            "INSERT INTO contacts (customer_id, display_name, role, phone, title, birthday, hobbies, "
            "family_notes, vip_level, version, create_time, update_time) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
            customer_id, c.display_name(), int64_t{c.role()}, c.phone(), c.title(),
            DateColumn(c.has_birthday(), c.birthday()), c.hobbies(), c.family_notes(),
            int64_t{c.vip_level()}, actor.now, actor.now);
    const int64_t id = db::LastInsertId(conn);
    db::RememberIdempotentResult(conn, key, ContactName(customer_id, id), actor.now);
    InsertFieldChanges(conn, customer_id, ContactName(customer_id, id),
                       {{"(created)", "", c.display_name()}}, actor);
    ASSIGN_OR_RETURN(pb::Contact created, LoadContact(conn, customer_id, id, false));
    events::AppendEvent(conn, created.name(), ContactAddedEvent(customer, created), actor.now);
    return created;
  });
  return ResolveIdempotentRace(result, pool_, deadline, key, load_named);
}

absl::StatusOr<pb::Contact> MysqlCustomerRepository::GetContact(absl::Time deadline,
                                                                int64_t customer_id,
                                                                int64_t contact_id) {
  return Read(pool_, deadline, "get contact", [&](sql::Connection& conn) {
    return LoadContact(conn, customer_id, contact_id, false);
  });
}

absl::StatusOr<pb::Contact> MysqlCustomerRepository::MutateContact(
    absl::Time deadline, int64_t customer_id, int64_t contact_id, const CustomerGuard& guard,
    const std::function<absl::Status(pb::Contact&)>& mutate, const Actor& actor) {
  return Tx(pool_, deadline, "update contact", [&](sql::Connection& conn) -> absl::StatusOr<pb::Contact> {
    ASSIGN_OR_RETURN(pb::Customer customer, GuardCustomer(conn, customer_id, guard));
    ASSIGN_OR_RETURN(pb::Contact before, LoadContact(conn, customer_id, contact_id, true));
    pb::Contact after = before;
    RETURN_IF_ERROR(mutate(after));
    std::vector<FieldDiff> diffs =
        DiffMessages(before, after, {"name", "etag", "create_time", "update_time"});
    if (diffs.empty()) return before;
    Execute(conn,
            "UPDATE contacts SET display_name = ?, role = ?, phone = ?, title = ?, birthday = ?, "
            "hobbies = ?, family_notes = ?, vip_level = ?, version = version + 1, update_time = ? "
            "WHERE customer_id = ? AND id = ?",
            after.display_name(), int64_t{after.role()}, after.phone(), after.title(),
            DateColumn(after.has_birthday(), after.birthday()), after.hobbies(), after.family_notes(),
            int64_t{after.vip_level()}, actor.now, customer_id, contact_id);
    InsertFieldChanges(conn, customer_id, after.name(), diffs, actor);
    ASSIGN_OR_RETURN(pb::Contact written, LoadContact(conn, customer_id, contact_id, false));
    events::AppendEvent(conn, written.name(), ContactChangedEvent(customer, written), actor.now);
    return written;
  });
}

absl::Status MysqlCustomerRepository::DeleteContact(
    absl::Time deadline, int64_t customer_id, int64_t contact_id, const CustomerGuard& guard,
    const std::function<absl::Status(const pb::Contact&)>& check, const Actor& actor) {
  return Tx(pool_, deadline, "delete contact", [&](sql::Connection& conn) -> absl::Status {
    ASSIGN_OR_RETURN(pb::Customer customer, GuardCustomer(conn, customer_id, guard));
    ASSIGN_OR_RETURN(pb::Contact contact, LoadContact(conn, customer_id, contact_id, true));
    RETURN_IF_ERROR(check(contact));
    Execute(conn, "DELETE FROM contacts WHERE customer_id = ? AND id = ?", customer_id, contact_id);
    InsertFieldChanges(conn, customer_id, contact.name(), {{"(deleted)", contact.display_name(), ""}},
                       actor);
    events::AppendEvent(conn, contact.name(), ContactRemovedEvent(customer, contact), actor.now);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<pb::Contact>> MysqlCustomerRepository::ListContacts(
    absl::Time deadline, int64_t customer_id, pb::ContactRole role, int64_t after_id, int limit) {
  return Read(pool_, deadline, "list contacts", [&](sql::Connection& conn) -> absl::StatusOr<std::vector<pb::Contact>> {
    auto rs = Query(conn,
                    absl::StrCat("SELECT ", kContactColumns,
                                 " FROM contacts WHERE customer_id = ? AND id > ? AND (? = 0 OR role = ?)"
                                 " ORDER BY id LIMIT ?"),
                    customer_id, after_id, int64_t{role}, int64_t{role}, limit);
    std::vector<pb::Contact> out;
    while (rs->next()) out.push_back(ContactFromRow(*rs));
    return out;
  });
}

// ------------------------------------------------------------------ members

absl::Status MysqlCustomerRepository::UpsertMembers(absl::Time deadline, int64_t customer_id,
                                                    const std::vector<pb::Member>& members,
                                                    absl::Time now) {
  if (members.empty()) return absl::OkStatus();
  return Tx(pool_, deadline, "import members", [&](sql::Connection& conn) -> absl::Status {
    std::string sql =
        "INSERT INTO members (customer_id, phone, display_name, department, title, brand, products, "
        "collected_at) VALUES ";
    std::vector<Param> params;
    params.reserve(members.size() * 8);
    for (size_t i = 0; i < members.size(); ++i) {
      const pb::Member& m = members[i];
      absl::StrAppend(&sql, i == 0 ? "" : ",", "(?,?,?,?,?,?,?,?)");
      params.insert(params.end(), {customer_id, m.phone(), m.display_name(), m.department(), m.title(),
                                   m.brand(), absl::StrJoin(m.products(), ";"), now});
    }
    sql +=
        " ON DUPLICATE KEY UPDATE display_name = VALUES(display_name), department = "
        "VALUES(department), title = VALUES(title), brand = VALUES(brand), products = "
        "VALUES(products), collected_at = VALUES(collected_at)";
    db::ExecuteDynamic(conn, sql, params);
    return absl::OkStatus();
  });
}

absl::StatusOr<absl::Time> MysqlCustomerRepository::FinishMemberImport(absl::Time deadline,
                                                                       int64_t customer_id,
                                                                       const Actor& actor) {
  return Tx(pool_, deadline, "finish import", [&](sql::Connection& conn) -> absl::StatusOr<absl::Time> {
    ASSIGN_OR_RETURN(pb::Customer before, LoadCustomer(conn, customer_id, true));
    int64_t member_count = 0;
    std::set<std::string> products;
    auto rs = Query(conn, "SELECT products FROM members WHERE customer_id = ?", customer_id);
    while (rs->next()) {
      ++member_count;
      for (absl::string_view p : absl::StrSplit(std::string(rs->getString(1)), ';', absl::SkipEmpty())) {
        products.emplace(p);
      }
    }
    Execute(conn, "UPDATE customers SET member_count = ?, product_count = ? WHERE id = ?", member_count,
            static_cast<int64_t>(products.size()), customer_id);
    pb::Customer after = before;
    ToProto(actor.now, after.mutable_directory_collected_time());
    RETURN_IF_ERROR(WriteCustomerChanges(conn, before, after, actor).status());
    return actor.now;
  });
}

absl::StatusOr<std::vector<pb::Member>> MysqlCustomerRepository::ListMembers(
    absl::Time deadline, int64_t customer_id, const std::string& after_phone, int limit) {
  return Read(pool_, deadline, "list members", [&](sql::Connection& conn) -> absl::StatusOr<std::vector<pb::Member>> {
    auto rs = Query(conn,
                    "SELECT phone, display_name, department, title, brand, products FROM members "
                    "WHERE customer_id = ? AND phone > ? ORDER BY phone LIMIT ?",
                    customer_id, after_phone, limit);
    std::vector<pb::Member> out;
    while (rs->next()) {
      pb::Member& m = out.emplace_back();
      m.set_phone(rs->getString("phone"));
      m.set_display_name(rs->getString("display_name"));
      m.set_department(rs->getString("department"));
      m.set_title(rs->getString("title"));
      m.set_brand(rs->getString("brand"));
      for (absl::string_view p : absl::StrSplit(std::string(rs->getString("products")), ';', absl::SkipEmpty())) {
        m.add_products(std::string(p));
      }
    }
    return out;
  });
}

// -------------------------------------------------------------- value model

namespace {

absl::StatusOr<pb::ValueModel> LoadValueModel(sql::Connection& conn, bool for_update) {
  auto rs = Query(conn, absl::StrCat("SELECT revenue_weight, employee_weight, qualification_weight, "
                                     "product_count_weight, member_count_weight, version, update_time "
                                     "FROM value_model WHERE id = 1",
                                     for_update ? " FOR UPDATE" : ""));
  if (!rs->next()) return absl::InternalError("value model row missing");
  pb::ValueModel m;
  m.set_revenue_weight(static_cast<double>(rs->getDouble(1)));
  m.set_employee_weight(static_cast<double>(rs->getDouble(2)));
  m.set_qualification_weight(static_cast<double>(rs->getDouble(3)));
  m.set_product_count_weight(static_cast<double>(rs->getDouble(4)));
  m.set_member_count_weight(static_cast<double>(rs->getDouble(5)));
  m.set_etag(absl::StrCat(rs->getInt64(6)));
  ToProto(db::ParseDateTime(rs->getString(7)), m.mutable_update_time());
  return m;
}

}  // namespace

absl::StatusOr<pb::ValueModel> MysqlCustomerRepository::GetValueModel(absl::Time deadline) {
  return Read(pool_, deadline, "get value model",
              [&](sql::Connection& conn) { return LoadValueModel(conn, false); });
}

absl::StatusOr<pb::ValueModel> MysqlCustomerRepository::MutateValueModel(
    absl::Time deadline, const std::function<absl::Status(pb::ValueModel&)>& mutate, absl::Time now) {
  return Tx(pool_, deadline, "update value model", [&](sql::Connection& conn) -> absl::StatusOr<pb::ValueModel> {
    ASSIGN_OR_RETURN(pb::ValueModel model, LoadValueModel(conn, true));
    RETURN_IF_ERROR(mutate(model));
    Execute(conn,
            "UPDATE value_model SET revenue_weight = ?, employee_weight = ?, qualification_weight = ?, "
            "product_count_weight = ?, member_count_weight = ?, version = version + 1, update_time = ? "
            "WHERE id = 1",
            model.revenue_weight(), model.employee_weight(), model.qualification_weight(),
            model.product_count_weight(), model.member_count_weight(), now);
    return LoadValueModel(conn, false);
  });
}

namespace {

// TierChanged for every customer a recompute moved (rows of tier_updates
// with moved = 1), with the owner and team consumers route by; the last
// statements of the recompute's transaction.
void AppendTierChangedEvents(sql::Connection& conn, const std::vector<const RankingResult*>& moved,
                             absl::Time now) {
  absl::flat_hash_map<int64_t, std::pair<std::string, std::string>> owners;
  {
    auto rs = Query(conn,
                    "SELECT c.id, c.owner, c.team FROM customers c JOIN tier_updates u ON c.id = u.id "
                    "WHERE u.moved = 1");
    while (rs->next()) owners[rs->getInt64(1)] = {rs->getString(2), rs->getString(3)};
  }
  std::vector<pb::TierChanged> payloads;
  payloads.reserve(moved.size());
  for (const RankingResult* r : moved) {
    pb::TierChanged& e = payloads.emplace_back();
    e.set_customer(CustomerName(r->id));
    e.set_old_tier(r->old_tier);
    e.set_new_tier(r->tier);
    e.set_value_score(r->score);
    e.set_owner(owners[r->id].first);
    e.set_team(owners[r->id].second);
  }
  std::vector<events::OutboxEvent> batch;
  batch.reserve(payloads.size());
  for (const pb::TierChanged& e : payloads) batch.push_back({e.customer(), &e, now});
  events::AppendEvents(conn, batch);
}

}  // namespace

absl::StatusOr<CustomerRepository::RankingOutcome> MysqlCustomerRepository::RecomputeTiers(
    absl::Time deadline, const Ranker& rank, const std::string& reason, absl::Time now) {
  auto lease = pool_.Acquire(deadline);
  if (!lease.ok()) return lease.status();
  sql::Connection& conn = lease->get();
  try {
    // One recompute at a time across replicas; released on every path.
    const int64_t wait = std::max<int64_t>(1, absl::ToInt64Seconds(deadline - absl::Now()));
    auto locked = Query(conn, "SELECT GET_LOCK('crm_customers_tiers', ?)", wait);
    if (!locked->next() || locked->getInt(1) != 1) {
      return absl::AbortedError("another tier recompute is running");
    }
    struct Unlock {
      sql::Connection& conn;
      ~Unlock() {
        try {
          Execute(conn, "DO RELEASE_LOCK('crm_customers_tiers')");
        } catch (const sql::SQLException&) {
        }
      }
    } unlock{conn};

    std::vector<RankingInput> inputs;
    {
      auto rs = Query(conn,
                      "SELECT id, revenue_units, revenue_nanos, employee_count, qualification_rating, "
                      "product_count, member_count, tier, value_score FROM customers "
                      "WHERE kind = ? AND status = ?",
                      int64_t{pb::ENTERPRISE}, int64_t{pb::ACTIVE});
      while (rs->next()) {
        RankingInput& in = inputs.emplace_back();
        in.id = rs->getInt64(1);
        in.revenue = static_cast<double>(rs->getInt64(2)) + rs->getInt(3) / 1e9;
        in.employees = static_cast<double>(rs->getInt64(4));
        in.qualification = QualificationScore(std::string(rs->getString(5)));
        in.products = static_cast<double>(rs->getInt64(6));
        in.members = static_cast<double>(rs->getInt64(7));
        in.old_tier = static_cast<pb::Tier>(rs->getInt(8));
        in.old_score = static_cast<double>(rs->getDouble(9));
      }
    }
    const std::vector<RankingResult> results = rank(inputs);

    RankingOutcome outcome;
    outcome.ranked = static_cast<int64_t>(results.size());
    std::vector<const RankingResult*> dirty;
    for (const RankingResult& r : results) {
      ++outcome.tier_counts[std::string(TierName(r.tier))];
      if (r.tier != r.old_tier || r.score != r.old_score) dirty.push_back(&r);
      if (r.tier != r.old_tier) ++outcome.changed;
    }

    // The new scores and tiers go into a session temporary table in batches
    // of bound rows (full double precision, so an unchanged score compares
    // equal next time), then one UPDATE … JOIN writes them: a CASE over the
    // ids costs each row a scan of the whole CASE list.
    Execute(conn, "DROP TEMPORARY TABLE IF EXISTS tier_updates");
    Execute(conn,
            "CREATE TEMPORARY TABLE tier_updates (id BIGINT NOT NULL PRIMARY KEY, "
            "score DOUBLE NOT NULL, tier TINYINT NOT NULL, moved TINYINT NOT NULL, "
            "old_tier TINYINT NOT NULL, `rank` BIGINT NOT NULL, position BIGINT NOT NULL) ENGINE=MEMORY");
    constexpr size_t kBatch = 1000;
    for (size_t start = 0; start < dirty.size(); start += kBatch) {
      const size_t end = std::min(dirty.size(), start + kBatch);
      std::string sql = "INSERT INTO tier_updates (id, score, tier, moved, old_tier, `rank`, position) VALUES ";
      std::vector<Param> params;
      params.reserve((end - start) * 7);
      for (size_t i = start; i < end; ++i) {
        const RankingResult& r = *dirty[i];
        absl::StrAppend(&sql, i == start ? "" : ",", "(?,?,?,?,?,?,?)");
        params.insert(params.end(), {r.id, r.score, int64_t{r.tier}, int64_t{r.tier != r.old_tier},
                                     int64_t{r.old_tier}, r.rank, static_cast<int64_t>(i)});
      }
      db::ExecuteDynamic(conn, sql, params);
    }

    db::internal::Begin(conn);
    try {
      // Version (and so the etag) and update_time move only for customers
      // whose tier moved.
      Execute(conn,
              "UPDATE customers c JOIN tier_updates u ON c.id = u.id SET "
              "c.version = c.version + u.moved, "
              "c.update_time = IF(u.moved = 1, ?, c.update_time), "
              "c.value_score = u.score, c.tier = u.tier",
              now);
      std::vector<const RankingResult*> moved;
      for (const RankingResult* r : dirty) {
        if (r->tier != r->old_tier) moved.push_back(r);
      }
      // One statement from the rows already on the server: binding 100 000
      // rows' history from here took a quarter of a full recompute.
      Execute(conn,
              "INSERT INTO tier_changes (customer_id, old_tier, new_tier, score, reason, change_time) "
              "SELECT id, old_tier, tier, score, CONCAT(?, ' (rank ', `rank`, ' of ', ?, ')'), ? "
              "FROM tier_updates WHERE moved = 1 ORDER BY position",
              reason, static_cast<int64_t>(results.size()), now);
      AppendTierChangedEvents(conn, moved, now);
      db::internal::Commit(conn);
    } catch (const sql::SQLException&) {
      db::internal::RollbackQuietly(conn);
      throw;
    }
    Execute(conn, "DROP TEMPORARY TABLE tier_updates");
    return outcome;
  } catch (const sql::SQLException& e) {
    if (db::IsConnectionError(e.getErrorCode())) lease->MarkBroken();
    return db::ToStatus(e, "recompute tiers");
  }
}

absl::StatusOr<std::vector<pb::TierChange>> MysqlCustomerRepository::ListTierChanges(
    absl::Time deadline, const AccessScope& scope, std::optional<int64_t> customer_id,
    int64_t after_id, int limit, int64_t* last_id) {
  return Read(pool_, deadline, "list tier changes", [&](sql::Connection& conn) -> absl::StatusOr<std::vector<pb::TierChange>> {
    std::string where = "t.id > ?";
    std::vector<Param> params = {after_id};
    if (customer_id) {
      where += " AND t.customer_id = ?";
      params.push_back(*customer_id);
    }
    AppendScope(scope, "c.", where, params);
    params.push_back(int64_t{limit});
    db::ResultSetPtr rs = db::QueryDynamic(conn,
                           absl::StrCat("SELECT t.id, t.customer_id, t.old_tier, t.new_tier, t.score, "
                                        "t.reason, t.change_time FROM tier_changes t JOIN customers c "
                                        "ON c.id = t.customer_id WHERE ",
                                        where, " ORDER BY t.id LIMIT ?"),
                           params);
    std::vector<pb::TierChange> out;
    while (rs->next()) {
      pb::TierChange& t = out.emplace_back();
      *last_id = rs->getInt64(1);
      t.set_customer(CustomerName(rs->getInt64(2)));
      t.set_old_tier(static_cast<pb::Tier>(rs->getInt(3)));
      t.set_new_tier(static_cast<pb::Tier>(rs->getInt(4)));
      t.set_score(static_cast<double>(rs->getDouble(5)));
      t.set_reason(rs->getString(6));
      ToProto(db::ParseDateTime(rs->getString(7)), t.mutable_change_time());
    }
    return out;
  });
}

// --------------------------------------------------------- freshness, quality

namespace {

// CUS-6: the basic data was last verified (or created) before the cut-off of
// its tier class (A1/A2, B1/B2); binds cutoffs.a_verified_before, then
// cutoffs.b_verified_before.
constexpr char kBasicDataStale[] =
    "((tier IN (1, 2) AND COALESCE(last_verified_at, create_time) < ?)"
    " OR (tier IN (3, 4) AND COALESCE(last_verified_at, create_time) < ?))";

// The current lapse has not been announced: stale_announced_for holds the
// verification time of the last lapse announced (NULL: none yet).
constexpr char kLapseNotAnnounced[] =
    "NOT (stale_announced_for <=> COALESCE(last_verified_at, create_time))";

}  // namespace

absl::StatusOr<FreshnessPolicy> MysqlCustomerRepository::GetFreshnessPolicy(absl::Time deadline) {
  return Read(pool_, deadline, "freshness policy", [&](sql::Connection& conn) -> absl::StatusOr<FreshnessPolicy> {
    FreshnessPolicy policy;
    auto rs = Query(conn, "SELECT what, months FROM freshness_policy");
    while (rs->next()) {
      const std::string what = rs->getString(1);
      const int months = rs->getInt(2);
      if (what == "A") policy.a_months = months;
      if (what == "B") policy.b_months = months;
      if (what == "DIRECTORY") policy.directory_months = months;
    }
    return policy;
  });
}

absl::StatusOr<std::vector<pb::Customer>> MysqlCustomerRepository::ListStaleCustomers(
    absl::Time deadline, const CustomerFilter& filter, const StaleCutoffs& cutoffs, int64_t after_id,
    int limit) {
  return Read(pool_, deadline, "list stale customers", [&](sql::Connection& conn) -> absl::StatusOr<std::vector<pb::Customer>> {
    std::string where = "id > ?";
    std::vector<Param> params = {after_id};
    AppendFilter(filter, where, params);
    absl::StrAppend(&where, " AND (", kBasicDataStale,
                    " OR (kind = 1 AND COALESCE(directory_collected_at, create_time) < ?))");
    params.insert(params.end(), {cutoffs.a_verified_before, cutoffs.b_verified_before,
                                 cutoffs.directory_before, int64_t{limit}});
    db::ResultSetPtr rs = db::QueryDynamic(conn,
                           absl::StrCat("SELECT ", kCustomerColumns, " FROM customers WHERE ", where,
                                        " ORDER BY id LIMIT ?"),
                           params);
    std::vector<pb::Customer> out;
    while (rs->next()) out.push_back(CustomerFromRow(*rs));
    return out;
  });
}

absl::StatusOr<StaleBatch> MysqlCustomerRepository::AnnounceStaleCustomers(
    absl::Time deadline, const FreshnessPolicy& policy, const StaleCutoffs& cutoffs, int64_t after_id,
    int limit, absl::Time now) {
  return Tx(pool_, deadline, "announce stale customers", [&](sql::Connection& conn) -> absl::StatusOr<StaleBatch> {
    // Candidates by a plain read first, so the locking read below touches
    // only them (a locking scan would lock every row it passes).
    CustomerFilter active;
    active.scope.kind = AccessScope::Kind::kAll;
    std::string where;
    std::vector<Param> params;
    AppendFilter(active, where, params);  // not archived
    absl::StrAppend(&where, " AND ", kBasicDataStale, " AND ", kLapseNotAnnounced);
    params.insert(params.end(), {cutoffs.a_verified_before, cutoffs.b_verified_before});
    std::vector<Param> candidate_params = {after_id};
    candidate_params.insert(candidate_params.end(), params.begin(), params.end());
    candidate_params.push_back(int64_t{limit});
    StaleBatch batch;
    std::vector<int64_t> candidates;
    {
      db::ResultSetPtr rs = db::QueryDynamic(
          conn, absl::StrCat("SELECT id FROM customers WHERE id > ?", where, " ORDER BY id LIMIT ?"),
          candidate_params);
      while (rs->next()) candidates.push_back(rs->getInt64(1));
    }
    if (candidates.empty()) return batch;
    batch.last_id = candidates.back();
    batch.more = static_cast<int>(candidates.size()) == limit;

    // Claim them, checking the condition again on the current rows: another
    // replica may have announced one since (or holds it: SKIP LOCKED).
    std::vector<Param> claim_params(candidates.begin(), candidates.end());
    claim_params.insert(claim_params.end(), params.begin(), params.end());
    std::vector<pb::Customer> claimed;
    {
      db::ResultSetPtr rs = db::QueryDynamic(
          conn,
          absl::StrCat("SELECT ", kCustomerColumns, " FROM customers WHERE id IN (",
                       absl::StrJoin(std::vector<std::string>(candidates.size(), "?"), ","), ")", where,
                       " ORDER BY id FOR UPDATE SKIP LOCKED"),
          claim_params);
      while (rs->next()) claimed.push_back(CustomerFromRow(*rs));
    }
    if (claimed.empty()) return batch;
    std::vector<Param> ids;
    std::vector<pb::CustomerDataStale> payloads;
    payloads.reserve(claimed.size());
    for (const pb::Customer& c : claimed) {
      ids.push_back(IdOf(c));
      payloads.push_back(StaleEvent(c, policy));
    }
    // Not a change of the customer resource: no version (etag), update time
    // or audit row moves.
    db::ExecuteDynamic(conn,
                       absl::StrCat("UPDATE customers SET stale_announced_for = "
                                    "COALESCE(last_verified_at, create_time) WHERE id IN (",
                                    absl::StrJoin(std::vector<std::string>(ids.size(), "?"), ","), ")"),
                       ids);
    std::vector<events::OutboxEvent> outbox;
    outbox.reserve(payloads.size());
    for (const pb::CustomerDataStale& e : payloads) outbox.push_back({e.customer(), &e, now});
    events::AppendEvents(conn, outbox);
    batch.announced = static_cast<int64_t>(claimed.size());
    return batch;
  });
}

absl::StatusOr<std::map<std::string, AccuracyTotals>> MysqlCustomerRepository::AccuracyByOwner(
    absl::Time deadline, const CustomerFilter& filter) {
  return Read(pool_, deadline, "accuracy", [&](sql::Connection& conn) -> absl::StatusOr<std::map<std::string, AccuracyTotals>> {
    std::string where = "TRUE";
    std::vector<Param> params;
    AppendScope(filter.scope, "c.", where, params);
    if (!filter.owner.empty()) {
      where += " AND c.owner = ?";
      params.push_back(filter.owner);
    }
    db::ResultSetPtr rs = db::QueryDynamic(conn,
                           absl::StrCat("SELECT c.owner, c.tier IN (1, 2, 3, 4) AS ab, "
                                        "SUM(v.fields_checked), SUM(v.fields_corrected) "
                                        "FROM verifications v JOIN customers c ON c.id = v.customer_id "
                                        "WHERE ", where, " GROUP BY c.owner, ab"),
                           params);
    std::map<std::string, AccuracyTotals> out;
    while (rs->next()) {
      AccuracyTotals& t = out[rs->getString(1)];
      if (rs->getBoolean(2)) {
        t.checked_ab += rs->getInt64(3);
        t.corrected_ab += rs->getInt64(4);
      } else {
        t.checked_c += rs->getInt64(3);
        t.corrected_c += rs->getInt64(4);
      }
    }
    return out;
  });
}

// -------------------------------------------------------------------- churn

namespace {

pb::ChurnSignal ChurnSignalFromRow(const sql::ResultSet& rs) {
  pb::ChurnSignal s;
  s.set_name(absl::StrCat("customers/", rs.getInt64("customer_id"), "/churnSignals/", rs.getInt64("id")));
  s.set_kind(static_cast<pb::ChurnSignalKind>(rs.getInt("kind")));
  s.set_magnitude(static_cast<double>(rs.getDouble("magnitude")));
  s.set_note(rs.getString("note"));
  s.set_recorded_by(rs.getString("recorded_by"));
  s.set_supervisor_notified(rs.getBoolean("supervisor_notified"));
  ToProto(db::ParseDateTime(rs.getString("create_time")), s.mutable_create_time());
  return s;
}

absl::StatusOr<pb::ChurnSignal> LoadChurnSignal(sql::Connection& conn, int64_t id) {
  auto rs = Query(conn,
                  "SELECT id, customer_id, kind, magnitude, note, recorded_by, supervisor_notified, "
                  "create_time FROM churn_signals WHERE id = ?",
                  id);
  if (!rs->next()) return absl::NotFoundError("churn signal not found");
  return ChurnSignalFromRow(*rs);
}

}  // namespace

absl::StatusOr<pb::ChurnSignal> MysqlCustomerRepository::RecordChurnSignal(
    absl::Time deadline, int64_t customer_id,
    const std::function<absl::Status(pb::Customer&, pb::ChurnSignal&)>& apply,
    const pb::ChurnSignal& signal, const std::string& request_id, const Actor& actor) {
  const db::IdempotencyKey key{.method = "RecordChurnSignal", .caller = actor.subject, .request_id = request_id};
  auto load_named = [](sql::Connection& conn, const std::string& name) {
    return LoadChurnSignal(conn, TrailingId(name));
  };
  auto result = Tx(pool_, deadline, "record churn signal", [&](sql::Connection& conn) -> absl::StatusOr<pb::ChurnSignal> {
    ASSIGN_OR_RETURN(pb::Customer before, LoadCustomer(conn, customer_id, true));
    pb::Customer after = before;
    pb::ChurnSignal s = signal;
    RETURN_IF_ERROR(apply(after, s));
    if (auto existing = db::FindIdempotentResult(conn, key)) return load_named(conn, *existing);
    Execute(conn,
            "INSERT INTO churn_signals (customer_id, kind, magnitude, note, recorded_by, "
            "supervisor_notified, create_time) VALUES (?, ?, ?, ?, ?, ?, ?)",
            customer_id, int64_t{s.kind()}, s.magnitude(), s.note(), actor.subject,
            s.supervisor_notified(), actor.now);
    const int64_t id = db::LastInsertId(conn);
    db::RememberIdempotentResult(conn, key, absl::StrCat(CustomerName(customer_id), "/churnSignals/", id),
                                 actor.now);
    ASSIGN_OR_RETURN(pb::Customer written, WriteCustomerChanges(conn, before, after, actor));
    ASSIGN_OR_RETURN(pb::ChurnSignal recorded, LoadChurnSignal(conn, id));
    events::AppendEvent(conn, recorded.name(), ChurnSignalEvent(written, recorded), actor.now);
    return recorded;
  });
  return ResolveIdempotentRace(result, pool_, deadline, key, load_named);
}

absl::StatusOr<std::vector<pb::ChurnSignal>> MysqlCustomerRepository::ListChurnSignals(
    absl::Time deadline, int64_t customer_id, int64_t after_id, int limit) {
  return Read(pool_, deadline, "list churn signals", [&](sql::Connection& conn) -> absl::StatusOr<std::vector<pb::ChurnSignal>> {
    auto rs = Query(conn,
                    "SELECT id, customer_id, kind, magnitude, note, recorded_by, supervisor_notified, "
                    "create_time FROM churn_signals WHERE customer_id = ? AND id > ? ORDER BY id LIMIT ?",
                    customer_id, after_id, limit);
    std::vector<pb::ChurnSignal> out;
    while (rs->next()) out.push_back(ChurnSignalFromRow(*rs));
    return out;
  });
}

// ------------------------------------------------------ competitive reports

namespace {

constexpr char kReportColumns[] =
    "id, author, team, period, competitor_strategy, counter_poaching, special_needs, "
    "industry_trends, create_time";

pb::CompetitiveReport ReportFromRow(const sql::ResultSet& rs) {
  pb::CompetitiveReport r;
  r.set_name(absl::StrCat("competitiveReports/", rs.getInt64("id")));
  r.set_author(rs.getString("author"));
  r.set_team(rs.getString("team"));
  r.set_period(rs.getString("period"));
  r.set_competitor_strategy(rs.getString("competitor_strategy"));
  r.set_counter_poaching(rs.getString("counter_poaching"));
  r.set_special_needs(rs.getString("special_needs"));
  r.set_industry_trends(rs.getString("industry_trends"));
  ToProto(db::ParseDateTime(rs.getString("create_time")), r.mutable_create_time());
  return r;
}

absl::StatusOr<pb::CompetitiveReport> LoadReport(sql::Connection& conn, int64_t id) {
  auto rs = Query(conn, absl::StrCat("SELECT ", kReportColumns, " FROM competitive_reports WHERE id = ?"), id);
  if (!rs->next()) return absl::NotFoundError("competitive report not found");
  return ReportFromRow(*rs);
}

}  // namespace

absl::StatusOr<pb::CompetitiveReport> MysqlCustomerRepository::CreateCompetitiveReport(
    absl::Time deadline, const pb::CompetitiveReport& r, const std::string& request_id, absl::Time now) {
  // The author is the caller (CustomerService sets it from the principal).
  const db::IdempotencyKey key{.method = "CreateCompetitiveReport", .caller = r.author(), .request_id = request_id};
  auto load_named = [](sql::Connection& conn, const std::string& name) {
    return LoadReport(conn, TrailingId(name));
  };
  auto result = Tx(pool_, deadline, "create report", [&](sql::Connection& conn) -> absl::StatusOr<pb::CompetitiveReport> {
    if (auto existing = db::FindIdempotentResult(conn, key)) return load_named(conn, *existing);
    Execute(conn,
            "INSERT INTO competitive_reports (author, team, period, competitor_strategy, "
            "counter_poaching, special_needs, industry_trends, create_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            r.author(), r.team(), r.period(), r.competitor_strategy(), r.counter_poaching(),
            r.special_needs(), r.industry_trends(), now);
    const int64_t id = db::LastInsertId(conn);
    db::RememberIdempotentResult(conn, key, absl::StrCat("competitiveReports/", id), now);
    return LoadReport(conn, id);
  });
  return ResolveIdempotentRace(result, pool_, deadline, key, load_named);
}

absl::StatusOr<std::vector<pb::CompetitiveReport>> MysqlCustomerRepository::ListCompetitiveReports(
    absl::Time deadline, const AccessScope& scope, const std::string& period,
    const std::string& author, int64_t after_id, int limit) {
  return Read(pool_, deadline, "list reports", [&](sql::Connection& conn) -> absl::StatusOr<std::vector<pb::CompetitiveReport>> {
    std::string where = "id > ?";
    std::vector<Param> params = {after_id};
    switch (scope.kind) {
      case AccessScope::Kind::kAll:
        break;
      case AccessScope::Kind::kTeam:
      case AccessScope::Kind::kTeamOrdinaryC:
        where += " AND team = ?";
        params.push_back(scope.team);
        break;
      case AccessScope::Kind::kOwner:
        where += " AND author = ?";
        params.push_back(scope.subject);
        break;
      case AccessScope::Kind::kNone:
        where += " AND FALSE";
        break;
    }
    if (!period.empty()) {
      where += " AND period = ?";
      params.push_back(period);
    }
    if (!author.empty()) {
      where += " AND author = ?";
      params.push_back(author);
    }
    params.push_back(int64_t{limit});
    db::ResultSetPtr rs = db::QueryDynamic(conn,
                           absl::StrCat("SELECT ", kReportColumns, " FROM competitive_reports WHERE ",
                                        where, " ORDER BY id LIMIT ?"),
                           params);
    std::vector<pb::CompetitiveReport> out;
    while (rs->next()) out.push_back(ReportFromRow(*rs));
    return out;
  });
}

}  // namespace crm::customers
