#include "bench/cpu_usage.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace crm::bench {
namespace {

double TicksPerSecond() { return static_cast<double>(sysconf(_SC_CLK_TCK)); }

}  // namespace

double ProcessCpuSeconds(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(in, line)) return -1;
  // The command name (field 2) may hold spaces: count the fields after its ')'.
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 > line.size()) return -1;
  std::istringstream fields(line.substr(paren + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / TicksPerSecond();
}

CpuSnapshot TakeCpuSnapshot(const std::vector<CpuWatch>& watch) {
  CpuSnapshot s;
  for (const CpuWatch& w : watch) s.processes.push_back(ProcessCpuSeconds(w.pid));
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;
  double ticks[8] = {};  // user nice system idle iowait irq softirq steal
  for (double& t : ticks) {
    if (!(in >> t)) break;
  }
  for (double t : ticks) s.total += t;
  s.busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6];
  s.steal = ticks[7];
  s.total /= TicksPerSecond();
  s.busy /= TicksPerSecond();
  s.steal /= TicksPerSecond();
  return s;
}

CpuUsage CpuUsed(const std::vector<CpuWatch>& watch, const CpuSnapshot& before, const CpuSnapshot& after) {
  CpuUsage usage;
  for (size_t i = 0; i < watch.size() && i < before.processes.size() && i < after.processes.size(); ++i) {
    if (before.processes[i] < 0 || after.processes[i] < 0) continue;
    usage.seconds.emplace_back(watch[i].label, after.processes[i] - before.processes[i]);
  }
  usage.machine_busy_seconds = after.busy - before.busy;
  usage.machine_steal_seconds = after.steal - before.steal;
  usage.machine_seconds = after.total - before.total;
  return usage;
}

}  // namespace crm::bench
