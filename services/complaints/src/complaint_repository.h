#pragma once
// Storage seam of the complaints service. A complaint is one row plus its
// SLA clocks, each clock with its transition log (CMP-6), its transfers and
// its timeline. Changes run as a callback on the locked complaint inside the
// repository's transaction, so the access check, the etag check and the
// write cannot interleave with another writer; the events of a change are
// appended to the outbox in the same transaction.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <google/protobuf/message.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/row_access.h"
#include "services/complaints/src/complaint_rules.h"

namespace crm::complaints {

// Who changes something, through which RPC, when (audit trail, idempotency).
struct Actor {
  std::string subject;
  std::string method;
  absl::Time now;
};

// One SLA clock. `log` holds the stored transitions followed by new ones:
// entries from log[stored_entries] on are appended by the write. `view` is
// the clock evaluated at the time of the write (the breach job's schedule).
struct ClockRecord {
  int64_t id = 0;  // 0: created by this write
  pb::ClockKind kind = pb::CLOCK_KIND_UNSPECIFIED;
  int64_t transfer_id = 0;  // TRANSFER clocks; 0 + id 0 = the transfer created by this write
  pb::ClockBasis basis = pb::ELAPSED_HOURS;
  std::vector<ClockEntry> log;
  size_t stored_entries = 0;
  ClockView view;
};

struct ComplaintRow {
  int64_t id = 0;
  // Full resource except `clocks`, which the service fills from `clocks`.
  pb::Complaint complaint;
  std::vector<ClockRecord> clocks;
};

// An event to append to the outbox with the change.
struct Event {
  std::string resource_name;
  std::shared_ptr<const google::protobuf::Message> payload;
};

// What a change adds besides the complaint row and its clocks.
struct Changes {
  std::vector<std::pair<pb::TimelineKind, std::string>> timeline;
  std::vector<Event> events;
  // TransferComplaint: inserted; its name and create_time are set.
  std::optional<pb::Transfer> new_transfer;
  // CompleteTransfer: the transfer's id and its new reply/complete_time.
  std::optional<std::pair<int64_t, pb::Transfer>> completed_transfer;
};

// The events of a create, from the created complaint (its name is known then).
using CreateEvents = std::function<std::vector<Event>(const pb::Complaint& created)>;

// Runs on the locked complaint; changes it (and its clocks) in place.
using Mutation = std::function<absl::Status(ComplaintRow& current, Changes& changes)>;

struct ListFilter {
  auth::AccessScope scope;
  std::string customer;
  std::string owner;
  pb::ComplaintStatus status = pb::COMPLAINT_STATUS_UNSPECIFIED;
  pb::ComplaintKind kind = pb::COMPLAINT_KIND_UNSPECIFIED;
  bool open_only = false;
  // Running clocks at risk or breached as of this time.
  std::optional<absl::Time> at_risk_at;
};

// Per owner: counts over complaints recorded in a period (report rules in
// the service).
struct ComplianceRow {
  std::string owner, team;
  int64_t complaints = 0;
  int64_t first_response_decided = 0, first_response_met = 0;
  int64_t resolution_decided = 0, resolution_met = 0;
  // Reached CLOSED (now CLOSED or REVISITED).
  int64_t closed = 0;
  int64_t revisits = 0, satisfaction_sum = 0;
  int64_t vip_revisits = 0, vip_satisfied = 0;
};

struct MutateResult {
  ComplaintRow row;
  // The transfer or the first timeline entry the change created.
  std::string created;
  bool replayed = false;
};

// A clock the breach job marked BREACHED (for logs and tests).
struct Breach {
  int64_t complaint_id = 0;
  pb::ClockKind kind = pb::CLOCK_KIND_UNSPECIFIED;
};

class ComplaintRepository {
 public:
  virtual ~ComplaintRepository() = default;

