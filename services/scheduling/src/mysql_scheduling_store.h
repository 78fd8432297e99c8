#pragma once
// The scheduling service's storage on MySQL/MariaDB: the only place with SQL.

#include <memory>
#include <string>
#include <vector>

#include "common/db/pool.h"
#include "services/scheduling/src/scheduling_store.h"

namespace sql {
class Connection;
}

namespace crm::scheduling {

// SchedulingTx over one open transaction. Events are queued by Publish and
// appended to the outbox by FlushEvents, which must be the transaction's
// last statement (see common/events/outbox.h).
class MysqlSchedulingTx final : public SchedulingTx {
 public:
  explicit MysqlSchedulingTx(sql::Connection& conn);
  ~MysqlSchedulingTx() override;

  void FlushEvents();

  void LockManager(const std::string& owner) override;
  std::vector<Slot> BusyVisitsNear(const std::string& owner, absl::Time start, absl::Time end) override;
  int64_t InsertVisit(const pb::Visit& visit, absl::Time now) override;
  std::optional<Stored<pb::Visit>> GetVisit(int64_t id, bool for_update) override;
  void UpdateVisit(int64_t id, const pb::Visit& visit, absl::Time now) override;
  std::vector<Stored<pb::Visit>> ListVisits(const VisitFilter& filter, int64_t after_id, int limit) override;
  int CountOnSiteVisits(const std::string& customer, absl::Time from, absl::Time to, int64_t except_id) override;

  std::optional<int64_t> InsertTask(const pb::Task& task, const std::string& source_key, absl::Time now) override;
  std::optional<Stored<pb::Task>> GetTask(int64_t id, bool for_update) override;
  void UpdateTask(int64_t id, const pb::Task& task, absl::Time now) override;
  std::vector<Stored<pb::Task>> ListTasks(const TaskFilter& filter, int64_t after_id, int limit) override;
  void FillTaskTeam(const std::string& customer, const std::string& team, absl::Time now) override;

  void UpsertCareCustomer(const CareCustomer& customer) override;
  void SetCareOwner(const std::string& customer, const std::string& owner, const std::string& team) override;
  void SetCareTier(const std::string& customer, int tier) override;
  void ArchiveCareCustomer(const std::string& customer) override;
  void UpsertCareContact(const CareContact& contact) override;
  void RemoveCareContact(const std::string& contact) override;
  void TouchCare(const std::string& contact, absl::Time when) override;
  std::vector<CareContact> CareContacts(const auth::AccessScope& scope, const std::string& owner) override;
  std::vector<CareCustomer> CareCustomers(const auth::AccessScope& scope, const std::string& owner) override;
  std::optional<CareContact> GetCareContact(const std::string& contact) override;
  std::optional<CareCustomer> GetCareCustomer(const std::string& customer) override;
  bool HasContactRole(const std::string& customer, const std::string& role) override;
  std::vector<CareRule> CareRules() override;
  void SeedCareRules(const std::vector<CareRule>& defaults) override;
  std::optional<std::pair<CareRule, int64_t>> GetCareRule(int64_t id, bool for_update) override;
  void UpdateCareRule(const CareRule& rule) override;

  int64_t InsertDoc(DocTable table, const DocMeta& meta, const google::protobuf::Message& body,
                    absl::Time now) override;
  std::optional<DocMeta> GetDoc(DocTable table, int64_t id, bool for_update,
                                google::protobuf::Message& body) override;
  void UpdateDoc(DocTable table, int64_t id, int status, const google::protobuf::Message& body,
                 absl::Time now) override;
  std::vector<std::pair<DocMeta, std::string>> ListDocs(DocTable table, const DocFilter& filter, int64_t after_id,
                                                        int limit) override;

  WorkCounts CountWork(const auth::AccessScope& scope, const std::string& owner, absl::Time start, absl::Time end,
                                const std::string& log_from, const std::string& log_to, absl::Time now) override;
  std::vector<Stored<pb::Visit>> OnSiteVisits(const auth::AccessScope& scope, const std::string& owner,
                                              absl::Time start, absl::Time end) override;

  void Audit(const std::string& resource, const std::string& actor, const std::string& method,
             const std::string& detail, absl::Time now) override;
  std::optional<std::string> FindRequest(const std::string& method, const std::string& caller,
                                         const std::string& request_id) override;
  void RememberRequest(const std::string& method, const std::string& caller, const std::string& request_id,
                       const std::string& resource, absl::Time now) override;
  void Publish(const std::string& resource, const google::protobuf::Message& payload, absl::Time now) override;

 private:
  struct Pending;
  sql::Connection& conn_;
  std::vector<Pending> events_;
};

class MysqlSchedulingStore final : public SchedulingStore {
 public:
  explicit MysqlSchedulingStore(db::ConnectionPool& pool) : pool_(pool) {}
  absl::Status Transact(absl::Time deadline, const std::function<absl::Status(SchedulingTx&)>& fn,
                        const char* context) override;

 private:
  db::ConnectionPool& pool_;
};

}  // namespace crm::scheduling
