#include "services/opportunities/src/mysql_opportunity_repository.h"

#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/db/idempotency.h"
#include "common/db/sql.h"
#include "common/db/transaction.h"
#include "common/events/outbox.h"
#include "common/status/status_macros.h"
#include "common/util/proto_diff.h"
#include "common/util/proto_time.h"

namespace crm::opportunities {
namespace {

using db::Param;
using google::protobuf::Message;

struct Table {
  const char* table;
  const char* segment;  // collection id in resource names
};

Table TableOf(Collection c) {
  switch (c) {
    case Collection::kNeeds: return {"needs", "needs"};
    case Collection::kOpportunities: return {"opportunities", "opportunities"};
    case Collection::kProducts: return {"products", "products"};
    case Collection::kProposals: return {"proposals", "proposals"};
    case Collection::kNegotiationRounds: return {"negotiation_rounds", "negotiationRounds"};
    case Collection::kContracts: return {"contracts", "contracts"};
    case Collection::kLoanApplications: return {"loan_applications", "loanApplications"};
    case Collection::kLoanTrackingEntries: return {"loan_tracking_entries", "trackingEntries"};
  }
  return {"", ""};
}

// The columns queries filter or sum on, taken from the resource.
struct RowIndex {
  std::string customer, owner, team;
  int64_t kind = 0, state = 0;
  bool flag = false;
  std::optional<absl::Time> due_time;
  std::vector<std::pair<std::string, Param>> extra;  // table-specific columns
};

std::optional<absl::Time> TimeIf(bool has, const google::protobuf::Timestamp& ts) {
  return has ? std::optional<absl::Time>(FromProto(ts)) : std::nullopt;
}

RowIndex IndexOf(Collection c, const Message& m) {
  RowIndex idx;
  const auto* descriptor = m.GetDescriptor();
  const auto* reflection = m.GetReflection();
  for (auto [field, out] : {std::pair{"owner", &idx.owner}, std::pair{"team", &idx.team},
                            std::pair{"customer", &idx.customer}}) {
    if (const auto* f = descriptor->FindFieldByName(field)) *out = reflection->GetString(m, f);
  }
  switch (c) {
    case Collection::kNeeds: {
      const auto& n = static_cast<const pb::Need&>(m);
      idx.kind = n.source();
      idx.state = n.status();
      idx.flag = n.escalated();
      break;
    }
    case Collection::kOpportunities: {
      const auto& o = static_cast<const pb::Opportunity&>(m);
      idx.kind = o.type();
      idx.state = o.state();
      idx.extra = {{"amount_minor", o.amount().units() * 100 + o.amount().nanos() / 10'000'000},
                   {"currency", o.amount().currency_code()},
                   {"win_probability", int64_t{o.win_probability()}}};
      break;
    }
    case Collection::kProducts: {
      const auto& p = static_cast<const pb::Product&>(m);
      idx.kind = p.category();
      idx.state = p.active() ? 1 : 0;
      idx.extra = {{"code", p.code()}};
      break;
    }
    case Collection::kProposals: {
      const auto& p = static_cast<const pb::Proposal&>(m);
      idx.state = p.status();
      idx.flag = p.requires_supervisor();
      break;
    }
    case Collection::kNegotiationRounds: {
      const auto& r = static_cast<const pb::NegotiationRound&>(m);
      idx.state = r.has_end_time() ? 1 : 0;
      // Due only while the feedback is outstanding (OPP-6).
      if (!r.has_feedback_time()) idx.due_time = TimeIf(r.has_feedback_due_time(), r.feedback_due_time());
      break;
    }
    case Collection::kContracts: {
      const auto& k = static_cast<const pb::Contract&>(m);
      idx.state = k.status();
      idx.kind = k.urgency();
      if (!k.has_revisit_time()) idx.due_time = TimeIf(k.has_revisit_due_time(), k.revisit_due_time());
      break;
    }
    case Collection::kLoanApplications: {
      const auto& l = static_cast<const pb::LoanApplication&>(m);
      idx.state = l.decision();
      break;
    }
    case Collection::kLoanTrackingEntries: {
      const auto& e = static_cast<const pb::LoanTrackingEntry&>(m);
      idx.kind = e.kind();
      idx.owner = e.author();
      break;
    }
  }
  return idx;
}

// Fields that come from columns, never from the stored body.
void ClearColumnFields(Message& m) {
  const auto* descriptor = m.GetDescriptor();
  for (const char* name : {"name", "etag", "create_time", "update_time"}) {
    if (const auto* f = descriptor->FindFieldByName(name)) m.GetReflection()->ClearField(&m, f);
  }
}

std::string Body(const Message& m) {
  std::unique_ptr<Message> copy(m.New());
  copy->CopyFrom(m);
  ClearColumnFields(*copy);
  return copy->SerializeAsString();
}

void SetTimestamp(Message& m, const char* field, absl::Time t) {
  if (const auto* f = m.GetDescriptor()->FindFieldByName(field)) {
    ToProto(t, static_cast<google::protobuf::Timestamp*>(m.GetReflection()->MutableMessage(&m, f)));
  }
}

void Decorate(Message& m, const std::string& name, int64_t version, absl::Time create_time,
              absl::Time update_time) {
  const auto* descriptor = m.GetDescriptor();
  const auto* reflection = m.GetReflection();
  reflection->SetString(&m, descriptor->FindFieldByName("name"), name);
  if (const auto* f = descriptor->FindFieldByName("etag")) reflection->SetString(&m, f, absl::StrCat(version));
  SetTimestamp(m, "create_time", create_time);
  SetTimestamp(m, "update_time", update_time);
}

std::string NameOf(Collection c, const std::string& prefix, int64_t id) {
  return absl::StrCat(prefix, prefix.empty() ? "" : "/", TableOf(c).segment, "/", id);
}

// "opportunities/3/proposals/4" → "opportunities/3": the audit trail's key.
std::string RootOf(const std::string& name) {
  const size_t first = name.find('/');
  const size_t second = name.find('/', first + 1);
  return second == std::string::npos ? name : name.substr(0, second);
}

constexpr char kColumns[] =
    "id, name_prefix, version, body, create_time, update_time";

absl::Status FromRow(Collection c, const sql::ResultSet& rs, Message& out) {
  const std::string body = rs.getString("body");
  out.Clear();
  if (!out.ParseFromString(body)) {
    return absl::InternalError(absl::StrCat(TableOf(c).table, " row ", rs.getInt64("id"), " is corrupt"));
  }
  Decorate(out, NameOf(c, rs.getString("name_prefix"), rs.getInt64("id")), rs.getInt64("version"),
           db::ParseDateTime(rs.getString("create_time")), db::ParseDateTime(rs.getString("update_time")));
  return absl::OkStatus();
}

absl::Status Load(sql::Connection& conn, Collection c, int64_t id, bool for_update, Message& out) {
  auto rs = db::Query(conn, absl::StrCat("SELECT ", kColumns, " FROM ", TableOf(c).table,
                                         " WHERE id = ?", for_update ? " FOR UPDATE" : ""),
                      id);
  if (!rs->next()) return absl::NotFoundError(absl::StrCat(NameOf(c, "", id), " not found"));
  return FromRow(c, *rs, out);
}

// "?" for a value, "NULL" for none (Param has no null alternative).
void AddValue(std::vector<Param>& params, std::vector<std::string>& placeholders,
              std::optional<Param> value) {
  if (value.has_value()) {
    placeholders.push_back("?");
    params.push_back(std::move(*value));
  } else {
    placeholders.push_back("NULL");
  }
}

void InsertChange(sql::Connection& conn, const std::string& resource, const std::string& field,
                  const std::string& old_value, const std::string& new_value, const Actor& actor) {
  db::Execute(conn,
              "INSERT INTO changes (root, resource, field, old_value, new_value, actor, method, "
              "change_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
              RootOf(resource), resource, field, old_value, new_value, actor.subject, actor.method,
              actor.now);
}

void InsertRevision(sql::Connection& conn, int64_t proposal_id, const pb::Proposal& p,
                    const Actor& actor) {
  db::Execute(conn,
              "INSERT INTO proposal_revisions (proposal_id, revision, body, author, create_time) "
              "VALUES (?, ?, ?, ?, ?)",
              proposal_id, int64_t{p.revision()}, p.SerializeAsString(), actor.subject, actor.now);
}

void AppendEvents(sql::Connection& conn, const Events& events, absl::Time now) {
  for (const Event& e : events) events::AppendEvent(conn, e.resource_name, *e.payload, now);
}

std::unique_ptr<Message> NewMessage(Collection c) {
  switch (c) {
    case Collection::kNeeds: return std::make_unique<pb::Need>();
    case Collection::kOpportunities: return std::make_unique<pb::Opportunity>();
    case Collection::kProducts: return std::make_unique<pb::Product>();
    case Collection::kProposals: return std::make_unique<pb::Proposal>();
    case Collection::kNegotiationRounds: return std::make_unique<pb::NegotiationRound>();
    case Collection::kContracts: return std::make_unique<pb::Contract>();
    case Collection::kLoanApplications: return std::make_unique<pb::LoanApplication>();
    case Collection::kLoanTrackingEntries: return std::make_unique<pb::LoanTrackingEntry>();
  }
  return nullptr;
}

bool IsOpen(Collection c, const Message& m) {
  switch (c) {
    case Collection::kNeeds: return NeedOpen(static_cast<const pb::Need&>(m));
    case Collection::kOpportunities: return OpportunityOpen(static_cast<const pb::Opportunity&>(m));
    case Collection::kProposals: return ProposalOpen(static_cast<const pb::Proposal&>(m));
    case Collection::kNegotiationRounds:
      return NegotiationRoundOpen(static_cast<const pb::NegotiationRound&>(m));
    case Collection::kContracts: return ContractOpen(static_cast<const pb::Contract&>(m));
    case Collection::kLoanApplications: return LoanApplicationOpen(static_cast<const pb::LoanApplication&>(m));
    case Collection::kProducts:
    case Collection::kLoanTrackingEntries: return false;
  }
  return false;
}

struct LockedRow {
  Collection collection;
  int64_t id = 0;
  std::unique_ptr<Message> message;
};

// Rows of `c` whose `column` equals `value`, locked, in id order.
absl::StatusOr<std::vector<LockedRow>> LockRows(sql::Connection& conn, Collection c, const char* column,
                                                Param value) {
  auto rs = db::QueryDynamic(conn,
                             absl::StrCat("SELECT ", kColumns, " FROM ", TableOf(c).table, " WHERE ", column,
                                          " = ? ORDER BY id FOR UPDATE"),
                             std::vector<Param>{std::move(value)});
  std::vector<LockedRow> rows;
  while (rs->next()) {
    LockedRow row{c, rs->getInt64("id"), NewMessage(c)};
    RETURN_IF_ERROR(FromRow(c, *rs, *row.message));
    rows.push_back(std::move(row));
  }
  return rows;
}

// Sets owner and team of a locked row; false when it already had them.
bool MoveRow(sql::Connection& conn, LockedRow& row, const std::string& owner, const std::string& team,
             const Actor& actor) {
  Message& m = *row.message;
  const auto* descriptor = m.GetDescriptor();
  const auto* reflection = m.GetReflection();
  const auto* owner_field = descriptor->FindFieldByName("owner");
  const auto* team_field = descriptor->FindFieldByName("team");
  const auto* name_field = descriptor->FindFieldByName("name");
  if (owner_field == nullptr || team_field == nullptr) return false;
  const std::string old_owner = reflection->GetString(m, owner_field);
  const std::string old_team = reflection->GetString(m, team_field);
  if (old_owner == owner && old_team == team) return false;
  reflection->SetString(&m, owner_field, owner);
  reflection->SetString(&m, team_field, team);
  db::Execute(conn,
              absl::StrCat("UPDATE ", TableOf(row.collection).table,
                           " SET owner = ?, team = ?, body = ?, update_time = ?, version = version + 1 "
                           "WHERE id = ?"),
              owner, team, Body(m), actor.now, row.id);
  const std::string name = reflection->GetString(m, name_field);
  if (old_owner != owner) InsertChange(conn, name, "owner", old_owner, owner, actor);
  if (old_team != team) InsertChange(conn, name, "team", old_team, team, actor);
  return true;
}

int64_t IdOf(const std::string& name) {
  int64_t id = 0;
  (void)absl::SimpleAtoi(absl::string_view(name).substr(name.rfind('/') + 1), &id);
  return id;
}

}  // namespace

absl::Status MysqlOpportunityRepository::Create(absl::Time deadline, Collection c,
                                                const std::string& parent_name, int64_t parent_id,
                                                Message& resource, const std::string& request_id,
                                                const Actor& actor, const CreateEvents& events) {
  const db::IdempotencyKey key{.method = actor.method, .caller = actor.subject, .request_id = request_id};
  auto earlier = [&](sql::Connection& conn) -> std::optional<absl::Status> {
    if (request_id.empty()) return std::nullopt;
    std::optional<std::string> name = db::FindIdempotentResult(conn, key);
    if (!name.has_value()) return std::nullopt;
    return Load(conn, c, IdOf(*name), false, resource);
  };
  absl::Status status = db::RunInTransaction(
      pool_, deadline,
      [&](sql::Connection& conn) -> absl::Status {
        if (auto done = earlier(conn)) return *done;
        const RowIndex idx = IndexOf(c, resource);
        std::vector<std::string> columns = {"parent_id", "name_prefix", "customer", "owner", "team",
                                            "kind", "state", "flag", "due_time", "version", "body",
                                            "create_time", "update_time"};
        std::vector<Param> params;
        std::vector<std::string> values;
        for (Param p : std::vector<Param>{parent_id, parent_name, idx.customer, idx.owner, idx.team,
                                          idx.kind, idx.state, idx.flag}) {
          AddValue(params, values, std::move(p));
        }
        AddValue(params, values, idx.due_time ? std::optional<Param>(*idx.due_time) : std::nullopt);
        for (Param p : std::vector<Param>{int64_t{1}, Body(resource), actor.now, actor.now}) {
          AddValue(params, values, std::move(p));
        }
        for (const auto& [column, value] : idx.extra) {
          columns.push_back(column);
          AddValue(params, values, value);
        }
        db::ExecuteDynamic(conn,
                           absl::StrCat("INSERT INTO ", TableOf(c).table, " (", absl::StrJoin(columns, ", "),
                                        ") VALUES (", absl::StrJoin(values, ", "), ")"),
                           params);
        const int64_t id = db::LastInsertId(conn);
        const std::string name = NameOf(c, parent_name, id);
        Decorate(resource, name, 1, actor.now, actor.now);
        InsertChange(conn, name, "*", "", "created", actor);
        if (c == Collection::kProposals) {
          InsertRevision(conn, id, static_cast<const pb::Proposal&>(resource), actor);
        }
        if (!request_id.empty()) db::RememberIdempotentResult(conn, key, name, actor.now);
        if (events) AppendEvents(conn, events(resource), actor.now);
        return absl::OkStatus();
      },
      {.context = "create"});
  if (status.code() == absl::StatusCode::kAlreadyExists && !request_id.empty()) {
    // A concurrent retry (same caller, same request id) won the race: return its result.
    absl::Status replay = db::WithConnection(pool_, deadline, [&](sql::Connection& conn) -> absl::Status {
      if (auto done = earlier(conn)) return *done;
      return status;
    });
    return replay;
  }
  return status;
}

absl::Status MysqlOpportunityRepository::Get(absl::Time deadline, Collection c, int64_t id, Message& out) {
  return db::WithConnection(pool_, deadline,
                            [&](sql::Connection& conn) { return Load(conn, c, id, false, out); });
}

absl::Status MysqlOpportunityRepository::Mutate(absl::Time deadline, Collection c, int64_t id,
                                                const Actor& actor, const Mutation& mutate, Message& out) {
  return db::RunInTransaction(
      pool_, deadline,
      [&](sql::Connection& conn) -> absl::Status {
        std::unique_ptr<Message> before(out.New());
        RETURN_IF_ERROR(Load(conn, c, id, true, *before));
        std::unique_ptr<Message> current(out.New());
        current->CopyFrom(*before);
        Events events;
        RETURN_IF_ERROR(mutate(*current, events));
        static const std::set<std::string> kIgnore = {"name", "etag", "create_time", "update_time"};
        const std::vector<FieldDiff> diffs = DiffMessages(*before, *current, kIgnore);
        if (diffs.empty() && events.empty()) {
          out.CopyFrom(*current);
          return absl::OkStatus();
        }
        const RowIndex idx = IndexOf(c, *current);
        std::vector<std::string> sets;
        std::vector<Param> params;
        auto set = [&](const std::string& column, std::optional<Param> value) {
          std::vector<std::string> placeholder;
          AddValue(params, placeholder, std::move(value));
          sets.push_back(absl::StrCat(column, " = ", placeholder[0]));
        };
        set("customer", idx.customer);
        set("owner", idx.owner);
        set("team", idx.team);
        set("kind", idx.kind);
        set("state", idx.state);
        set("flag", idx.flag);
        set("due_time", idx.due_time ? std::optional<Param>(*idx.due_time) : std::nullopt);
        for (const auto& [column, value] : idx.extra) set(column, value);
        set("body", Body(*current));
        set("update_time", actor.now);
        params.push_back(id);
        db::ExecuteDynamic(conn,
                           absl::StrCat("UPDATE ", TableOf(c).table, " SET ", absl::StrJoin(sets, ", "),
                                        ", version = version + 1 WHERE id = ?"),
                           params);
        int64_t version = 0;
        (void)absl::SimpleAtoi(current->GetReflection()->GetString(
                                   *current, current->GetDescriptor()->FindFieldByName("etag")),
                               &version);
        const std::string name =
            current->GetReflection()->GetString(*current, current->GetDescriptor()->FindFieldByName("name"));
        absl::Time create_time = actor.now;
        if (const auto* f = current->GetDescriptor()->FindFieldByName("create_time")) {
          create_time = FromProto(static_cast<const google::protobuf::Timestamp&>(
              current->GetReflection()->GetMessage(*current, f)));
        }
        Decorate(*current, name, version + 1, create_time, actor.now);
        for (const FieldDiff& d : diffs) InsertChange(conn, name, d.field, d.old_value, d.new_value, actor);
        if (c == Collection::kProposals) {
          const auto& b = static_cast<const pb::Proposal&>(*before);
          const auto& a = static_cast<const pb::Proposal&>(*current);
          if (a.revision() != b.revision()) InsertRevision(conn, id, a, actor);
        }
        AppendEvents(conn, events, actor.now);
        out.CopyFrom(*current);
        return absl::OkStatus();
      },
      {.context = "update"});
}

absl::Status MysqlOpportunityRepository::List(absl::Time deadline, Collection c, const ListFilter& f,
                                              int64_t after_id, int limit,
                                              const std::function<Message*()>& add) {
  std::vector<std::string> where = {"id > ?"};
  std::vector<Param> params = {after_id};
  switch (f.scope.kind) {
    case AccessScope::Kind::kOwner:
      where.push_back("owner = ?");
      params.push_back(f.scope.subject);
      break;
    case AccessScope::Kind::kTeam:
      where.push_back("(team = ? OR owner = ?)");
      params.push_back(f.scope.team);
      params.push_back(f.scope.subject);
      break;
    case AccessScope::Kind::kAll:
      break;
  }
  if (f.parent_id != 0) {
    where.push_back("parent_id = ?");
    params.push_back(f.parent_id);
  }
  if (!f.customer.empty()) {
    where.push_back("customer = ?");
    params.push_back(f.customer);
  }
  if (!f.owner.empty()) {
    where.push_back("owner = ?");
    params.push_back(f.owner);
  }
  if (f.kind) {
    where.push_back("kind = ?");
    params.push_back(int64_t{*f.kind});
  }
  if (f.state) {
    where.push_back("state = ?");
    params.push_back(int64_t{*f.state});
  }
  if (f.flag) {
    where.push_back("flag = ?");
    params.push_back(*f.flag);
  }
  if (f.due_before) {
    where.push_back("due_time IS NOT NULL AND due_time < ?");
    params.push_back(*f.due_before);
  }
  params.push_back(int64_t{limit});
  const std::string sql = absl::StrCat("SELECT ", kColumns, " FROM ", TableOf(c).table, " WHERE ",
                                       absl::StrJoin(where, " AND "), " ORDER BY id LIMIT ?");
  return db::WithConnection(pool_, deadline, [&](sql::Connection& conn) -> absl::Status {
    auto rs = db::QueryDynamic(conn, sql, params);
    while (rs->next()) RETURN_IF_ERROR(FromRow(c, *rs, *add()));
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<PipelineRow>> MysqlOpportunityRepository::Pipeline(absl::Time deadline,
                                                                          const PipelineFilter& filter) {
  std::string sql =
      "SELECT owner, currency, COUNT(*) AS n, CAST(SUM(amount_minor) AS SIGNED) AS amount, "
      "CAST(SUM(amount_minor * win_probability) AS SIGNED) AS weighted FROM opportunities WHERE state = ?";
  std::vector<Param> params = {int64_t{pb::OPPORTUNITY_OPEN}};
  for (const auto& [column, value] : {std::pair{"owner", &filter.owner}, std::pair{"team", &filter.team},
                                      std::pair{"customer", &filter.customer}}) {
    if (value->empty()) continue;
    absl::StrAppend(&sql, " AND ", column, " = ?");
    params.push_back(*value);
  }
  absl::StrAppend(&sql, " GROUP BY owner, currency ORDER BY owner, currency");
  return db::WithConnection(pool_, deadline, [&](sql::Connection& conn) -> absl::StatusOr<std::vector<PipelineRow>> {
    auto rs = db::QueryDynamic(conn, sql, params);
    std::vector<PipelineRow> rows;
    while (rs->next()) {
      rows.push_back({rs->getString("owner"), rs->getString("currency"), rs->getInt64("n"),
                      rs->getInt64("amount"), rs->getInt64("weighted")});
    }
    return rows;
  });
}

absl::StatusOr<std::vector<pb::FieldChange>> MysqlOpportunityRepository::ListChanges(
    absl::Time deadline, const std::string& root, int64_t after_id, int limit, int64_t* last_id) {
  return db::WithConnection(pool_, deadline, [&](sql::Connection& conn) -> absl::StatusOr<std::vector<pb::FieldChange>> {
    auto rs = db::Query(conn,
                        "SELECT id, resource, field, old_value, new_value, actor, method, change_time "
                        "FROM changes WHERE root = ? AND id > ? ORDER BY id LIMIT ?",
                        root, after_id, int64_t{limit});
    std::vector<pb::FieldChange> changes;
    while (rs->next()) {
      pb::FieldChange& ch = changes.emplace_back();
      ch.set_resource(rs->getString("resource"));
      ch.set_field(rs->getString("field"));
      ch.set_old_value(rs->getString("old_value"));
      ch.set_new_value(rs->getString("new_value"));
      ch.set_actor(rs->getString("actor"));
      ch.set_method(rs->getString("method"));
      ToProto(db::ParseDateTime(rs->getString("change_time")), ch.mutable_change_time());
      *last_id = rs->getInt64("id");
    }
    return changes;
  });
}

absl::StatusOr<std::vector<pb::ProposalRevision>> MysqlOpportunityRepository::ListProposalRevisions(
    absl::Time deadline, int64_t proposal_id, int after_revision, int limit) {
  return db::WithConnection(pool_, deadline, [&](sql::Connection& conn) -> absl::StatusOr<std::vector<pb::ProposalRevision>> {
    auto rs = db::Query(conn,
                        "SELECT revision, body, author, create_time FROM proposal_revisions "
                        "WHERE proposal_id = ? AND revision > ? ORDER BY revision LIMIT ?",
                        proposal_id, int64_t{after_revision}, int64_t{limit});
    std::vector<pb::ProposalRevision> revisions;
    while (rs->next()) {
      pb::ProposalRevision& r = revisions.emplace_back();
      r.set_revision(rs->getInt("revision"));
      if (!r.mutable_proposal()->ParseFromString(rs->getString("body"))) {
        return absl::InternalError("a proposal revision is corrupt");
      }
      r.set_author(rs->getString("author"));
      ToProto(db::ParseDateTime(rs->getString("create_time")), r.mutable_create_time());
    }
    return revisions;
  });
}

absl::StatusOr<int> MysqlOpportunityRepository::ReassignCustomer(sql::Connection& conn,
                                                                 const std::string& customer,
                                                                 const std::string& owner,
                                                                 const std::string& team,
                                                                 const Actor& actor) {
  int moved = 0;
  ASSIGN_OR_RETURN(std::vector<LockedRow> needs, LockRows(conn, Collection::kNeeds, "customer", customer));
  for (LockedRow& need : needs) {
    if (IsOpen(Collection::kNeeds, *need.message) && MoveRow(conn, need, owner, team, actor)) ++moved;
  }
  ASSIGN_OR_RETURN(std::vector<LockedRow> opportunities,
                   LockRows(conn, Collection::kOpportunities, "customer", customer));
  for (LockedRow& opportunity : opportunities) {
    // The tree moves as a unit: its children are reached through it.
    std::vector<LockedRow> tree;
    bool open = IsOpen(Collection::kOpportunities, *opportunity.message);
    for (Collection c : {Collection::kProposals, Collection::kNegotiationRounds, Collection::kContracts,
                         Collection::kLoanApplications}) {
      ASSIGN_OR_RETURN(std::vector<LockedRow> children, LockRows(conn, c, "parent_id", opportunity.id));
      for (LockedRow& child : children) {
        open = open || IsOpen(c, *child.message);
        tree.push_back(std::move(child));
      }
    }
    if (!open) continue;
    if (MoveRow(conn, opportunity, owner, team, actor)) ++moved;
    for (LockedRow& child : tree) {
      if (MoveRow(conn, child, owner, team, actor)) ++moved;
    }
  }
  return moved;
}

}  // namespace crm::opportunities
