#pragma once
// The customers service's staleness announcer (CUS-6). Every interval it
// announces the customers whose basic data became stale (A-class not
// re-verified for a month, B-class for two; ListStaleCustomers' rule) with
// one CustomerDataStale event each. Any number of replicas may run it: the
// repository claims rows with SKIP LOCKED and records the announcement in
// the same transaction as the event, so each lapse is announced once, also
// across restarts; a new verification starts a new lapse.

#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "services/customers/src/customer_service.h"

namespace crm::customers {

struct StaleDataJobOptions {
  absl::Duration interval = absl::Minutes(5);
  // Customers claimed per transaction.
  int batch_size = 500;
  absl::Duration run_timeout = absl::Minutes(2);
};

class StaleDataJob {
 public:
  // `service` must outlive the job.
  StaleDataJob(CustomerService& service, StaleDataJobOptions options);
  ~StaleDataJob();  // Stop()

  StaleDataJob(const StaleDataJob&) = delete;
  StaleDataJob& operator=(const StaleDataJob&) = delete;

  void Start();
  void Stop();

 private:
  void Run();

  CustomerService& service_;
  const StaleDataJobOptions options_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace crm::customers
