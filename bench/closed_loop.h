#pragma once
// Closed-loop load: N caller threads, each issuing its next call as soon as
// the previous one returns. A warm-up period runs first and is not
// recorded; in the measured period every call that starts and ends inside
// it is recorded (latency of successes into a per-thread vector, failures
// counted by error name), so QPS = successful calls / measured seconds.

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/cpu_usage.h"

namespace crm::bench {

struct LoadOptions {
  int callers = 32;
  absl::Duration warmup = absl::Seconds(3);
  absl::Duration measure = absl::Seconds(10);
  std::vector<CpuWatch> watch;  // CPU time read at the start and end of the measured period
};

// One call: returns "" on success, else a short error name ("UNAVAILABLE",
// "mysql 1205") under which the failure is counted.
using Call = std::function<std::string(std::mt19937_64& rng)>;
// Builds caller `index`'s call on that caller's own thread (so it can hold
// per-thread state: a stub, a database connection). An error aborts the run.
using CallerFactory = std::function<absl::StatusOr<Call>(int index)>;

struct LatencySummary {
  int64_t count = 0;
  absl::Duration p50, p99, p999, max;
};

struct LoadResult {
  int64_t ok_calls = 0;
  int64_t failed_calls = 0;
  absl::Duration measured;
  double qps = 0;  // successful calls per second
  LatencySummary latency;
  std::map<std::string, int64_t> errors;  // error name → count
  CpuUsage cpu;  // during the measured period
};

absl::StatusOr<LoadResult> RunClosedLoop(const LoadOptions& options, const CallerFactory& factory);

// Nearest-rank percentiles of `nanos` (sorted in place).
LatencySummary Summarize(std::vector<int64_t>& nanos);

}  // namespace crm::bench
