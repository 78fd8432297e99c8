#include "services/scheduling/src/mysql_scheduling_store.h"

#include <cppconn/connection.h>
#include <cppconn/resultset.h>

#include <memory>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/db/idempotency.h"
#include "common/db/sql.h"
#include "common/db/transaction.h"
#include "common/events/outbox.h"
#include "common/util/proto_time.h"

namespace crm::scheduling {
namespace {

using db::Param;

// The body never holds what columns hold.
template <typename T>
std::string Body(const T& message) {
  T copy = message;
  copy.clear_name();
  copy.clear_etag();
  if constexpr (requires { copy.clear_create_time(); }) copy.clear_create_time();
  if constexpr (requires { copy.clear_update_time(); }) copy.clear_update_time();
  return copy.SerializeAsString();
}

// Fills a message from a row with id, version, body, create_time (and
// update_time when the message has one).
template <typename T>
Stored<T> ParseRow(const sql::ResultSet& rs, absl::string_view collection) {
  Stored<T> s;
  s.id = rs.getInt64("id");
  s.version = rs.getInt64("version");
  if (!s.message.ParseFromString(rs.getString("body"))) {
    // Bodies are written only by this code from valid messages.
    throw sql::SQLException(absl::StrCat(collection, " row ", s.id, " has a corrupt body"));
  }
  s.message.set_name(absl::StrCat(collection, "/", s.id));
  s.message.set_etag(absl::StrCat(s.version));
  ToProto(db::ParseDateTime(rs.getString("create_time")), s.message.mutable_create_time());
  if constexpr (requires { s.message.mutable_update_time(); }) {
    ToProto(db::ParseDateTime(rs.getString("update_time")), s.message.mutable_update_time());
  }
  return s;
}

// Appends "AND <scope>" for columns of alias `prefix`.
void AddScope(const auth::AccessScope& scope, const std::string& prefix, std::string& where,
              std::vector<Param>& params) {
  auth::ScopeCondition c = auth::ScopeWhere(scope, prefix);
  absl::StrAppend(&where, " AND ", c.sql);
  for (std::string& p : c.params) params.emplace_back(std::move(p));
}

// The WHERE clause of a listing: conditions joined with AND, parameters in
// order; the optional filters are added only when set.
class Where {
 public:
  Where(int64_t after_id, const auth::AccessScope& scope) {
    params_.emplace_back(after_id);
    AddScope(scope, "", sql_, params_);
  }
  void Add(const char* condition, Param value) {
    absl::StrAppend(&sql_, " AND ", condition);
    params_.push_back(std::move(value));
  }
  void IfSet(const char* condition, const std::string& value) {
    if (!value.empty()) Add(condition, value);
  }
  void IfSet(const char* condition, int enum_value) {
    if (enum_value != 0) Add(condition, int64_t{enum_value});
  }
  void IfSet(const char* condition, const std::optional<absl::Time>& value) {
    if (value) Add(condition, *value);
  }
  // "SELECT <columns> FROM <table> WHERE … ORDER BY id LIMIT <limit>".
  db::ResultSetPtr Run(sql::Connection& conn, absl::string_view select_from, int limit) {
    params_.emplace_back(int64_t{limit});
    return db::QueryDynamic(conn, absl::StrCat(select_from, " WHERE ", sql_, " ORDER BY id LIMIT ?"), params_);
  }

