#include "bench/closed_loop.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <latch>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"

namespace crm::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct CallerRecord {
  absl::Status setup = absl::OkStatus();
  std::vector<int64_t> nanos;
  std::map<std::string, int64_t> errors;
};

}  // namespace

LatencySummary Summarize(std::vector<int64_t>& nanos) {
  LatencySummary s;
  s.count = static_cast<int64_t>(nanos.size());
  if (nanos.empty()) return s;
  std::sort(nanos.begin(), nanos.end());
  auto rank = [&](double p) {
    // Nearest rank: the smallest value with at least p of the samples at or below it.
    const size_t n = nanos.size();
    size_t index = static_cast<size_t>(std::ceil(p * static_cast<double>(n)));
    index = std::clamp<size_t>(index, 1, n) - 1;
    return absl::Nanoseconds(nanos[index]);
  };
  s.p50 = rank(0.50);
  s.p99 = rank(0.99);
  s.p999 = rank(0.999);
  s.max = absl::Nanoseconds(nanos.back());
  return s;
}

absl::StatusOr<LoadResult> RunClosedLoop(const LoadOptions& options, const CallerFactory& factory) {
  if (options.callers < 1) return absl::InvalidArgumentError("callers must be at least 1");
  const int n = options.callers;
  std::vector<CallerRecord> records(n);
  std::latch ready(n);
  std::latch go(1);
  std::atomic<bool> abort{false};
  // Written before go.count_down(), read after go.wait(): ordered by the latch.
  Clock::time_point measure_begin, measure_end;

  std::vector<std::thread> threads;
  threads.reserve(n);
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      CallerRecord& record = records[i];
      absl::StatusOr<Call> call = factory(i);
      if (!call.ok()) record.setup = call.status();
      std::mt19937_64 rng(0x9E3779B97F4A7C15ull * static_cast<uint64_t>(i + 1));
      record.nanos.reserve(1 << 16);
      ready.count_down();
      go.wait();
      if (!call.ok() || abort.load()) return;
      for (;;) {
        const Clock::time_point start = Clock::now();
        if (start >= measure_end) break;
        std::string error = (*call)(rng);
        const Clock::time_point end = Clock::now();
        if (start < measure_begin || end > measure_end) continue;
        if (error.empty()) {
          record.nanos.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count());
        } else {
          ++record.errors[error];
        }
      }
    });
  }
  ready.wait();
  absl::Status setup = absl::OkStatus();
  for (const CallerRecord& r : records) {
    if (!r.setup.ok()) {
      setup = r.setup;
      break;
    }
  }
  if (!setup.ok()) abort.store(true);
  const Clock::time_point begin = Clock::now();
  measure_begin = begin + absl::ToChronoNanoseconds(options.warmup);
  measure_end = measure_begin + absl::ToChronoNanoseconds(options.measure);
  go.count_down();
  CpuSnapshot before, after;
  if (setup.ok()) {
    std::this_thread::sleep_until(measure_begin);
    before = TakeCpuSnapshot(options.watch);
    std::this_thread::sleep_until(measure_end);
    after = TakeCpuSnapshot(options.watch);
  }
  for (std::thread& t : threads) t.join();
  if (!setup.ok()) {
    return absl::Status(setup.code(), absl::StrCat("caller set-up failed: ", setup.message()));
  }

  LoadResult result;
  std::vector<int64_t> all;
  size_t total = 0;
  for (const CallerRecord& r : records) total += r.nanos.size();
  all.reserve(total);
  for (CallerRecord& r : records) {
    all.insert(all.end(), r.nanos.begin(), r.nanos.end());
    for (const auto& [name, count] : r.errors) {
      result.errors[name] += count;
      result.failed_calls += count;
    }
  }
  result.ok_calls = static_cast<int64_t>(all.size());
  result.measured = options.measure;
  result.qps = static_cast<double>(result.ok_calls) / absl::ToDoubleSeconds(options.measure);
  result.latency = Summarize(all);
  result.cpu = CpuUsed(options.watch, before, after);
  return result;
}

}  // namespace crm::bench
