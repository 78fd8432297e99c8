#pragma once
// Prints the results as Markdown tables (ready for bench/README.md): the
// closed-loop scenarios, the one-shot ones, then each target of the issue
// with its measured value and PASS/FAIL.

#include <ostream>
#include <vector>

#include "bench/scenarios.h"

namespace crm::bench {

struct Verdict {
  bool all_ran = true;       // every selected scenario ran without a set-up failure
  bool all_targets_met = true;
};

Verdict PrintReport(const BenchConfig& config, const std::vector<ScenarioResult>& results, std::ostream& out);

}  // namespace crm::bench
