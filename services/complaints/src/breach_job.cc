#include "services/complaints/src/breach_job.h"

#include "absl/strings/str_cat.h"
#include "common/util/log.h"

namespace crm::complaints {

absl::StatusOr<int64_t> SweepDueClocks(ComplaintRepository& repo, absl::Time now, absl::Time deadline,
                                       int batch_size) {
  int64_t total = 0;
  while (true) {
    absl::StatusOr<std::vector<Breach>> batch = repo.SweepBreaches(deadline, now, batch_size);
    if (!batch.ok()) return batch.status();
    total += static_cast<int64_t>(batch->size());
    if (static_cast<int>(batch->size()) < batch_size) return total;
  }
}

BreachJob::BreachJob(ComplaintRepository& repo, ComplaintService& service, BreachJobOptions options,
                     const Clock& clock)
    : repo_(repo), service_(service), options_(std::move(options)), clock_(clock) {}

BreachJob::~BreachJob() { Stop(); }

void BreachJob::Start() {
  thread_ = std::thread([this] { Run(); });
}

void BreachJob::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void BreachJob::Run() {
  int64_t run = 0;
  do {
    ++run;
    const absl::Time deadline = absl::Now() + options_.run_timeout;
    absl::StatusOr<int64_t> breaches = SweepDueClocks(repo_, clock_.Now(), deadline, options_.batch_size);
    if (!breaches.ok()) {
      log::Warning("breach sweep failed", {{"error", breaches.status().ToString()}});
    } else {
      // Tests and operators read this line: one per run.
      log::Info("breach sweep", {{"run", absl::StrCat(run)}, {"breaches", absl::StrCat(*breaches)}});
    }
    if (options_.service_token) {
      const client::Caller service{deadline, options_.service_token()};
      absl::StatusOr<int> reevaluated = service_.ReevaluateProvisional(service, options_.reevaluate_batch);
      if (!reevaluated.ok()) {
        log::Warning("re-evaluating provisional targets failed", {{"error", reevaluated.status().ToString()}});
      } else if (*reevaluated > 0) {
        log::Info("provisional targets re-evaluated", {{"complaints", absl::StrCat(*reevaluated)}});
      }
    }
  } while (!stop_.WaitForNotificationWithTimeout(options_.interval));
}

}  // namespace crm::complaints
