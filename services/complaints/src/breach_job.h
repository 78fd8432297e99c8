#pragma once
// The complaints service's background job (CMP-6, CMP-3). Every interval it
// sweeps the clocks that fell due (any number of replicas may run it: the
// repository claims rows with SKIP LOCKED and marks each breach in the same
// transaction as its event, so a breach is announced once, also across
// restarts) and re-evaluates complaints recorded with provisional targets.

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/util/clock.h"
#include "services/complaints/src/complaint_repository.h"
#include "services/complaints/src/complaint_service.h"

namespace crm::complaints {

struct BreachJobOptions {
  absl::Duration interval = absl::Seconds(30);
  // Clocks claimed per transaction.
  int batch_size = 500;
  // Provisional complaints re-evaluated per run.
  int reevaluate_batch = 100;
  absl::Duration run_timeout = absl::Minutes(2);
  // This service's bearer token (SERVICE role) for the customers service.
  std::function<std::string()> service_token;
};

// One sweep: claims and marks every clock due at `now`, batch after batch.
// Returns the number of breaches this caller marked.
absl::StatusOr<int64_t> SweepDueClocks(ComplaintRepository& repo, absl::Time now, absl::Time deadline,
                                       int batch_size);

class BreachJob {
 public:
  // Everything passed in must outlive the job.
  BreachJob(ComplaintRepository& repo, ComplaintService& service, BreachJobOptions options,
            const Clock& clock = RealClock::Get());
  ~BreachJob();  // Stop()

  BreachJob(const BreachJob&) = delete;
  BreachJob& operator=(const BreachJob&) = delete;

  void Start();
  void Stop();

 private:
  void Run();

  ComplaintRepository& repo_;
  ComplaintService& service_;
  const BreachJobOptions options_;
  const Clock& clock_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace crm::complaints
