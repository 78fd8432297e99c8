#pragma once
// CustomerRepository on MySQL/MariaDB: the only place in the customers
// service with SQL.

#include "absl/types/span.h"
#include "common/db/group_commit.h"
#include "common/db/pool.h"
#include "services/customers/src/customer_repository.h"

namespace crm::customers {

class MysqlCustomerRepository final : public CustomerRepository {
 public:
  explicit MysqlCustomerRepository(db::ConnectionPool& pool);

  // One CreateCustomer call. Concurrent calls are written together: see
  // CreateCustomers. A copy, not references: the batch outlives the call
  // that queued it.
  struct NewCustomer {
    absl::Time deadline;
    pb::Customer customer;
    std::string request_id;
    Actor actor;
  };
  using CreateCommit = db::GroupCommit<NewCustomer, absl::StatusOr<pb::Customer>>;
  // Creates the batch's customers in one transaction (multi-row INSERTs of
  // the rows, their audit rows, idempotency keys and CustomerCreated events)
  // and sets each item's result. A request that fails on its own — a credit
  // code already held, a request id already used (answered as a retry), a
  // row the database refuses — gets its own answer; the others are created.
  // CreateCustomer queues its request for this (a group commit); public for
  // tests.
  void CreateCustomers(absl::Span<CreateCommit::Item* const> batch);

  void CreateCustomer(absl::Time deadline, const pb::Customer& c, const std::string& request_id, const Actor& actor,
                      CustomerDone done) override;
  // One GetCustomer call. Concurrent calls are read together: see
  // GetCustomers.
  struct CustomerRead {
    absl::Time deadline;
    int64_t id;
  };
  using ReadBatch = db::GroupCommit<CustomerRead, absl::StatusOr<pb::Customer>>;
  // Reads the batch's customers with one `id IN (…)` query and sets each
  // item's result (NOT_FOUND for an id with no row). GetCustomer queues its
  // request for this, batched as creates are; public for tests.
  void GetCustomers(absl::Span<ReadBatch::Item* const> batch);

  void GetCustomer(absl::Time deadline, int64_t id, CustomerDone done) override;
  absl::StatusOr<pb::Customer> GetCustomer(absl::Time deadline, int64_t id) override;
  absl::StatusOr<pb::Customer> MutateCustomer(absl::Time deadline, int64_t id, const Actor& actor,
                                              const CustomerMutation& mutate) override;
  absl::StatusOr<std::vector<pb::Customer>> ListCustomers(absl::Time deadline,
                                                          const CustomerFilter& filter,
                                                          int64_t after_id, int limit) override;
  absl::StatusOr<pb::Customer> RecordVerification(absl::Time deadline, int64_t id,
                                                  const Actor& actor, const CustomerGuard& guard,
                                                  int fields_checked, int fields_corrected,
                                                  bool directory_recollected) override;
  absl::StatusOr<std::vector<pb::FieldChange>> ListFieldChanges(absl::Time deadline,
                                                                int64_t customer_id,
                                                                int64_t after_id, int limit,
                                                                int64_t* last_id) override;

  absl::StatusOr<pb::Contact> CreateContact(absl::Time deadline, int64_t customer_id,
                                            const CustomerGuard& guard, const pb::Contact& contact,
                                            const std::string& request_id,
                                            const Actor& actor) override;
  absl::StatusOr<pb::Contact> GetContact(absl::Time deadline, int64_t customer_id,
                                         int64_t contact_id) override;
  absl::StatusOr<pb::Contact> MutateContact(absl::Time deadline, int64_t customer_id,
                                            int64_t contact_id, const CustomerGuard& guard,
                                            const std::function<absl::Status(pb::Contact&)>& mutate,
                                            const Actor& actor) override;
  absl::Status DeleteContact(absl::Time deadline, int64_t customer_id, int64_t contact_id,
                             const CustomerGuard& guard,
                             const std::function<absl::Status(const pb::Contact&)>& check,
                             const Actor& actor) override;
  absl::StatusOr<std::vector<pb::Contact>> ListContacts(absl::Time deadline, int64_t customer_id,
                                                        pb::ContactRole role, int64_t after_id,
                                                        int limit) override;

  absl::Status UpsertMembers(absl::Time deadline, int64_t customer_id,
                             const std::vector<pb::Member>& members, absl::Time now) override;
  absl::StatusOr<absl::Time> FinishMemberImport(absl::Time deadline, int64_t customer_id,
                                                const Actor& actor) override;
  absl::StatusOr<std::vector<pb::Member>> ListMembers(absl::Time deadline, int64_t customer_id,
                                                      const std::string& after_phone,
                                                      int limit) override;

  absl::StatusOr<pb::ValueModel> GetValueModel(absl::Time deadline) override;
  absl::StatusOr<pb::ValueModel> MutateValueModel(
      absl::Time deadline, const std::function<absl::Status(pb::ValueModel&)>& mutate,
      absl::Time now) override;
  absl::StatusOr<RankingOutcome> RecomputeTiers(absl::Time deadline, const Ranker& rank,
                                                const std::string& reason,
                                                absl::Time now) override;
  absl::StatusOr<std::vector<pb::TierChange>> ListTierChanges(absl::Time deadline,
                                                              const AccessScope& scope,
                                                              std::optional<int64_t> customer_id,
                                                              int64_t after_id, int limit,
                                                              int64_t* last_id) override;

  absl::StatusOr<FreshnessPolicy> GetFreshnessPolicy(absl::Time deadline) override;
  absl::StatusOr<std::vector<pb::Customer>> ListStaleCustomers(absl::Time deadline,
                                                               const CustomerFilter& filter,
                                                               const StaleCutoffs& cutoffs,
                                                               int64_t after_id,
                                                               int limit) override;
  absl::StatusOr<StaleBatch> AnnounceStaleCustomers(absl::Time deadline, const FreshnessPolicy& policy,
                                                    const StaleCutoffs& cutoffs, int64_t after_id,
                                                    int limit, absl::Time now) override;
  absl::StatusOr<std::map<std::string, AccuracyTotals>> AccuracyByOwner(
      absl::Time deadline, const CustomerFilter& filter) override;

  absl::StatusOr<pb::ChurnSignal> RecordChurnSignal(
      absl::Time deadline, int64_t customer_id,
      const std::function<absl::Status(pb::Customer&, pb::ChurnSignal&)>& apply,
      const pb::ChurnSignal& signal, const std::string& request_id, const Actor& actor) override;
  absl::StatusOr<std::vector<pb::ChurnSignal>> ListChurnSignals(absl::Time deadline,
                                                                int64_t customer_id,
                                                                int64_t after_id,
                                                                int limit) override;

  absl::StatusOr<pb::CompetitiveReport> CreateCompetitiveReport(absl::Time deadline,
                                                                const pb::CompetitiveReport& report,
                                                                const std::string& request_id,
                                                                absl::Time now) override;
  absl::StatusOr<std::vector<pb::CompetitiveReport>> ListCompetitiveReports(
      absl::Time deadline, const AccessScope& scope, const std::string& period,
      const std::string& author, int64_t after_id, int limit) override;

 private:
  absl::StatusOr<pb::Customer> CreateOne(const NewCustomer& request);
  absl::StatusOr<pb::Customer> ExplainCreateConflict(const NewCustomer& request,
                                                     const absl::Status& conflict);

  db::ConnectionPool& pool_;
  CreateCommit creates_;
  ReadBatch reads_;
};

}  // namespace crm::customers
