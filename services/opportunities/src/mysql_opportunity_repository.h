#pragma once
// OpportunityRepository on MySQL/MariaDB: the only place with SQL in the
// opportunities service. Resources are stored as their protobuf message plus
// indexed columns (see schema/V001__opportunities.sql).

#include "common/db/pool.h"

namespace sql {
class Connection;
}
#include "services/opportunities/src/opportunity_repository.h"

namespace crm::opportunities {

class MysqlOpportunityRepository final : public OpportunityRepository {
 public:
  explicit MysqlOpportunityRepository(db::ConnectionPool& pool) : pool_(pool) {}

  absl::Status Create(absl::Time deadline, Collection collection, const std::string& parent_name,
                      int64_t parent_id, google::protobuf::Message& resource,
                      const std::string& request_id, const Actor& actor,
                      const CreateEvents& events) override;
  absl::Status Get(absl::Time deadline, Collection collection, int64_t id,
                   google::protobuf::Message& out) override;
  absl::Status Mutate(absl::Time deadline, Collection collection, int64_t id, const Actor& actor,
                      const Mutation& mutate, google::protobuf::Message& out) override;
  absl::Status List(absl::Time deadline, Collection collection, const ListFilter& filter,
                    int64_t after_id, int limit,
                    const std::function<google::protobuf::Message*()>& add) override;
  absl::StatusOr<std::vector<PipelineRow>> Pipeline(absl::Time deadline, const PipelineFilter& filter) override;
  absl::StatusOr<std::vector<pb::FieldChange>> ListChanges(absl::Time deadline,
                                                           const std::string& root,
                                                           int64_t after_id, int limit,
                                                           int64_t* last_id) override;
  absl::StatusOr<std::vector<pb::ProposalRevision>> ListProposalRevisions(
      absl::Time deadline, int64_t proposal_id, int after_revision, int limit) override;

  // GW-5: moves the customer's open needs and open opportunity trees (the
  // opportunity with its proposals, negotiation rounds, contracts and loan
  // applications; see "reassignment" in opportunity_rules.h) to `owner` and
  // `team`, inside the caller's transaction on `conn` (the events consumer's,
  // which also advances its cursor). Each moved row gets version + 1 and one
  // audit row per changed field (owner, team). Rows already there are left
  // alone, so applying the same change again moves nothing. Returns the
  // number of rows moved.
  absl::StatusOr<int> ReassignCustomer(sql::Connection& conn, const std::string& customer,
                                       const std::string& owner, const std::string& team,
                                       const Actor& actor);

 private:
  db::ConnectionPool& pool_;
};

}  // namespace crm::opportunities