 private:
  std::string sql_ = "id > ?";
  std::vector<Param> params_;
};

const char* TableName(DocTable table) {
  switch (table) {
    case DocTable::kCareRecords:
      return "care_records";
    case DocTable::kWorkPlans:
      return "work_plans";
    case DocTable::kWorkLog:
      return "work_log_entries";
    case DocTable::kExpenseClaims:
      return "expense_claims";
  }
  return "care_records";
}

DocMeta ParseMeta(const sql::ResultSet& rs) {
  DocMeta m;
  m.id = rs.getInt64("id");
  m.version = rs.getInt64("version");
  m.owner = rs.getString("owner");
  m.team = rs.getString("team");
  m.key = rs.getString("doc_key");
  m.status = rs.getInt("status");
  m.create_time = db::ParseDateTime(rs.getString("create_time"));
  m.update_time = db::ParseDateTime(rs.getString("update_time"));
  return m;
}

bool Busy(pb::VisitStatus status) { return status == pb::PLANNED || status == pb::DONE; }

constexpr char kRowColumns[] = "id, version, body, create_time, update_time";

Slot SlotOf(const Stored<pb::Visit>& v) {
  Slot s;
  s.id = v.message.name();
  s.start = FromProto(v.message.start_time());
  s.end = FromProto(v.message.end_time());
  s.place = v.message.place();
  if (v.message.has_location()) {
    s.where = {v.message.location().latitude(), v.message.location().longitude(), true};
  }
  return s;
}

CareContact ParseCareContact(const sql::ResultSet& rs) {
  CareContact c;
  c.contact = rs.getString("contact");
  c.customer = rs.getString("customer");
  c.display_name = rs.getString("display_name");
  c.role = rs.getString("role");
  c.vip_level = rs.getString("vip_level");
  c.birth_month = rs.getInt("birth_month");
  c.birth_day = rs.getInt("birth_day");
  c.since = db::ParseDateTime(rs.getString("since_time"));
  c.last_care = db::GetTime(rs, "last_care_time");
  c.owner = db::GetString(rs, "owner");
  c.team = db::GetString(rs, "team");
  c.tier = rs.isNull("tier") ? 0 : rs.getInt("tier");
  return c;
}

CareRule ParseRule(const sql::ResultSet& rs) {
  CareRule r;
  r.id = rs.getInt64("id");
  r.priority = rs.getInt("priority");
  r.contact_role = rs.getString("contact_role");
  r.vip_level = rs.getString("vip_level");
  r.tier_class = rs.getString("tier_class");
  r.interval_days = rs.getInt("interval_days");
  r.description = rs.getString("description");
  return r;
}

}  // namespace

struct MysqlSchedulingTx::Pending {
  std::string resource;
  std::unique_ptr<google::protobuf::Message> payload;
  absl::Time time;
};

MysqlSchedulingTx::MysqlSchedulingTx(sql::Connection& conn) : conn_(conn) {}
MysqlSchedulingTx::~MysqlSchedulingTx() = default;

void MysqlSchedulingTx::FlushEvents() {
  if (events_.empty()) return;
  std::vector<events::OutboxEvent> batch;
  batch.reserve(events_.size());
  for (const Pending& e : events_) batch.push_back({e.resource, e.payload.get(), e.time});
  events::AppendEvents(conn_, batch);
  events_.clear();
}

// ---------------------------------------------------------------- visits

void MysqlSchedulingTx::LockManager(const std::string& owner) {
  // Straight to an exclusive lock (an INSERT IGNORE first would take a
  // shared one, and two bookings upgrading shared locks deadlock).
  if (db::Query(conn_, "SELECT owner FROM manager_locks WHERE owner = ? FOR UPDATE", owner)->next()) return;
  db::Execute(conn_, "INSERT INTO manager_locks (owner) VALUES (?) ON DUPLICATE KEY UPDATE owner = owner", owner);
}

std::vector<Slot> MysqlSchedulingTx::BusyVisitsNear(const std::string& owner, absl::Time start, absl::Time end) {
  // Three index range reads: the overlapping ones (a visit lasts at most
  // kMaxVisitLength, which bounds the range), the latest ending at or before
  // start, the earliest starting at or after end. Plain reads: the caller
  // holds the manager's lock and took it before the transaction's first
  // read, so the snapshot includes every booking committed under the lock.
  const std::string select = absl::StrCat("SELECT ", kRowColumns, " FROM visits WHERE owner = ? AND busy = TRUE ");
  std::vector<Slot> slots;
  const auto read = [&](db::ResultSetPtr rs) {
    while (rs->next()) slots.push_back(SlotOf(ParseRow<pb::Visit>(*rs, "visits")));
  };
  read(db::Query(conn_, absl::StrCat(select, "AND start_time < ? AND start_time > ? AND end_time > ?"), owner, end,
                 start - kMaxVisitLength, start));
  read(db::Query(conn_, absl::StrCat(select, "AND end_time <= ? ORDER BY end_time DESC LIMIT 1"), owner, start));
  read(db::Query(conn_, absl::StrCat(select, "AND start_time >= ? ORDER BY start_time LIMIT 1"), owner, end));
  return slots;
}

int64_t MysqlSchedulingTx::InsertVisit(const pb::Visit& v, absl::Time now) {
  db::Execute(conn_,
              "INSERT INTO visits (owner, team, customer, status, purpose, busy, start_time, end_time, body, "
              "create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
              v.owner(), v.team(), v.customer(), int64_t{v.status()}, int64_t{v.purpose()}, Busy(v.status()),
              FromProto(v.start_time()), FromProto(v.end_time()), Body(v), now, now);
  return db::LastInsertId(conn_);
}

std::optional<Stored<pb::Visit>> MysqlSchedulingTx::GetVisit(int64_t id, bool for_update) {
  auto rs = db::Query(conn_,
                      absl::StrCat("SELECT ", kRowColumns, " FROM visits WHERE id = ?", for_update ? " FOR UPDATE" : ""),
                      id);
  if (!rs->next()) return std::nullopt;
  return ParseRow<pb::Visit>(*rs, "visits");
}

void MysqlSchedulingTx::UpdateVisit(int64_t id, const pb::Visit& v, absl::Time now) {
  db::Execute(conn_,
              "UPDATE visits SET owner = ?, team = ?, customer = ?, status = ?, purpose = ?, busy = ?, "
              "start_time = ?, end_time = ?, log_verified = ?, body = ?, version = version + 1, update_time = ? "
              "WHERE id = ?",
              v.owner(), v.team(), v.customer(), int64_t{v.status()}, int64_t{v.purpose()}, Busy(v.status()),
              FromProto(v.start_time()), FromProto(v.end_time()), !v.log().verified_by().empty(), Body(v), now, id);
}

std::vector<Stored<pb::Visit>> MysqlSchedulingTx::ListVisits(const VisitFilter& f, int64_t after_id, int limit) {
  Where where(after_id, f.scope);
  where.IfSet("owner = ?", f.owner);
  where.IfSet("customer = ?", f.customer);
  where.IfSet("status = ?", f.status);
  where.IfSet("start_time >= ?", f.start_from);
  where.IfSet("start_time < ?", f.start_before);
  if (f.unverified_only) where.Add("status = ? AND log_verified = FALSE", int64_t{pb::DONE});
  auto rs = where.Run(conn_, absl::StrCat("SELECT ", kRowColumns, " FROM visits"), limit);
  std::vector<Stored<pb::Visit>> out;
  while (rs->next()) out.push_back(ParseRow<pb::Visit>(*rs, "visits"));
  return out;
}

int MysqlSchedulingTx::CountOnSiteVisits(const std::string& customer, absl::Time from, absl::Time to,
                                         int64_t except_id) {
  auto rs = db::Query(conn_,
                      "SELECT COUNT(*) AS n FROM visits WHERE customer = ? AND purpose = ? AND status IN (?, ?) "
                      "AND start_time >= ? AND start_time < ? AND id <> ?",
                      customer, int64_t{pb::ON_SITE_SERVICE}, int64_t{pb::PLANNED}, int64_t{pb::DONE}, from, to,
                      except_id);
  return rs->next() ? rs->getInt("n") : 0;
}

// ---------------------------------------------------------------- tasks

std::optional<int64_t> MysqlSchedulingTx::InsertTask(const pb::Task& t, const std::string& source_key,
                                                     absl::Time now) {
  const int inserted =
      db::Execute(conn_,
                  "INSERT IGNORE INTO tasks (kind, owner, team, customer, source, source_key, state, due_time, "
                  "body, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  int64_t{t.kind()}, t.owner(), t.team(), t.customer(), t.source(), source_key, int64_t{t.state()},
                  FromProto(t.due_time()), Body(t), now, now);
  if (inserted == 0) return std::nullopt;
  return db::LastInsertId(conn_);
}

std::optional<Stored<pb::Task>> MysqlSchedulingTx::GetTask(int64_t id, bool for_update) {
  auto rs = db::Query(conn_,
                      absl::StrCat("SELECT ", kRowColumns, " FROM tasks WHERE id = ?", for_update ? " FOR UPDATE" : ""),
                      id);
  if (!rs->next()) return std::nullopt;
  return ParseRow<pb::Task>(*rs, "tasks");
}

void MysqlSchedulingTx::UpdateTask(int64_t id, const pb::Task& t, absl::Time now) {
  std::optional<absl::Time> done;
  if (t.has_done_time()) done = FromProto(t.done_time());
  db::Execute(conn_,
              "UPDATE tasks SET owner = ?, team = ?, state = ?, due_time = ?, done_time = ?, body = ?, "
              "version = version + 1, update_time = ? WHERE id = ?",
              t.owner(), t.team(), int64_t{t.state()}, FromProto(t.due_time()), done, Body(t), now, id);
}

std::vector<Stored<pb::Task>> MysqlSchedulingTx::ListTasks(const TaskFilter& f, int64_t after_id, int limit) {
  Where where(after_id, f.scope);
  where.IfSet("owner = ?", f.owner);
  where.IfSet("customer = ?", f.customer);
  where.IfSet("source = ?", f.source);
  where.IfSet("state = ?", f.state);
  where.IfSet("kind = ?", f.kind);
  where.IfSet("due_time < ?", f.due_before);
  auto rs = where.Run(conn_, absl::StrCat("SELECT ", kRowColumns, " FROM tasks"), limit);
  std::vector<Stored<pb::Task>> out;
  while (rs->next()) out.push_back(ParseRow<pb::Task>(*rs, "tasks"));
  return out;
}

void MysqlSchedulingTx::FillTaskTeam(const std::string& customer, const std::string& team, absl::Time now) {
  // The body keeps a copy of the team: rewrite both through UpdateTask.
  auto rs = db::Query(conn_, absl::StrCat("SELECT ", kRowColumns, " FROM tasks WHERE customer = ? AND team = ''"),
                      customer);
  std::vector<Stored<pb::Task>> tasks;
  while (rs->next()) tasks.push_back(ParseRow<pb::Task>(*rs, "tasks"));
  rs.reset();
  for (Stored<pb::Task>& t : tasks) {
    t.message.set_team(team);
    UpdateTask(t.id, t.message, now);
  }
}

// ---------------------------------------------------------------- care

void MysqlSchedulingTx::UpsertCareCustomer(const CareCustomer& c) {
  db::Execute(conn_,
              "INSERT INTO care_customers (customer, display_name, owner, team, tier, since_time) "
              "VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE display_name = VALUES(display_name), "
              "owner = VALUES(owner), team = VALUES(team), since_time = COALESCE(since_time, VALUES(since_time))",
              c.customer, c.display_name, c.owner, c.team, int64_t{c.tier}, c.since);
}

void MysqlSchedulingTx::SetCareOwner(const std::string& customer, const std::string& owner,
                                     const std::string& team) {
  db::Execute(conn_,
              "INSERT INTO care_customers (customer, owner, team) VALUES (?, ?, ?) "
              "ON DUPLICATE KEY UPDATE owner = VALUES(owner), team = VALUES(team)",
              customer, owner, team);
}

void MysqlSchedulingTx::SetCareTier(const std::string& customer, int tier) {
  db::Execute(conn_,
              "INSERT INTO care_customers (customer, tier) VALUES (?, ?) ON DUPLICATE KEY UPDATE tier = VALUES(tier)",
              customer, int64_t{tier});
}

void MysqlSchedulingTx::ArchiveCareCustomer(const std::string& customer) {
  db::Execute(conn_,
              "INSERT INTO care_customers (customer, archived) VALUES (?, TRUE) "
              "ON DUPLICATE KEY UPDATE archived = TRUE",
              customer);
}

void MysqlSchedulingTx::UpsertCareContact(const CareContact& c) {
  db::Execute(conn_,
              "INSERT INTO care_contacts (contact, customer, display_name, role, vip_level, birth_month, birth_day, "
              "since_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE display_name = "
              "VALUES(display_name), role = VALUES(role), vip_level = VALUES(vip_level), birth_month = "
              "VALUES(birth_month), birth_day = VALUES(birth_day)",
              c.contact, c.customer, c.display_name, c.role, c.vip_level, int64_t{c.birth_month},
              int64_t{c.birth_day}, c.since);
}

void MysqlSchedulingTx::RemoveCareContact(const std::string& contact) {
  db::Execute(conn_, "DELETE FROM care_contacts WHERE contact = ?", contact);
}

void MysqlSchedulingTx::TouchCare(const std::string& contact, absl::Time when) {
  db::Execute(conn_,
              "UPDATE care_contacts SET last_care_time = GREATEST(COALESCE(last_care_time, ?), ?) WHERE contact = ?",
              when, when, contact);
}

namespace {
constexpr char kCareContactSelect[] =
    "SELECT k.contact, k.customer, k.display_name, k.role, k.vip_level, k.birth_month, k.birth_day, "
    "k.since_time, k.last_care_time, c.owner, c.team, c.tier FROM care_contacts k "
    "JOIN care_customers c ON c.customer = k.customer WHERE c.archived = FALSE";
}  // namespace

std::vector<CareContact> MysqlSchedulingTx::CareContacts(const auth::AccessScope& scope, const std::string& owner) {
  std::vector<Param> params;
  std::string where = kCareContactSelect;
  AddScope(scope, "c.", where, params);
  if (!owner.empty()) {
    where += " AND c.owner = ?";
    params.emplace_back(owner);
  }
  auto rs = db::QueryDynamic(conn_, where + " ORDER BY k.contact", params);
  std::vector<CareContact> out;
  while (rs->next()) out.push_back(ParseCareContact(*rs));
  return out;
}

namespace {
constexpr char kCareCustomerSelect[] =
    "SELECT customer, display_name, owner, team, tier, since_time FROM care_customers WHERE archived = FALSE";

CareCustomer ParseCareCustomer(const sql::ResultSet& rs) {
  CareCustomer c;
  c.customer = rs.getString("customer");
  c.display_name = rs.getString("display_name");
  c.owner = rs.getString("owner");
  c.team = rs.getString("team");
  c.tier = rs.getInt("tier");
  c.since = db::GetTime(rs, "since_time");
  return c;
}
}  // namespace

std::vector<CareCustomer> MysqlSchedulingTx::CareCustomers(const auth::AccessScope& scope,
                                                           const std::string& owner) {
  std::vector<Param> params;
  std::string where = kCareCustomerSelect;
  AddScope(scope, "", where, params);
  if (!owner.empty()) {
    where += " AND owner = ?";
    params.emplace_back(owner);
  }
  auto rs = db::QueryDynamic(conn_, where + " ORDER BY customer", params);
  std::vector<CareCustomer> out;
  while (rs->next()) out.push_back(ParseCareCustomer(*rs));
  return out;
}

std::optional<CareCustomer> MysqlSchedulingTx::GetCareCustomer(const std::string& customer) {
  auto rs = db::Query(conn_, absl::StrCat(kCareCustomerSelect, " AND customer = ?"), customer);
  if (!rs->next()) return std::nullopt;
  return ParseCareCustomer(*rs);
}

bool MysqlSchedulingTx::HasContactRole(const std::string& customer, const std::string& role) {
  auto rs = db::Query(conn_, "SELECT 1 FROM care_contacts WHERE customer = ? AND role = ? LIMIT 1", customer, role);
  return rs->next();
}

std::optional<CareContact> MysqlSchedulingTx::GetCareContact(const std::string& contact) {
  auto rs = db::Query(conn_, absl::StrCat(kCareContactSelect, " AND k.contact = ?"), contact);
  if (!rs->next()) return std::nullopt;
  return ParseCareContact(*rs);
}

std::vector<CareRule> MysqlSchedulingTx::CareRules() {
  auto rs = db::Query(conn_,
                      "SELECT id, priority, contact_role, vip_level, tier_class, interval_days, description "
                      "FROM care_policies ORDER BY priority, id");
  std::vector<CareRule> out;
  while (rs->next()) out.push_back(ParseRule(*rs));
  return out;
}

void MysqlSchedulingTx::SeedCareRules(const std::vector<CareRule>& defaults) {
  for (const CareRule& r : defaults) {
    db::Execute(conn_,
                "INSERT IGNORE INTO care_policies (priority, contact_role, vip_level, tier_class, interval_days, "
                "description) VALUES (?, ?, ?, ?, ?, ?)",
                int64_t{r.priority}, r.contact_role, r.vip_level, r.tier_class, int64_t{r.interval_days},
                r.description);
  }
}

std::optional<std::pair<CareRule, int64_t>> MysqlSchedulingTx::GetCareRule(int64_t id, bool for_update) {
  auto rs = db::Query(conn_,
                      absl::StrCat("SELECT id, priority, contact_role, vip_level, tier_class, interval_days, "
                                   "description, version FROM care_policies WHERE id = ?",
                                   for_update ? " FOR UPDATE" : ""),
                      id);
  if (!rs->next()) return std::nullopt;
  return std::make_pair(ParseRule(*rs), static_cast<int64_t>(rs->getInt64("version")));
}

void MysqlSchedulingTx::UpdateCareRule(const CareRule& r) {
  db::Execute(conn_,
              "UPDATE care_policies SET priority = ?, contact_role = ?, vip_level = ?, tier_class = ?, "
              "interval_days = ?, description = ?, version = version + 1 WHERE id = ?",
              int64_t{r.priority}, r.contact_role, r.vip_level, r.tier_class, int64_t{r.interval_days},
              r.description, r.id);
}

// ---------------------------------------------------------------- documents

int64_t MysqlSchedulingTx::InsertDoc(DocTable table, const DocMeta& meta, const google::protobuf::Message& body,
                                     absl::Time now) {
  db::Execute(conn_,
              absl::StrCat("INSERT INTO ", TableName(table),
                           " (owner, team, doc_key, status, body, create_time, update_time) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)"),
              meta.owner, meta.team, meta.key, int64_t{meta.status}, body.SerializeAsString(), now, now);
  return db::LastInsertId(conn_);
}

std::optional<DocMeta> MysqlSchedulingTx::GetDoc(DocTable table, int64_t id, bool for_update,
                                                 google::protobuf::Message& body) {
  auto rs = db::Query(conn_,
                      absl::StrCat("SELECT id, version, owner, team, doc_key, status, body, create_time, "
                                   "update_time FROM ",
                                   TableName(table), " WHERE id = ?", for_update ? " FOR UPDATE" : ""),
                      id);
  if (!rs->next()) return std::nullopt;
  if (!body.ParseFromString(rs->getString("body"))) {
    throw sql::SQLException(absl::StrCat(TableName(table), " row ", id, " has a corrupt body"));
  }
  return ParseMeta(*rs);
}

void MysqlSchedulingTx::UpdateDoc(DocTable table, int64_t id, int status, const google::protobuf::Message& body,
                                  absl::Time now) {
  db::Execute(conn_,
              absl::StrCat("UPDATE ", TableName(table),
                           " SET status = ?, body = ?, version = version + 1, update_time = ? WHERE id = ?"),
              int64_t{status}, body.SerializeAsString(), now, id);
}

std::vector<std::pair<DocMeta, std::string>> MysqlSchedulingTx::ListDocs(DocTable table, const DocFilter& f,
                                                                         int64_t after_id, int limit) {
  Where where(after_id, f.scope);
  where.IfSet("owner = ?", f.owner);
  where.IfSet("doc_key >= ?", f.key_from);
  where.IfSet("doc_key <= ?", f.key_to);
  where.IfSet("status = ?", f.status);
  auto rs = where.Run(conn_,
                      absl::StrCat("SELECT id, version, owner, team, doc_key, status, body, create_time, "
                                   "update_time FROM ",
                                   TableName(table)),
                      limit);
  std::vector<std::pair<DocMeta, std::string>> out;
  while (rs->next()) out.emplace_back(ParseMeta(*rs), rs->getString("body"));
  return out;
}

// ---------------------------------------------------------------- reports

WorkCounts MysqlSchedulingTx::CountWork(const auth::AccessScope& scope, const std::string& owner,
                                        absl::Time start, absl::Time end, const std::string& log_from,
                                        const std::string& log_to, absl::Time now) {
  // Every count is restricted to the caller's scope: a supervisor asking
  // about someone outside the team gets zeros. An empty owner counts
  // everyone in the scope (a team's summary).
  const std::string by_owner = owner.empty() ? "TRUE" : "owner = ?";
  const auto with_owner = [&](std::vector<Param> params) {
    if (!owner.empty()) params.insert(params.begin(), owner);
    return params;
  };
  const auto query = [&](std::string sql, std::vector<Param> params) {
    AddScope(scope, "", sql, params);
    return db::QueryDynamic(conn_, sql, params);
  };
  WorkCounts w;
  {
    std::string sql = absl::StrCat("SELECT status, COUNT(*) AS n FROM visits WHERE ", by_owner,
                                   " AND start_time >= ? AND start_time < ?");
    std::vector<Param> params = with_owner({start, end});
    AddScope(scope, "", sql, params);
    auto rs = db::QueryDynamic(conn_, sql + " GROUP BY status", params);
    while (rs->next()) {
      const int n = rs->getInt("n");
      switch (rs->getInt("status")) {
        case pb::PLANNED:
          w.visits_planned += n;
          break;
        case pb::DONE:
          w.visits_done += n;
          break;
        case pb::NO_SHOW:
          w.visits_no_show += n;
          break;
        default:
          break;
      }
    }
  }
  {
    std::vector<Param> params{int64_t{pb::TASK_DONE}, start, end, int64_t{pb::TASK_OPEN}, start, end, now};
    if (!owner.empty()) params.push_back(owner);
    auto rs = query(absl::StrCat("SELECT COALESCE(SUM(state = ? AND done_time >= ? AND done_time < ?), 0) AS done, "
                                 "COALESCE(SUM(state = ? AND due_time >= ? AND due_time < ? AND due_time < ?), 0) "
                                 "AS overdue FROM tasks WHERE ",
                                 by_owner),
                    std::move(params));
    if (rs->next()) {
      w.tasks_done = rs->getInt("done");
      w.tasks_overdue = rs->getInt("overdue");
    }
  }
  {
    auto rs = query(absl::StrCat("SELECT COUNT(*) AS n FROM care_records WHERE ", by_owner,
                                 " AND create_time >= ? AND create_time < ?"),
                    with_owner({start, end}));
    if (rs->next()) w.care_records = rs->getInt("n");
  }
  {
    // Work log keys are the entry's local date "YYYY-MM-DD"; minutes are
    // kept in the status column so they can be summed.
    auto rs = query(absl::StrCat("SELECT COUNT(*) AS n, COALESCE(SUM(status), 0) AS minutes FROM work_log_entries "
                                 "WHERE ",
                                 by_owner, " AND doc_key >= ? AND doc_key < ?"),
                    with_owner({log_from, log_to}));
    if (rs->next()) {
      w.log_entries = rs->getInt("n");
      w.log_minutes = rs->getInt("minutes");
    }
  }
  return w;
}

std::vector<Stored<pb::Visit>> MysqlSchedulingTx::OnSiteVisits(const auth::AccessScope& scope,
                                                               const std::string& owner, absl::Time start,
                                                               absl::Time end) {
  std::vector<Param> params{int64_t{pb::ON_SITE_SERVICE}, int64_t{pb::DONE}, start, end};
  std::string where = "purpose = ? AND status = ? AND start_time >= ? AND start_time < ?";
  AddScope(scope, "", where, params);
  if (!owner.empty()) {
    where += " AND owner = ?";
    params.emplace_back(owner);
  }
  auto rs = db::QueryDynamic(
      conn_, absl::StrCat("SELECT ", kRowColumns, " FROM visits WHERE ", where, " ORDER BY customer, start_time"),
      params);
  std::vector<Stored<pb::Visit>> out;
  while (rs->next()) out.push_back(ParseRow<pb::Visit>(*rs, "visits"));
  return out;
}

// ---------------------------------------------------------------- audit, requests, events

void MysqlSchedulingTx::Audit(const std::string& resource, const std::string& actor, const std::string& method,
                              const std::string& detail, absl::Time now) {
  db::Execute(conn_, "INSERT INTO audit_log (resource, actor, method, detail, change_time) VALUES (?, ?, ?, ?, ?)",
              resource, actor, method, detail.substr(0, 2000), now);
}

std::optional<std::string> MysqlSchedulingTx::FindRequest(const std::string& method, const std::string& caller,
                                                          const std::string& request_id) {
  return db::FindIdempotentResult(conn_, {.method = method, .caller = caller, .request_id = request_id});
}

void MysqlSchedulingTx::RememberRequest(const std::string& method, const std::string& caller,
                                        const std::string& request_id, const std::string& resource, absl::Time now) {
  db::RememberIdempotentResult(conn_, {.method = method, .caller = caller, .request_id = request_id}, resource, now);
}

void MysqlSchedulingTx::Publish(const std::string& resource, const google::protobuf::Message& payload,
                                absl::Time now) {
  std::unique_ptr<google::protobuf::Message> copy(payload.New());
  copy->CopyFrom(payload);
  events_.push_back({resource, std::move(copy), now});
}

absl::Status MysqlSchedulingStore::Transact(absl::Time deadline,
                                            const std::function<absl::Status(SchedulingTx&)>& fn,
                                            const char* context) {
  return db::RunInTransaction(
      pool_, deadline,
      [&](sql::Connection& conn) -> absl::Status {
        MysqlSchedulingTx tx(conn);
        absl::Status status = fn(tx);
        if (status.ok()) tx.FlushEvents();
        return status;
      },
      {.context = context});
}

}  // namespace crm::scheduling
