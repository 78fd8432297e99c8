#pragma once
// Storage seam of the opportunities service. Every resource is one row of
// its collection; the service hands the repository small callbacks that run
// inside the repository's transaction on the locked row, so an access check,
// an etag check and the write they guard cannot interleave with another
// writer. Events (common/events outbox) are written in the same transaction.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <google/protobuf/message.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/opportunities/src/opportunity_rules.h"

namespace crm::opportunities {

enum class Collection {
  kNeeds,
  kOpportunities,
  kProducts,
  kProposals,
  kNegotiationRounds,
  kContracts,
  kLoanApplications,
  kLoanTrackingEntries,
};

// Who changes something, through which RPC, when (audit trail, idempotency).
struct Actor {
  std::string subject;
  std::string method;
  absl::Time now;
};

// An event to append to the outbox with the change.
struct Event {
  std::string resource_name;
  std::shared_ptr<const google::protobuf::Message> payload;
};
using Events = std::vector<Event>;

// Runs on the locked current row; changes it in place and may add events.
using Mutation = std::function<absl::Status(google::protobuf::Message& current, Events& events)>;
// The events of a create, from the created resource (its name is known then).
using CreateEvents = std::function<Events(const google::protobuf::Message& created)>;

struct ListFilter {
  AccessScope scope;
  int64_t parent_id = 0;  // 0 = any parent
  std::string customer;
  std::string owner;
  std::optional<int> kind;
  std::optional<int> state;
  std::optional<bool> flag;
  // Only rows with a due time before this (overdue feedback, due revisits).
  std::optional<absl::Time> due_before;
};

struct PipelineRow {
  std::string owner;
  std::string currency;
  int64_t open_count = 0;
  int64_t amount_minor = 0;
  // Σ amount_minor × win_probability (percent × minor units; divide by 100).
  int64_t weighted_centi_minor = 0;
};

// Which open opportunities a pipeline sums: every non-empty field must match.
struct PipelineFilter {
  std::string owner;
  std::string team;
  std::string customer;  // "customers/{id}"
};

class OpportunityRepository {
 public:
  virtual ~OpportunityRepository() = default;

  // Inserts `resource` (of the collection's message type) as a child of
  // `parent_name` ("" for top-level collections) and sets its name, etag and
  // times. With a request id already used by actor.method, loads the resource
  // that first call created instead (AIP-155).
  virtual absl::Status Create(absl::Time deadline, Collection collection, const std::string& parent_name,
                              int64_t parent_id, google::protobuf::Message& resource,
                              const std::string& request_id, const Actor& actor,
                              const CreateEvents& events) = 0;
  // NOT_FOUND when absent.
  virtual absl::Status Get(absl::Time deadline, Collection collection, int64_t id,
                           google::protobuf::Message& out) = 0;
  // Locks the row, runs `mutate` and, when it succeeds and changed something,
  // writes it with version + 1, one audit row per changed field and the
  // events. `out` receives the stored result.
  virtual absl::Status Mutate(absl::Time deadline, Collection collection, int64_t id,
                              const Actor& actor, const Mutation& mutate,
                              google::protobuf::Message& out) = 0;
  // Up to `limit` rows with id > after_id in id order; `add` returns a new
  // message to fill for each row.
  virtual absl::Status List(absl::Time deadline, Collection collection, const ListFilter& filter,
                            int64_t after_id, int limit,
                            const std::function<google::protobuf::Message*()>& add) = 0;

  // Open opportunities matching `filter`, grouped by owner and currency.
  virtual absl::StatusOr<std::vector<PipelineRow>> Pipeline(absl::Time deadline, const PipelineFilter& filter) = 0;
  // Audit rows of a need, product or opportunity (and its children).
  virtual absl::StatusOr<std::vector<pb::FieldChange>> ListChanges(absl::Time deadline,
                                                                   const std::string& root,
                                                                   int64_t after_id, int limit,
                                                                   int64_t* last_id) = 0;
  virtual absl::StatusOr<std::vector<pb::ProposalRevision>> ListProposalRevisions(
      absl::Time deadline, int64_t proposal_id, int after_revision, int limit) = 0;
};

}  // namespace crm::opportunities
