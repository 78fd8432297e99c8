#pragma once
// Storage seam of the scheduling service. The service runs each use case as
// one function over a SchedulingTx inside one database transaction (the
// conflict check of SCH-2 must read and write under the same manager lock),
// and the event consumers apply each event through the same SchedulingTx on
// the consumer's transaction. Only mysql_scheduling_store.cc has SQL.
//
// SchedulingTx methods report database failures by throwing
// sql::SQLException, which Transact/Read (and the event consumer) map to a
// status and roll back; business outcomes are return values.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/auth/row_access.h"
#include "crm/scheduling/v1/scheduling.pb.h"
#include "services/scheduling/src/scheduling_rules.h"

namespace google::protobuf {
class Message;
}

namespace crm::scheduling {

// A stored resource: its message (name, etag and times filled) and version.
template <typename T>
struct Stored {
  int64_t id = 0;
  int64_t version = 0;
  T message;
};

struct VisitFilter {
  auth::AccessScope scope;
  std::string owner;
  std::string customer;
  pb::VisitStatus status = pb::VISIT_STATUS_UNSPECIFIED;
  std::optional<absl::Time> start_from;    // start_time >= this
  std::optional<absl::Time> start_before;  // start_time < this
  bool unverified_only = false;
};

struct TaskFilter {
  auth::AccessScope scope;
  std::string owner;
  std::string customer;
  pb::TaskState state = pb::TASK_STATE_UNSPECIFIED;
  pb::TaskKind kind = pb::TASK_KIND_UNSPECIFIED;
  std::optional<absl::Time> due_before;
  std::string source;
};

// The care projection (SCH-5/SCH-6), from the customers service's events.
struct CareCustomer {
  std::string customer;
  std::string display_name;
  std::string owner;
  std::string team;
  int tier = 0;  // crm.customers.v1.Tier number
  std::optional<absl::Time> since;
};

struct CareContact {
  std::string contact;
  std::string customer;
  std::string display_name;
  std::string role;       // crm.customers.v1.ContactRole name
  std::string vip_level;  // crm.customers.v1.VipLevel name, "" when none
  int birth_month = 0;
  int birth_day = 0;
  absl::Time since;
  std::optional<absl::Time> last_care;
  // From the contact's customer (joined on read).
  std::string owner;
  std::string team;
  int tier = 0;
};

// Tables that hold a resource as owner + team + one key + status + body.
enum class DocTable { kCareRecords, kWorkPlans, kWorkLog, kExpenseClaims };

struct DocMeta {
  int64_t id = 0;
  int64_t version = 0;
  std::string owner;
  std::string team;
  std::string key;
  int status = 0;
  absl::Time create_time;
  absl::Time update_time;
};

struct DocFilter {
  auth::AccessScope scope;
  std::string owner;
  // Inclusive range over the key ("" = open).
  std::string key_from;
  std::string key_to;
  int status = 0;  // 0 = any
};

// What a manager did in a period (SCH-10 summaries).
struct WorkCounts {
  int visits_planned = 0;
  int visits_done = 0;
  int visits_no_show = 0;
  int tasks_done = 0;
  int tasks_overdue = 0;
  int care_records = 0;
  int log_entries = 0;
  int log_minutes = 0;
};

class SchedulingTx {
 public:
  virtual ~SchedulingTx() = default;

  // ---- visits
  // Serialises the bookings of one manager until the transaction ends.
  virtual void LockManager(const std::string& owner) = 0;
  // The manager's busy (PLANNED or DONE) visits overlapping [start, end),
  // plus the nearest one ending before start and the nearest one starting
  // after end: all the conflict check of SCH-2 needs.
  virtual std::vector<Slot> BusyVisitsNear(const std::string& owner, absl::Time start, absl::Time end) = 0;
  virtual int64_t InsertVisit(const pb::Visit& visit, absl::Time now) = 0;
  virtual std::optional<Stored<pb::Visit>> GetVisit(int64_t id, bool for_update) = 0;
  // Writes the visit; version + 1.
  virtual void UpdateVisit(int64_t id, const pb::Visit& visit, absl::Time now) = 0;
  virtual std::vector<Stored<pb::Visit>> ListVisits(const VisitFilter& filter, int64_t after_id, int limit) = 0;
  // ON_SITE_SERVICE visits of the customer starting in [from, to) that are
  // not cancelled, other than `except_id`.
  virtual int CountOnSiteVisits(const std::string& customer, absl::Time from, absl::Time to,
                                int64_t except_id) = 0;

