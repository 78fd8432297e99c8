#pragma once
// Storage seam of the customers service. The service layer holds the rules
// and hands the repository small callbacks (access checks, mutations) that
// run inside the repository's transaction on the locked row, so a check and
// the write it guards can never be interleaved with another writer.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/customers/src/customer_rules.h"

namespace crm::customers {

// Who changes something, through which RPC, when (for CUS-12 and times).
struct Actor {
  std::string subject;
  std::string method;
  absl::Time now;
};

struct CustomerFilter {
  AccessScope scope;
  std::string owner;
  pb::Tier tier = pb::TIER_UNSPECIFIED;
  pb::CustomerStatus status = pb::CUSTOMER_STATUS_UNSPECIFIED;
  pb::CustomerKind kind = pb::CUSTOMER_KIND_UNSPECIFIED;
  std::string industry;
  std::string name_contains;
  bool show_archived = false;
};

struct AccuracyTotals {
  int64_t checked_ab = 0, corrected_ab = 0, checked_c = 0, corrected_c = 0;
};

// One batch of the CUS-6 staleness announcer (AnnounceStaleCustomers).
struct StaleBatch {
  int64_t announced = 0;
  // The last candidate looked at; the next batch starts after it.
  int64_t last_id = 0;
  // The batch was full: there may be more candidates after last_id.
  bool more = false;
};

using CustomerGuard = std::function<absl::Status(const pb::Customer&)>;
using CustomerMutation = std::function<absl::Status(pb::Customer&)>;

class CustomerRepository {
 public:
  virtual ~CustomerRepository() = default;

  // Gets a customer (or an error) on another thread: the two hot calls
  // are answered from the batch that wrote or read them, so no server
  // thread waits for the database (gRPC's callback API).
  using CustomerDone = absl::AnyInvocable<void(absl::StatusOr<pb::Customer>) &&>;

  // Creates the customer (or returns the one an earlier call with the same
  // request id created), with `similar_customers`: up to 10 others whose
  // name has the same NameKey (CUS-11). ALREADY_EXISTS names the holder of a
  // credit code.
  virtual void CreateCustomer(absl::Time deadline, const pb::Customer& c, const std::string& request_id,
                              const Actor& actor, CustomerDone done) = 0;
  virtual void GetCustomer(absl::Time deadline, int64_t id, CustomerDone done) = 0;
  // As above, waiting for the answer.
  virtual absl::StatusOr<pb::Customer> GetCustomer(absl::Time deadline, int64_t id) = 0;
  // Locks the row, runs `mutate` on it and, if it succeeds, writes every
  // changed field with version + 1 and one audit row per field.
  virtual absl::StatusOr<pb::Customer> MutateCustomer(absl::Time deadline, int64_t id,
                                                      const Actor& actor,
                                                      const CustomerMutation& mutate) = 0;
  // Up to `limit` customers with id > after_id in id order.
  virtual absl::StatusOr<std::vector<pb::Customer>> ListCustomers(absl::Time deadline,
                                                                  const CustomerFilter& filter,
                                                                  int64_t after_id, int limit) = 0;
  virtual absl::StatusOr<pb::Customer> RecordVerification(absl::Time deadline, int64_t id,
                                                          const Actor& actor,
                                                          const CustomerGuard& guard,
                                                          int fields_checked, int fields_corrected,
                                                          bool directory_recollected) = 0;
  virtual absl::StatusOr<std::vector<pb::FieldChange>> ListFieldChanges(absl::Time deadline,
                                                                        int64_t customer_id,
                                                                        int64_t after_id,
                                                                        int limit,
                                                                        int64_t* last_id) = 0;

  // Contacts.
  virtual absl::StatusOr<pb::Contact> CreateContact(absl::Time deadline, int64_t customer_id,
                                                    const CustomerGuard& guard,
                                                    const pb::Contact& contact,
                                                    const std::string& request_id,
                                                    const Actor& actor) = 0;
  virtual absl::StatusOr<pb::Contact> GetContact(absl::Time deadline, int64_t customer_id,
                                                 int64_t contact_id) = 0;
  virtual absl::StatusOr<pb::Contact> MutateContact(
      absl::Time deadline, int64_t customer_id, int64_t contact_id, const CustomerGuard& guard,
      const std::function<absl::Status(pb::Contact&)>& mutate, const Actor& actor) = 0;
  virtual absl::Status DeleteContact(absl::Time deadline, int64_t customer_id, int64_t contact_id,
                                     const CustomerGuard& guard,
                                     const std::function<absl::Status(const pb::Contact&)>& check,
                                     const Actor& actor) = 0;
  virtual absl::StatusOr<std::vector<pb::Contact>> ListContacts(absl::Time deadline,
                                                                int64_t customer_id,
                                                                pb::ContactRole role,
                                                                int64_t after_id, int limit) = 0;