  // Inserts the complaint with its clocks, a first timeline entry and the
  // events, and sets its name, etag and times. A request id already used by actor.method loads
  // the complaint that first call created instead (AIP-155).
  virtual absl::Status Create(absl::Time deadline, ComplaintRow& row, const std::string& timeline_text,
                              const CreateEvents& events, const std::string& request_id,
                              const Actor& actor) = 0;
  // NOT_FOUND when absent.
  virtual absl::StatusOr<ComplaintRow> Get(absl::Time deadline, int64_t id) = 0;
  // Locks the complaint, runs `mutate`, then writes the row (version + 1),
  // the clocks' new transitions and schedules, the timeline, transfers and
  // events. With a request id (sub-resource creates: notes, transfers) that
  // actor.method already used, nothing runs: `replayed` is set and
  // `created` names what the first call created.
  virtual absl::StatusOr<MutateResult> Mutate(absl::Time deadline, int64_t id, const Actor& actor,
                                              const Mutation& mutate,
                                              const std::string& request_id = "") = 0;
  // Up to `limit` complaints with id > after_id, in id order.
  virtual absl::StatusOr<std::vector<ComplaintRow>> List(absl::Time deadline, const ListFilter& filter,
                                                         int64_t after_id, int limit) = 0;

  virtual absl::StatusOr<std::vector<std::pair<int64_t, pb::Transfer>>> ListTransfers(
      absl::Time deadline, int64_t complaint_id, int64_t after_id, int limit) = 0;
  virtual absl::StatusOr<std::vector<std::pair<int64_t, pb::TimelineEntry>>> ListTimeline(
      absl::Time deadline, int64_t complaint_id, int64_t after_id, int limit) = 0;
  // "complaints/{id}/transfers/{id}", "complaints/{id}/timeline/{id}".
  virtual absl::StatusOr<pb::Transfer> GetTransfer(absl::Time deadline, int64_t complaint_id,
                                                   int64_t transfer_id) = 0;
  virtual absl::StatusOr<pb::TimelineEntry> GetTimelineEntry(absl::Time deadline, int64_t complaint_id,
                                                             int64_t entry_id) = 0;

  // CMP-3 policy table. SeedPolicies inserts the rows that are missing.
  virtual absl::Status SeedPolicies(absl::Time deadline, const std::vector<SlaPolicy>& defaults) = 0;
  virtual absl::StatusOr<std::vector<SlaPolicy>> ListPolicies(absl::Time deadline) = 0;
  // One row by its key (the recording path); NOT_FOUND when missing.
  virtual absl::StatusOr<SlaPolicy> GetPolicy(absl::Time deadline, const PolicyKey& key) = 0;
  // Writes `policy` when the stored version equals policy.version (ABORTED
  // otherwise); returns it with the new version.
  virtual absl::StatusOr<SlaPolicy> UpdatePolicy(absl::Time deadline, const SlaPolicy& policy,
                                                 const Actor& actor) = 0;

  // Breach job (CMP-6): claims up to `limit` running clocks due at `now`
  // that no other transaction holds (SKIP LOCKED, safe with many replicas),
  // logs BREACH on each and appends one ComplaintSlaBreached per clock, in
  // one transaction.
  virtual absl::StatusOr<std::vector<Breach>> SweepBreaches(absl::Time deadline, absl::Time now,
                                                            int limit) = 0;
  // Complaints recorded with provisional targets, oldest first.
  virtual absl::StatusOr<std::vector<int64_t>> ListProvisional(absl::Time deadline, int limit) = 0;

  virtual absl::StatusOr<std::vector<ComplianceRow>> Compliance(absl::Time deadline, absl::Time start,
                                                                absl::Time end,
                                                                const auth::AccessScope& scope,
                                                                const std::string& team) = 0;
  // FAULT_REPORT complaints of a customer recorded in [start, end), in the scope.
  virtual absl::StatusOr<std::vector<ComplaintRow>> Faults(absl::Time deadline, const std::string& customer,
                                                           absl::Time start, absl::Time end,
                                                           const auth::AccessScope& scope) = 0;
};

}  // namespace crm::complaints