  // ---- tasks
  // Inserts unless a task with `source_key` exists; the new id, or nullopt.
  virtual std::optional<int64_t> InsertTask(const pb::Task& task, const std::string& source_key,
                                            absl::Time now) = 0;
  virtual std::optional<Stored<pb::Task>> GetTask(int64_t id, bool for_update) = 0;
  virtual void UpdateTask(int64_t id, const pb::Task& task, absl::Time now) = 0;
  virtual std::vector<Stored<pb::Task>> ListTasks(const TaskFilter& filter, int64_t after_id, int limit) = 0;
  // Sets the team of the customer's tasks that have none (a task made from
  // an event that came before the customer's own event).
  virtual void FillTaskTeam(const std::string& customer, const std::string& team, absl::Time now) = 0;

  // ---- care projection
  virtual void UpsertCareCustomer(const CareCustomer& customer) = 0;
  virtual void SetCareOwner(const std::string& customer, const std::string& owner, const std::string& team) = 0;
  virtual void SetCareTier(const std::string& customer, int tier) = 0;
  virtual void ArchiveCareCustomer(const std::string& customer) = 0;
  // Keeps since and last_care of an existing row.
  virtual void UpsertCareContact(const CareContact& contact) = 0;
  virtual void RemoveCareContact(const std::string& contact) = 0;
  // last_care = max(last_care, when).
  virtual void TouchCare(const std::string& contact, absl::Time when) = 0;
  // Contacts of the non-archived customers owned by `owner` (or, with an
  // empty owner, every customer in `scope`).
  virtual std::vector<CareContact> CareContacts(const auth::AccessScope& scope, const std::string& owner) = 0;
  virtual std::vector<CareCustomer> CareCustomers(const auth::AccessScope& scope, const std::string& owner) = 0;
  virtual std::optional<CareContact> GetCareContact(const std::string& contact) = 0;
  virtual std::optional<CareCustomer> GetCareCustomer(const std::string& customer) = 0;
  // Whether the customer has a contact with that ContactRole name.
  virtual bool HasContactRole(const std::string& customer, const std::string& role) = 0;

  virtual std::vector<CareRule> CareRules() = 0;
  // Inserts the rules whose (role, vip, tier) is not there yet.
  virtual void SeedCareRules(const std::vector<CareRule>& defaults) = 0;
  virtual std::optional<std::pair<CareRule, int64_t>> GetCareRule(int64_t id, bool for_update) = 0;
  virtual void UpdateCareRule(const CareRule& rule) = 0;

  // ---- documents (care records, work plans, work log, expense claims)
  virtual int64_t InsertDoc(DocTable table, const DocMeta& meta, const google::protobuf::Message& body,
                            absl::Time now) = 0;
  // Fills `body` and returns the metadata; nullopt when absent.
  virtual std::optional<DocMeta> GetDoc(DocTable table, int64_t id, bool for_update,
                                        google::protobuf::Message& body) = 0;
  virtual void UpdateDoc(DocTable table, int64_t id, int status, const google::protobuf::Message& body,
                         absl::Time now) = 0;
  // Rows with id > after_id in id order; each body as serialized bytes.
  virtual std::vector<std::pair<DocMeta, std::string>> ListDocs(DocTable table, const DocFilter& filter,
                                                                int64_t after_id, int limit) = 0;

  // ---- reports
  virtual WorkCounts CountWork(const auth::AccessScope& scope, const std::string& owner, absl::Time start, absl::Time end,
                                const std::string& log_from, const std::string& log_to, absl::Time now) = 0;
  // ON_SITE_SERVICE visits DONE in [start, end) in scope (owner "" = all).
  virtual std::vector<Stored<pb::Visit>> OnSiteVisits(const auth::AccessScope& scope, const std::string& owner,
                                                      absl::Time start, absl::Time end) = 0;

  // ---- audit trail, idempotency (AIP-155), outbox events
  virtual void Audit(const std::string& resource, const std::string& actor, const std::string& method,
                     const std::string& detail, absl::Time now) = 0;
  // Request ids are scoped to the caller (the principal's subject).
  virtual std::optional<std::string> FindRequest(const std::string& method, const std::string& caller,
                                                 const std::string& request_id) = 0;
  virtual void RememberRequest(const std::string& method, const std::string& caller, const std::string& request_id,
                               const std::string& resource, absl::Time now) = 0;
  // Queued and appended to the outbox when the transaction commits.
  virtual void Publish(const std::string& resource, const google::protobuf::Message& payload, absl::Time now) = 0;
};

class SchedulingStore {
 public:
  virtual ~SchedulingStore() = default;
  // Runs `fn` in one transaction (retried whole on deadlock); a non-OK
  // result rolls back.
  virtual absl::Status Transact(absl::Time deadline, const std::function<absl::Status(SchedulingTx&)>& fn,
                                const char* context) = 0;
};

}  // namespace crm::scheduling
