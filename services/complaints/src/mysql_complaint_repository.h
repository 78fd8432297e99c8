#pragma once
// ComplaintRepository on MySQL/MariaDB: the only place with SQL in the
// complaints service (see schema/V001__complaints.sql).

#include "common/db/pool.h"
#include "services/complaints/src/complaint_repository.h"

namespace crm::complaints {

class MysqlComplaintRepository final : public ComplaintRepository {
 public:
  explicit MysqlComplaintRepository(db::ConnectionPool& pool) : pool_(pool) {}

  absl::Status Create(absl::Time deadline, ComplaintRow& row, const std::string& timeline_text,
                      const CreateEvents& events, const std::string& request_id, const Actor& actor) override;
  absl::StatusOr<ComplaintRow> Get(absl::Time deadline, int64_t id) override;
  absl::StatusOr<MutateResult> Mutate(absl::Time deadline, int64_t id, const Actor& actor,
                                      const Mutation& mutate, const std::string& request_id) override;
  absl::StatusOr<std::vector<ComplaintRow>> List(absl::Time deadline, const ListFilter& filter,
                                                 int64_t after_id, int limit) override;
  absl::StatusOr<std::vector<std::pair<int64_t, pb::Transfer>>> ListTransfers(absl::Time deadline,
                                                                              int64_t complaint_id,
                                                                              int64_t after_id,
                                                                              int limit) override;
  absl::StatusOr<std::vector<std::pair<int64_t, pb::TimelineEntry>>> ListTimeline(absl::Time deadline,
                                                                                  int64_t complaint_id,
                                                                                  int64_t after_id,
                                                                                  int limit) override;
  absl::StatusOr<pb::Transfer> GetTransfer(absl::Time deadline, int64_t complaint_id,
                                           int64_t transfer_id) override;
  absl::StatusOr<pb::TimelineEntry> GetTimelineEntry(absl::Time deadline, int64_t complaint_id,
                                                     int64_t entry_id) override;
  absl::Status SeedPolicies(absl::Time deadline, const std::vector<SlaPolicy>& defaults) override;
  absl::StatusOr<std::vector<SlaPolicy>> ListPolicies(absl::Time deadline) override;
  absl::StatusOr<SlaPolicy> GetPolicy(absl::Time deadline, const PolicyKey& key) override;
  absl::StatusOr<SlaPolicy> UpdatePolicy(absl::Time deadline, const SlaPolicy& policy,
                                         const Actor& actor) override;
  absl::StatusOr<std::vector<Breach>> SweepBreaches(absl::Time deadline, absl::Time now, int limit) override;
  absl::StatusOr<std::vector<int64_t>> ListProvisional(absl::Time deadline, int limit) override;
  absl::StatusOr<std::vector<ComplianceRow>> Compliance(absl::Time deadline, absl::Time start, absl::Time end,
                                                        const auth::AccessScope& scope,
                                                        const std::string& team) override;
  absl::StatusOr<std::vector<ComplaintRow>> Faults(absl::Time deadline, const std::string& customer,
                                                   absl::Time start, absl::Time end,
                                                   const auth::AccessScope& scope) override;

 private:
  db::ConnectionPool& pool_;
};

}  // namespace crm::complaints
