#pragma once
// CPU time of chosen processes and of the whole machine over an interval,
// from /proc: says where a scenario's time went (server, MariaDB, the load
// generator, everything else on this shared machine).

#include <string>
#include <utility>
#include <vector>

namespace crm::bench {

struct CpuWatch {
  std::string label;  // "server", "MariaDB", "crm_bench"
  int pid = 0;
};

// A reading at one instant; compare two with CpuUsed.
struct CpuSnapshot {
  std::vector<double> processes;  // seconds per watched process, -1 if unreadable
  double busy = 0;                // every CPU, seconds since boot
  double steal = 0;               // taken by the hypervisor for other guests
  double total = 0;
};

struct CpuUsage {
  std::vector<std::pair<std::string, double>> seconds;  // per watched process
  double machine_busy_seconds = 0;
  double machine_steal_seconds = 0;
  double machine_seconds = 0;  // interval × CPUs
};

CpuSnapshot TakeCpuSnapshot(const std::vector<CpuWatch>& watch);
CpuUsage CpuUsed(const std::vector<CpuWatch>& watch, const CpuSnapshot& before, const CpuSnapshot& after);

// utime + stime of `pid` (every thread, finished ones included), or -1.
double ProcessCpuSeconds(int pid);

}  // namespace crm::bench
