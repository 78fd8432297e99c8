#include "services/complaints/src/mysql_complaint_repository.h"

#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/db/idempotency.h"
#include "common/db/sql.h"
#include "common/db/transaction.h"
#include "common/events/outbox.h"
#include "common/status/status_macros.h"
#include "common/util/proto_time.h"
#include "crm/complaints/v1/events.pb.h"

namespace crm::complaints {
namespace {

using db::Param;

std::string ComplaintName(int64_t id) { return absl::StrCat("complaints/", id); }

int64_t LastId(const std::string& name) {
  int64_t id = 0;
  (void)absl::SimpleAtoi(absl::string_view(name).substr(name.rfind('/') + 1), &id);
  return id;
}

// The body never holds what columns or other tables hold.
std::string Body(const pb::Complaint& c) {
  pb::Complaint copy = c;
  copy.clear_name();
  copy.clear_etag();
  copy.clear_create_time();
  copy.clear_update_time();
  copy.clear_clocks();
  return copy.SerializeAsString();
}

// ---- clocks

// 0 undecided, 1 met, 2 breached (the report's "decided" = not 0).
int64_t Outcome(const ClockView& v) {
  if (v.state == pb::BREACHED && (v.stopped || v.breach_time)) return 2;
  if (v.stopped) return v.state == pb::MET ? 1 : 2;
  return 0;
}

// The breach job's schedule: due when it breaches and no BREACH is logged
// yet (a clock already past its target, e.g. stopped late, is due now).
std::optional<absl::Time> BreachDue(const ClockRecord& c, absl::Time now) {
  if (c.view.breach_time) return std::nullopt;
  if (c.view.state == pb::BREACHED) return now;
  if (c.view.due_time) return c.view.due_time;
  return std::nullopt;
}

std::optional<absl::Time> AtRiskTime(const ClockRecord& c, absl::Time now) {
  if (c.view.stopped) return std::nullopt;
  if (c.view.state == pb::AT_RISK || c.view.state == pb::BREACHED) return now;
  return c.view.at_risk_time;
}

void InsertTransitions(sql::Connection& conn, const ClockRecord& clock, int64_t complaint_id) {
  for (size_t i = clock.stored_entries; i < clock.log.size(); ++i) {
    const ClockEntry& e = clock.log[i];
    db::Execute(conn,
                "INSERT INTO clock_transitions (clock_id, complaint_id, action, at, actor, reason, "
                "target_seconds) VALUES (?, ?, ?, ?, ?, ?, ?)",
                clock.id, complaint_id, int64_t{e.action}, e.time, e.actor, e.reason,
                absl::ToInt64Seconds(e.target));
  }
}

// Inserts new clocks and writes the transitions and schedule of changed ones.
void WriteClocks(sql::Connection& conn, ComplaintRow& row, int64_t new_transfer_id, absl::Time now) {
  const pb::Complaint& c = row.complaint;
  for (ClockRecord& clock : row.clocks) {
    if (clock.id != 0 && clock.stored_entries == clock.log.size()) continue;
    const bool breached = clock.view.breach_time.has_value();
    if (clock.id == 0) {
      if (clock.kind == pb::TRANSFER && clock.transfer_id == 0) clock.transfer_id = new_transfer_id;
      db::Execute(conn,
                  "INSERT INTO complaint_clocks (complaint_id, kind, transfer_id, basis, stopped, breached, "
                  "outcome, breach_due, at_risk_time, customer, owner, team) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  row.id, int64_t{clock.kind}, clock.transfer_id, int64_t{clock.basis}, clock.view.stopped,
                  breached, Outcome(clock.view), BreachDue(clock, now), AtRiskTime(clock, now), c.customer(),
                  c.owner(), c.team());
      clock.id = db::LastInsertId(conn);
    } else {
      db::Execute(conn,
                  "UPDATE complaint_clocks SET stopped = ?, breached = ?, outcome = ?, breach_due = ?, "
                  "at_risk_time = ? WHERE id = ?",
                  clock.view.stopped, breached, Outcome(clock.view), BreachDue(clock, now),
                  AtRiskTime(clock, now), clock.id);
    }
    InsertTransitions(conn, clock, row.id);
    clock.stored_entries = clock.log.size();
  }
}

// ---- loading

absl::Status ParseComplaint(const sql::ResultSet& rs, ComplaintRow& row) {
  row.id = rs.getInt64("id");
  if (!row.complaint.ParseFromString(rs.getString("body"))) {
    return absl::InternalError(absl::StrCat("complaint row ", row.id, " is corrupt"));
  }
  row.complaint.set_name(ComplaintName(row.id));
  row.complaint.set_etag(absl::StrCat(rs.getInt64("version")));
  ToProto(db::ParseDateTime(rs.getString("create_time")), row.complaint.mutable_create_time());
  ToProto(db::ParseDateTime(rs.getString("update_time")), row.complaint.mutable_update_time());
  return absl::OkStatus();
}

constexpr char kComplaintColumns[] = "id, version, body, create_time, update_time";

// Attaches clocks and their logs to `rows` (by complaint id).
void LoadClocks(sql::Connection& conn, std::vector<ComplaintRow>& rows, bool for_update) {
  if (rows.empty()) return;
  std::map<int64_t, ComplaintRow*> by_id;
  std::vector<Param> ids;
  for (ComplaintRow& r : rows) {
    by_id[r.id] = &r;
    ids.push_back(r.id);
  }
  const std::string in = absl::StrCat("(", absl::StrJoin(std::vector<std::string>(ids.size(), "?"), ","), ")");
  std::map<int64_t, ClockRecord*> clocks;
  {
    auto rs = db::QueryDynamic(conn,
                               absl::StrCat("SELECT id, complaint_id, kind, transfer_id, basis FROM "
                                            "complaint_clocks WHERE complaint_id IN ",
                                            in, " ORDER BY id", for_update ? " FOR UPDATE" : ""),
                               ids);
    while (rs->next()) {
      ComplaintRow& r = *by_id[rs->getInt64("complaint_id")];
      ClockRecord& c = r.clocks.emplace_back();
      c.id = rs->getInt64("id");
      c.kind = static_cast<pb::ClockKind>(rs->getInt("kind"));
      c.transfer_id = rs->getInt64("transfer_id");
      c.basis = static_cast<pb::ClockBasis>(rs->getInt("basis"));
    }
    for (ComplaintRow& r : rows) {
      for (ClockRecord& c : r.clocks) clocks[c.id] = &c;
    }
  }
  auto rs = db::QueryDynamic(conn,
                             absl::StrCat("SELECT clock_id, action, at, actor, reason, target_seconds FROM "
                                          "clock_transitions WHERE complaint_id IN ",
                                          in, " ORDER BY id"),
                             ids);
  while (rs->next()) {
    auto it = clocks.find(rs->getInt64("clock_id"));
    if (it == clocks.end()) continue;
    ClockEntry e;
    e.action = static_cast<pb::ClockAction>(rs->getInt("action"));
    e.time = db::ParseDateTime(rs->getString("at"));
    e.actor = rs->getString("actor");
    e.reason = rs->getString("reason");
    e.target = absl::Seconds(rs->getInt64("target_seconds"));
    it->second->log.push_back(std::move(e));
    it->second->stored_entries = it->second->log.size();
  }
}

absl::StatusOr<std::vector<ComplaintRow>> LoadRows(sql::Connection& conn, db::ResultSetPtr rs, bool for_update) {
  std::vector<ComplaintRow> rows;
  while (rs->next()) RETURN_IF_ERROR(ParseComplaint(*rs, rows.emplace_back()));
  LoadClocks(conn, rows, for_update);
  return rows;
}

absl::StatusOr<ComplaintRow> LoadOne(sql::Connection& conn, int64_t id, bool for_update) {
  ASSIGN_OR_RETURN(std::vector<ComplaintRow> rows,
                   LoadRows(conn,
                            db::Query(conn, absl::StrCat("SELECT ", kComplaintColumns, " FROM complaints WHERE id = ?",
                                                         for_update ? " FOR UPDATE" : ""),
                                      id),
                            for_update));
  if (rows.empty()) return absl::NotFoundError(absl::StrCat(ComplaintName(id), " not found"));
  return std::move(rows.front());
}

void WriteComplaintColumns(sql::Connection& conn, const ComplaintRow& row, absl::Time now) {
  const pb::Complaint& c = row.complaint;
  std::optional<int64_t> satisfaction;
  if (c.has_revisit()) satisfaction = c.revisit().satisfaction();
  db::Execute(conn,
              "UPDATE complaints SET status = ?, vip = ?, provisional = ?, satisfaction = ?, body = ?, "
              "update_time = ?, version = version + 1 WHERE id = ?",
              int64_t{c.status()}, c.vip(), c.targets_provisional(), satisfaction, Body(c), now, row.id);
}

std::string InsertTimeline(sql::Connection& conn, int64_t complaint_id, pb::TimelineKind kind,
                           const std::string& text, const Actor& actor) {
  db::Execute(conn,
              "INSERT INTO timeline (complaint_id, kind, text, author, create_time) VALUES (?, ?, ?, ?, ?)",
              complaint_id, int64_t{kind}, text, actor.subject, actor.now);
  return absl::StrCat(ComplaintName(complaint_id), "/timeline/", db::LastInsertId(conn));
}

void AppendEvents(sql::Connection& conn, const std::vector<Event>& events, absl::Time now) {
  if (events.empty()) return;
  std::vector<events::OutboxEvent> batch;
  for (const Event& e : events) batch.push_back({e.resource_name, e.payload.get(), now});
  events::AppendEvents(conn, batch);
}

pb::Transfer ParseTransfer(const sql::ResultSet& rs) {
  pb::Transfer t;
  (void)t.ParseFromString(rs.getString("body"));
  t.set_name(absl::StrCat(ComplaintName(rs.getInt64("complaint_id")), "/transfers/", rs.getInt64("id")));
  ToProto(db::ParseDateTime(rs.getString("create_time")), t.mutable_create_time());
  return t;
}

pb::TimelineEntry ParseTimeline(const sql::ResultSet& rs) {
  pb::TimelineEntry e;
  e.set_name(absl::StrCat(ComplaintName(rs.getInt64("complaint_id")), "/timeline/", rs.getInt64("id")));
  e.set_kind(static_cast<pb::TimelineKind>(rs.getInt("kind")));
  e.set_text(rs.getString("text"));
  e.set_author(rs.getString("author"));
  ToProto(db::ParseDateTime(rs.getString("create_time")), e.mutable_create_time());
  return e;
}

// " AND …" restricting complaints (alias c) to what `scope` may see.
std::string ScopeSql(const auth::AccessScope& scope, std::vector<Param>& params) {
  switch (scope.kind) {
    case auth::AccessScope::Kind::kAll:
      return "";
    case auth::AccessScope::Kind::kTeam:
      params.push_back(scope.team);
      params.push_back(scope.subject);
      return " AND (c.team = ? OR c.owner = ?)";
    case auth::AccessScope::Kind::kOwner:
      params.push_back(scope.subject);
      return " AND c.owner = ?";
  }
  return " AND FALSE";
}

SlaPolicy ParsePolicy(const sql::ResultSet& rs) {
  SlaPolicy p;
  p.key.kind = static_cast<pb::ComplaintKind>(rs.getInt("kind"));
  p.key.severity = static_cast<pb::Severity>(rs.getInt("severity"));
  p.key.vip = rs.getBoolean("vip");
  p.key.tier_class = static_cast<pb::TierClass>(rs.getInt("tier_class"));
  p.first_response = absl::Seconds(rs.getInt64("first_response_seconds"));
  p.resolution = absl::Seconds(rs.getInt64("resolution_seconds"));
  p.basis = static_cast<pb::ClockBasis>(rs.getInt("basis"));
  p.version = rs.getInt64("version");
  return p;
}

}  // namespace

absl::Status MysqlComplaintRepository::Create(absl::Time deadline, ComplaintRow& row,
                                              const std::string& timeline_text, const CreateEvents& events,
                                              const std::string& request_id, const Actor& actor) {
  const db::IdempotencyKey key{.method = actor.method, .caller = actor.subject, .request_id = request_id};
  auto earlier = [&](sql::Connection& conn) -> std::optional<absl::Status> {
    if (request_id.empty()) return std::nullopt;
    std::optional<std::string> name = db::FindIdempotentResult(conn, key);
    if (!name.has_value()) return std::nullopt;
    absl::StatusOr<ComplaintRow> stored = LoadOne(conn, LastId(*name), false);
    if (!stored.ok()) return stored.status();
    row = *std::move(stored);
    return absl::OkStatus();
  };
  absl::Status status = db::RunInTransaction(
      pool_, deadline,
      [&](sql::Connection& conn) -> absl::Status {
        if (auto done = earlier(conn)) return *done;
        pb::Complaint& c = row.complaint;
        db::Execute(conn,
                    "INSERT INTO complaints (customer, owner, team, kind, status, vip, provisional, body, "
                    "create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    c.customer(), c.owner(), c.team(), int64_t{c.kind()}, int64_t{c.status()}, c.vip(),
                    c.targets_provisional(), Body(c), actor.now, actor.now);
        row.id = db::LastInsertId(conn);
        c.set_name(ComplaintName(row.id));
        c.set_etag("1");
        ToProto(actor.now, c.mutable_create_time());
        ToProto(actor.now, c.mutable_update_time());
        WriteClocks(conn, row, 0, actor.now);
        InsertTimeline(conn, row.id, pb::STATUS_CHANGE, timeline_text, actor);
        if (!request_id.empty()) db::RememberIdempotentResult(conn, key, c.name(), actor.now);
        if (events) AppendEvents(conn, events(c), actor.now);
        return absl::OkStatus();
      },
      {.context = "record complaint"});
  if (status.code() == absl::StatusCode::kAlreadyExists && !request_id.empty()) {
    // A concurrent retry (same caller, same request id) won the race: return its result.
    return db::WithConnection(pool_, deadline, [&](sql::Connection& conn) -> absl::Status {
      if (auto done = earlier(conn)) return *done;
      return status;
    });
  }
  return status;
}

absl::StatusOr<ComplaintRow> MysqlComplaintRepository::Get(absl::Time deadline, int64_t id) {
  return db::WithConnection(pool_, deadline, [&](sql::Connection& conn) { return LoadOne(conn, id, false); });
}

absl::StatusOr<MutateResult> MysqlComplaintRepository::Mutate(absl::Time deadline, int64_t id, const Actor& actor,
                                                              const Mutation& mutate,
                                                              const std::string& request_id) {
  const db::IdempotencyKey key{.method = actor.method, .caller = actor.subject, .request_id = request_id};
  return db::RunInTransaction(
      pool_, deadline,
      [&](sql::Connection& conn) -> absl::StatusOr<MutateResult> {
        MutateResult result;
        ASSIGN_OR_RETURN(result.row, LoadOne(conn, id, true));
        if (!request_id.empty()) {
          if (auto name = db::FindIdempotentResult(conn, key)) {
            result.created = *name;
            result.replayed = true;
            return result;
          }
        }
        ComplaintRow& row = result.row;
        Changes changes;
        RETURN_IF_ERROR(mutate(row, changes));
        int64_t new_transfer_id = 0;
        if (changes.new_transfer) {
          pb::Transfer body = *changes.new_transfer;
          body.clear_name();
          body.clear_create_time();
          db::Execute(conn, "INSERT INTO transfers (complaint_id, body, create_time) VALUES (?, ?, ?)", row.id,
                      body.SerializeAsString(), actor.now);
          new_transfer_id = db::LastInsertId(conn);
          result.created = absl::StrCat(row.complaint.name(), "/transfers/", new_transfer_id);
        }
        if (changes.completed_transfer) {
          pb::Transfer body = changes.completed_transfer->second;
          body.clear_name();
          body.clear_create_time();
          db::Execute(conn, "UPDATE transfers SET body = ? WHERE id = ? AND complaint_id = ?",
                      body.SerializeAsString(), changes.completed_transfer->first, row.id);
        }
        WriteComplaintColumns(conn, row, actor.now);
        int64_t version = 0;
        (void)absl::SimpleAtoi(row.complaint.etag(), &version);
        row.complaint.set_etag(absl::StrCat(version + 1));
        ToProto(actor.now, row.complaint.mutable_update_time());
        WriteClocks(conn, row, new_transfer_id, actor.now);
        for (const auto& [kind, text] : changes.timeline) {
          std::string name = InsertTimeline(conn, row.id, kind, text, actor);
          if (result.created.empty()) result.created = std::move(name);
        }
        if (!request_id.empty() && !result.created.empty()) {
          db::RememberIdempotentResult(conn, key, result.created, actor.now);
        }
        AppendEvents(conn, changes.events, actor.now);
        return result;
      },
      {.context = "update complaint"});
}

absl::StatusOr<std::vector<ComplaintRow>> MysqlComplaintRepository::List(absl::Time deadline,
                                                                         const ListFilter& filter,
                                                                         int64_t after_id, int limit) {
  std::vector<Param> params{after_id};
  std::string where = "c.id > ?";
  where += ScopeSql(filter.scope, params);
  auto eq = [&](const char* column, Param value) {
    absl::StrAppend(&where, " AND c.", column, " = ?");
    params.push_back(std::move(value));
  };
  if (!filter.customer.empty()) eq("customer", filter.customer);
  if (!filter.owner.empty()) eq("owner", filter.owner);
  if (filter.status != pb::COMPLAINT_STATUS_UNSPECIFIED) eq("status", int64_t{filter.status});
  if (filter.kind != pb::COMPLAINT_KIND_UNSPECIFIED) eq("kind", int64_t{filter.kind});
  if (filter.open_only) {
    absl::StrAppend(&where, " AND c.status NOT IN (", int{pb::RESOLVED}, ",", int{pb::CLOSED}, ",",
                    int{pb::REVISITED}, ")");
  }
  if (filter.at_risk_at) {
    where += " AND EXISTS (SELECT 1 FROM complaint_clocks k WHERE k.complaint_id = c.id AND k.at_risk_time <= ?)";
    params.push_back(*filter.at_risk_at);
  }
  params.push_back(int64_t{limit});
  return db::WithConnection(pool_, deadline, [&](sql::Connection& conn) {
    return LoadRows(conn,
                    db::QueryDynamic(conn,
                                     absl::StrCat("SELECT c.id, c.version, c.body, c.create_time, c.update_time "
                                                  "FROM complaints c WHERE ",
                                                  where, " ORDER BY c.id LIMIT ?"),
                                     params),
                    false);
  });
}

absl::StatusOr<std::vector<std::pair<int64_t, pb::Transfer>>> MysqlComplaintRepository::ListTransfers(
    absl::Time deadline, int64_t complaint_id, int64_t after_id, int limit) {
  return db::WithConnection(pool_, deadline, [&](sql::Connection& conn) {
    std::vector<std::pair<int64_t, pb::Transfer>> out;
    auto rs = db::Query(conn,
                        "SELECT id, complaint_id, body, create_time FROM transfers WHERE complaint_id = ? "
                        "AND id > ? ORDER BY id LIMIT ?",
                        complaint_id, after_id, int64_t{limit});
    while (rs->next()) out.emplace_back(rs->getInt64("id"), ParseTransfer(*rs));
    return absl::StatusOr<std::vector<std::pair<int64_t, pb::Transfer>>>(std::move(out));
  });
}

absl::StatusOr<std::vector<std::pair<int64_t, pb::TimelineEntry>>> MysqlComplaintRepository::ListTimeline(
    absl::Time deadline, int64_t complaint_id, int64_t after_id, int limit) {
  return db::WithConnection(pool_, deadline, [&](sql::Connection& conn) {
    std::vector<std::pair<int64_t, pb::TimelineEntry>> out;
    auto rs = db::Query(conn,
                        "SELECT id, complaint_id, kind, text, author, create_time FROM timeline "
                        "WHERE complaint_id = ? AND id > ? ORDER BY id LIMIT ?",
                        complaint_id, after_id, int64_t{limit});
    while (rs->next()) out.emplace_back(rs->getInt64("id"), ParseTimeline(*rs));
    return absl::StatusOr<std::vector<std::pair<int64_t, pb::TimelineEntry>>>(std::move(out));
  });
}

absl::StatusOr<pb::Transfer> MysqlComplaintRepository::GetTransfer(absl::Time deadline, int64_t complaint_id,
                                                                   int64_t transfer_id) {
  return db::WithConnection(pool_, deadline, [&](sql::Connection& conn) -> absl::StatusOr<pb::Transfer> {
    auto rs = db::Query(conn,
                        "SELECT id, complaint_id, body, create_time FROM transfers WHERE id = ? AND "
                        "complaint_id = ?",
                        transfer_id, complaint_id);
    if (!rs->next()) return absl::NotFoundError("transfer not found");
    return ParseTransfer(*rs);
  });
}

absl::StatusOr<pb::TimelineEntry> MysqlComplaintRepository::GetTimelineEntry(absl::Time deadline,
                                                                             int64_t complaint_id,
                                                                             int64_t entry_id) {
  return db::WithConnection(pool_, deadline, [&](sql::Connection& conn) -> absl::StatusOr<pb::TimelineEntry> {
    auto rs = db::Query(conn,
                        "SELECT id, complaint_id, kind, text, author, create_time FROM timeline WHERE id = ? "
                        "AND complaint_id = ?",
                        entry_id, complaint_id);
    if (!rs->next()) return absl::NotFoundError("timeline entry not found");
    return ParseTimeline(*rs);
  });
}

absl::Status MysqlComplaintRepository::SeedPolicies(absl::Time deadline, const std::vector<SlaPolicy>& defaults) {
  return db::RunInTransaction(pool_, deadline, [&](sql::Connection& conn) -> absl::Status {
    for (const SlaPolicy& p : defaults) {
      db::Execute(conn,
                  "INSERT IGNORE INTO sla_policies (kind, severity, vip, tier_class, first_response_seconds, "
                  "resolution_seconds, basis, update_time, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'default')",
                  int64_t{p.key.kind}, int64_t{p.key.severity}, p.key.vip, int64_t{p.key.tier_class},
                  absl::ToInt64Seconds(p.first_response), absl::ToInt64Seconds(p.resolution),
                  int64_t{p.basis}, absl::Now());
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<SlaPolicy>> MysqlComplaintRepository::ListPolicies(absl::Time deadline) {
  return db::WithConnection(pool_, deadline, [&](sql::Connection& conn) {
    std::vector<SlaPolicy> out;
    auto rs = db::Query(conn,
                        "SELECT kind, severity, vip, tier_class, first_response_seconds, resolution_seconds, "
                        "basis, version FROM sla_policies ORDER BY kind, severity, vip, tier_class");
    while (rs->next()) out.push_back(ParsePolicy(*rs));
    return absl::StatusOr<std::vector<SlaPolicy>>(std::move(out));
  });
}

absl::StatusOr<SlaPolicy> MysqlComplaintRepository::GetPolicy(absl::Time deadline, const PolicyKey& key) {
  return db::WithConnection(pool_, deadline, [&](sql::Connection& conn) -> absl::StatusOr<SlaPolicy> {
    auto rs = db::Query(conn,
                        "SELECT kind, severity, vip, tier_class, first_response_seconds, resolution_seconds, "
                        "basis, version FROM sla_policies WHERE kind = ? AND severity = ? AND vip = ? AND "
                        "tier_class = ?",
                        int64_t{key.kind}, int64_t{key.severity}, key.vip, int64_t{key.tier_class});
    if (!rs->next()) return absl::NotFoundError(absl::StrCat(PolicyName(key), " not found"));
    return ParsePolicy(*rs);
  });
}

absl::StatusOr<SlaPolicy> MysqlComplaintRepository::UpdatePolicy(absl::Time deadline, const SlaPolicy& policy,
                                                                 const Actor& actor) {
  return db::RunInTransaction(pool_, deadline, [&](sql::Connection& conn) -> absl::StatusOr<SlaPolicy> {
    auto rs = db::Query(conn,
                        "SELECT version FROM sla_policies WHERE kind = ? AND severity = ? AND vip = ? AND "
                        "tier_class = ? FOR UPDATE",
                        int64_t{policy.key.kind}, int64_t{policy.key.severity}, policy.key.vip,
                        int64_t{policy.key.tier_class});
    if (!rs->next()) return absl::NotFoundError(absl::StrCat(PolicyName(policy.key), " not found"));
    if (rs->getInt64("version") != policy.version) {
      return absl::AbortedError("etag mismatch: the policy changed since it was read");
    }
    db::Execute(conn,
                "UPDATE sla_policies SET first_response_seconds = ?, resolution_seconds = ?, basis = ?, "
                "version = version + 1, update_time = ?, updated_by = ? WHERE kind = ? AND severity = ? AND "
                "vip = ? AND tier_class = ?",
                absl::ToInt64Seconds(policy.first_response), absl::ToInt64Seconds(policy.resolution),
                int64_t{policy.basis}, actor.now, actor.subject, int64_t{policy.key.kind},
                int64_t{policy.key.severity}, policy.key.vip, int64_t{policy.key.tier_class});
    SlaPolicy stored = policy;
    stored.version = policy.version + 1;
    return stored;
  });
}

absl::StatusOr<std::vector<Breach>> MysqlComplaintRepository::SweepBreaches(absl::Time deadline, absl::Time now,
                                                                            int limit) {
  return db::RunInTransaction(
      pool_, deadline,
      [&](sql::Connection& conn) -> absl::StatusOr<std::vector<Breach>> {
        // SKIP LOCKED: clocks held by another replica's sweep, or by a
        // change in progress, are left to them; the next sweep sees the rest.
        auto rs = db::Query(conn,
                            "SELECT id, complaint_id, kind, transfer_id, breach_due, customer, owner, team "
                            "FROM complaint_clocks WHERE breach_due <= ? ORDER BY breach_due LIMIT ? "
                            "FOR UPDATE SKIP LOCKED",
                            now, int64_t{limit});
        std::vector<Breach> breaches;
        std::vector<pb::ComplaintSlaBreached> payloads;
        std::vector<int64_t> clock_ids;
        while (rs->next()) {
          const int64_t complaint_id = rs->getInt64("complaint_id");
          const auto kind = static_cast<pb::ClockKind>(rs->getInt("kind"));
          breaches.push_back({complaint_id, kind});
          clock_ids.push_back(rs->getInt64("id"));
          pb::ComplaintSlaBreached& e = payloads.emplace_back();
          e.set_complaint(ComplaintName(complaint_id));
          e.set_customer(rs->getString("customer"));
          e.set_owner(rs->getString("owner"));
          e.set_team(rs->getString("team"));
          e.set_clock(pb::ClockKind_Name(kind));
          if (const int64_t t = rs->getInt64("transfer_id"); t != 0) {
            e.set_transfer(absl::StrCat(e.complaint(), "/transfers/", t));
          }
          ToProto(db::ParseDateTime(rs->getString("breach_due")), e.mutable_due_time());
        }
        rs.reset();
        if (clock_ids.empty()) return breaches;
        std::vector<std::string> values;
        std::vector<Param> params;
        std::vector<Param> ids;
        for (size_t i = 0; i < clock_ids.size(); ++i) {
          values.push_back("(?, ?, ?, ?, 'breach-job', ?)");
          for (Param p : std::vector<Param>{clock_ids[i], breaches[i].complaint_id, int64_t{pb::BREACH}, now,
                                            std::string("deadline passed")}) {
            params.push_back(std::move(p));
          }
          ids.push_back(clock_ids[i]);
        }
        db::ExecuteDynamic(conn,
                           absl::StrCat("INSERT INTO clock_transitions (clock_id, complaint_id, action, at, actor, "
                                        "reason) VALUES ",
                                        absl::StrJoin(values, ", ")),
                           params);
        db::ExecuteDynamic(conn,
                           absl::StrCat("UPDATE complaint_clocks SET breached = TRUE, breach_due = NULL, "
                                        "outcome = 2 WHERE id IN (",
                                        absl::StrJoin(std::vector<std::string>(ids.size(), "?"), ","), ")"),
                           ids);
        std::vector<events::OutboxEvent> batch;
        for (const pb::ComplaintSlaBreached& e : payloads) batch.push_back({e.complaint(), &e, now});
        events::AppendEvents(conn, batch);
        return breaches;
      },
      {.context = "breach sweep"});
}

absl::StatusOr<std::vector<int64_t>> MysqlComplaintRepository::ListProvisional(absl::Time deadline, int limit) {
  return db::WithConnection(pool_, deadline, [&](sql::Connection& conn) {
    std::vector<int64_t> ids;
    auto rs = db::Query(conn, "SELECT id FROM complaints WHERE provisional = TRUE ORDER BY id LIMIT ?",
                        int64_t{limit});
    while (rs->next()) ids.push_back(rs->getInt64("id"));
    return absl::StatusOr<std::vector<int64_t>>(std::move(ids));
  });
}

absl::StatusOr<std::vector<ComplianceRow>> MysqlComplaintRepository::Compliance(absl::Time deadline,
                                                                                absl::Time start, absl::Time end,
                                                                                const auth::AccessScope& scope,
                                                                                const std::string& team) {
  std::vector<Param> params{start, end};
  std::string where = ScopeSql(scope, params);
  if (!team.empty()) {
    where += " AND c.team = ?";
    params.push_back(team);
  }
  return db::WithConnection(pool_, deadline, [&](sql::Connection& conn) {
    auto rs = db::QueryDynamic(
        conn,
        absl::StrCat(
            "SELECT c.owner, c.team, COUNT(*) AS n, "
            "CAST(COALESCE(SUM(fr.outcome <> 0), 0) AS SIGNED) AS fr_decided, "
            "CAST(COALESCE(SUM(fr.outcome = 1), 0) AS SIGNED) AS fr_met, "
            "CAST(COALESCE(SUM(rs.outcome <> 0), 0) AS SIGNED) AS rs_decided, "
            "CAST(COALESCE(SUM(rs.outcome = 1), 0) AS SIGNED) AS rs_met, "
            "CAST(COALESCE(SUM(c.status IN (", int{pb::CLOSED}, ",", int{pb::REVISITED},
            ")), 0) AS SIGNED) AS closed, "
            "CAST(COUNT(c.satisfaction) AS SIGNED) AS revisits, "
            "CAST(COALESCE(SUM(c.satisfaction), 0) AS SIGNED) AS satisfaction_sum, "
            "CAST(COALESCE(SUM(c.vip AND c.satisfaction IS NOT NULL), 0) AS SIGNED) AS vip_revisits, "
            "CAST(COALESCE(SUM(c.vip AND c.satisfaction >= 4), 0) AS SIGNED) AS vip_satisfied "
            "FROM complaints c "
            "LEFT JOIN complaint_clocks fr ON fr.complaint_id = c.id AND fr.kind = ",
            int{pb::FIRST_RESPONSE},
            " LEFT JOIN complaint_clocks rs ON rs.complaint_id = c.id AND rs.kind = ", int{pb::RESOLUTION},
            " WHERE c.create_time >= ? AND c.create_time < ?", where, " GROUP BY c.owner, c.team ORDER BY c.team, c.owner"),
        params);
    std::vector<ComplianceRow> out;
    while (rs->next()) {
      ComplianceRow r;
      r.owner = rs->getString("owner");
      r.team = rs->getString("team");
      r.complaints = rs->getInt64("n");
      r.first_response_decided = rs->getInt64("fr_decided");
      r.first_response_met = rs->getInt64("fr_met");
      r.resolution_decided = rs->getInt64("rs_decided");
      r.resolution_met = rs->getInt64("rs_met");
      r.closed = rs->getInt64("closed");
      r.revisits = rs->getInt64("revisits");
      r.satisfaction_sum = rs->getInt64("satisfaction_sum");
      r.vip_revisits = rs->getInt64("vip_revisits");
      r.vip_satisfied = rs->getInt64("vip_satisfied");
      out.push_back(std::move(r));
    }
    return absl::StatusOr<std::vector<ComplianceRow>>(std::move(out));
  });
}

absl::StatusOr<std::vector<ComplaintRow>> MysqlComplaintRepository::Faults(absl::Time deadline,
                                                                           const std::string& customer,
                                                                           absl::Time start, absl::Time end,
                                                                           const auth::AccessScope& scope) {
  std::vector<Param> params{customer, int64_t{pb::FAULT_REPORT}, start, end};
  const std::string where = ScopeSql(scope, params);
  return db::WithConnection(pool_, deadline, [&](sql::Connection& conn) {
    return LoadRows(conn,
                    db::QueryDynamic(conn,
                                     absl::StrCat("SELECT c.id, c.version, c.body, c.create_time, c.update_time "
                                                  "FROM complaints c WHERE c.customer = ? AND c.kind = ? AND "
                                                  "c.create_time >= ? AND c.create_time < ?",
                                                  where, " ORDER BY c.id LIMIT 1000"),
                                     params),
                    false);
  });
}

}  // namespace crm::complaints