  // Employee directory.
  virtual absl::Status UpsertMembers(absl::Time deadline, int64_t customer_id,
                                     const std::vector<pb::Member>& members, absl::Time now) = 0;
  // Stamps the collection time and refreshes member/product counts.
  virtual absl::StatusOr<absl::Time> FinishMemberImport(absl::Time deadline, int64_t customer_id,
                                                        const Actor& actor) = 0;
  virtual absl::StatusOr<std::vector<pb::Member>> ListMembers(absl::Time deadline,
                                                              int64_t customer_id,
                                                              const std::string& after_phone,
                                                              int limit) = 0;

  // Value model and tiers.
  virtual absl::StatusOr<pb::ValueModel> GetValueModel(absl::Time deadline) = 0;
  virtual absl::StatusOr<pb::ValueModel> MutateValueModel(
      absl::Time deadline, const std::function<absl::Status(pb::ValueModel&)>& mutate,
      absl::Time now) = 0;
  // Ranks every active enterprise (CUS-4) under a lock shared by all
  // replicas: loads the inputs, calls `rank`, writes changed scores and tiers
  // and records a tier change for each customer that moved.
  struct RankingOutcome {
    int64_t ranked = 0;
    int64_t changed = 0;
    std::map<std::string, int64_t> tier_counts;
  };
  using Ranker = std::function<std::vector<RankingResult>(const std::vector<RankingInput>&)>;
  virtual absl::StatusOr<RankingOutcome> RecomputeTiers(absl::Time deadline, const Ranker& rank,
                                                        const std::string& reason,
                                                        absl::Time now) = 0;
  virtual absl::StatusOr<std::vector<pb::TierChange>> ListTierChanges(
      absl::Time deadline, const AccessScope& scope, std::optional<int64_t> customer_id,
      int64_t after_id, int limit, int64_t* last_id) = 0;

  // Freshness and data quality.
  virtual absl::StatusOr<FreshnessPolicy> GetFreshnessPolicy(absl::Time deadline) = 0;
  virtual absl::StatusOr<std::vector<pb::Customer>> ListStaleCustomers(
      absl::Time deadline, const CustomerFilter& filter, const StaleCutoffs& cutoffs,
      int64_t after_id, int limit) = 0;
  // CUS-6 staleness announcer. Looks at up to `limit` customers with
  // id > after_id whose basic data is stale at `cutoffs` (the rule of
  // ListStaleCustomers), not archived, and whose current lapse (identified by
  // the verification time it runs from) has not been announced yet. Claims
  // them FOR UPDATE SKIP LOCKED (rows another replica's sweep or a change in
  // progress holds are left for later), and in one transaction records each
  // announcement and appends one CustomerDataStale per customer, so a lapse
  // is announced once across replicas and restarts.
  virtual absl::StatusOr<StaleBatch> AnnounceStaleCustomers(absl::Time deadline,
                                                            const FreshnessPolicy& policy,
                                                            const StaleCutoffs& cutoffs,
                                                            int64_t after_id, int limit,
                                                            absl::Time now) = 0;
  virtual absl::StatusOr<std::map<std::string, AccuracyTotals>> AccuracyByOwner(
      absl::Time deadline, const CustomerFilter& filter) = 0;

  // Churn.
  virtual absl::StatusOr<pb::ChurnSignal> RecordChurnSignal(
      absl::Time deadline, int64_t customer_id,
      const std::function<absl::Status(pb::Customer&, pb::ChurnSignal&)>& apply,
      const pb::ChurnSignal& signal, const std::string& request_id, const Actor& actor) = 0;
  virtual absl::StatusOr<std::vector<pb::ChurnSignal>> ListChurnSignals(absl::Time deadline,
                                                                        int64_t customer_id,
                                                                        int64_t after_id,
                                                                        int limit) = 0;

  // Competitive reports.
  virtual absl::StatusOr<pb::CompetitiveReport> CreateCompetitiveReport(
      absl::Time deadline, const pb::CompetitiveReport& report, const std::string& request_id,
      absl::Time now) = 0;
  virtual absl::StatusOr<std::vector<pb::CompetitiveReport>> ListCompetitiveReports(
      absl::Time deadline, const AccessScope& scope, const std::string& period,
      const std::string& author, int64_t after_id, int limit) = 0;
};

}  // namespace crm::customers
