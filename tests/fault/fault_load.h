#pragma once
// Shared by the fault tests: a steady mixed load through the gateway's gRPC
// front, read-back verification, and the summary table.
//
// MixedLoad runs `workers` clients, each a manager of its own (so their
// visits never overlap and each customer has one writer). Each round a
// client creates a customer, an opportunity and a complaint on it and books
// a visit (every create with its own request_id), adds 1 to the customer's
// employee_count (read, then update with the etag), and reads the customer
// back. A call that fails with UNAVAILABLE, DEADLINE_EXCEEDED or
// RESOURCE_EXHAUSTED is retried with the same request (and request_id)
// after a short back-off until it is acknowledged or the client gives up;
// an update whose outcome is unknown is settled by reading the record.
// Verify() then lists what each manager owns, directly from the services,
// and checks that every acknowledged create is there exactly once and every
// customer's count equals its acknowledged increments.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/auth/principal.h"
#include "grpc/health/v1/health.pb.h"
#include "tests/e2e/service_process.h"

namespace crm::fault {

// One row of the summary table.
struct FaultFigures {
  std::string scenario;
  double calls_per_second = 0;  // load held: calls made ÷ load duration
  int faults = 0;               // faults injected
  int64_t acknowledged = 0;     // calls answered OK
  int64_t verified = 0;         // rows read back and found as acknowledged
  int64_t lost = 0;             // acknowledged but missing or wrong
  int64_t duplicated = 0;       // more rows than acknowledged creates
};
// Prints the table to stdout (header, then one line per row).
void PrintFaultTable(const std::vector<FaultFigures>& rows);

// What a client retries with the same request.
bool Retryable(grpc::StatusCode code);

// Polls `done` until it holds or `timeout` passes (each poll a real check,
// not a wait on time).
bool Eventually(const std::function<bool()>& done, absl::Duration timeout);

// The process's answer to a health check; UNKNOWN when it gives none within 2 s.
grpc::health::v1::HealthCheckResponse::ServingStatus HealthOf(const testing::ServiceProcess& process);

class MixedLoad {
 public:
  struct Options {
    std::shared_ptr<grpc::Channel> gateway;
    int workers = 6;
    absl::Duration call_deadline = absl::Seconds(3);
    // A client gives up on one call after this long.
    absl::Duration give_up = absl::Seconds(60);
    std::string tag = "fault";  // in every principal, request id and name
  };
  explicit MixedLoad(Options options);
  ~MixedLoad();  // Stop()

  void Start();
  // Lets every client finish the call it is on (retries included), then joins.
  void Stop();

  int64_t calls() const { return calls_.load(); }
  int64_t acknowledged() const { return acknowledged_.load(); }
  int64_t failed_attempts() const { return failed_attempts_.load(); }
  // Calls that ended in an error a client does not retry (or gave up on).
  int64_t errors() const { return errors_.load(); }
  std::vector<std::string> error_samples() const;
  absl::Duration elapsed() const;

  // Waits until `n` more calls have been acknowledged (or failed) than now.
  bool WaitForAcknowledged(int64_t n, absl::Duration timeout) const;
  bool WaitForFailedAttempts(int64_t n, absl::Duration timeout) const;

  // Complaints acknowledged so far, oldest first.
  std::vector<std::string> AcknowledgedComplaints() const;
  // Customers acknowledged so far.
  std::vector<std::string> AcknowledgedCustomers() const;

  struct Verification {
    int64_t verified = 0, lost = 0, duplicated = 0;
    // Rows stored for a create the client never saw acknowledged (it gave up).
    int64_t unacknowledged_stored = 0;
    std::vector<std::string> problems;  // what was lost or duplicated
  };
  // Reads back through each service (not the gateway). Call after Stop().
  Verification Verify(const testing::ServiceSuite& suite) const;

 private:
  struct Acked {
    std::string kind;        // customer, opportunity, complaint, visit
    std::string request_id;  // also in the row's text
    std::string name;        // the resource name the reply gave
  };
  struct CustomerState {
    std::string name;
    int64_t increments = 0;  // acknowledged employee_count + 1 updates
  };
  struct Worker {
    auth::Principal who;
    std::vector<Acked> acked;
    std::vector<CustomerState> customers;
    int next = 0;
  };
  void Run(Worker& w);
  bool Round(Worker& w);
  // The call, retried while Retryable; its final status.
  grpc::Status Call(Worker& w, const std::function<grpc::Status(grpc::ClientContext&)>& rpc);
  bool Increment(Worker& w, CustomerState& c);
  void Error(const Worker& w, const std::string& what, const grpc::Status& s);

  Options options_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> calls_{0}, acknowledged_{0}, failed_attempts_{0}, errors_{0};
  absl::Time started_, stopped_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  mutable absl::Mutex mu_;  // the workers' acked lists, read by the test
  std::vector<std::string> complaints_ ABSL_GUARDED_BY(mu_), customers_ ABSL_GUARDED_BY(mu_),
      error_samples_ ABSL_GUARDED_BY(mu_);
};

// Stops `load` and reads back what it acknowledged: expects that no call
// ended in an error, nothing was lost or duplicated and something was
// verified. Returns the verification for further checks and the table.
MixedLoad::Verification StopAndVerify(MixedLoad& load, const testing::ServiceSuite& suite);

// The summary table's row for a run of `load` with `faults` injected, then
// the retries behind it.
void PrintLoadFigures(const std::string& scenario, int faults, const MixedLoad& load,
                      const MixedLoad::Verification& v);

}  // namespace crm::fault
