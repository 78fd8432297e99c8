#pragma once
// In-process request metrics of the gateway, rendered in the Prometheus
// text exposition format (version 0.0.4):
//   crm_gateway_requests_total{front,method,code}         counter
//   crm_gateway_request_errors_total{front,method,code}   counter (code != OK)
//   crm_gateway_request_duration_seconds{front,method}    histogram, fixed buckets

#include <array>
#include <map>
#include <string>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace crm::gateway {

class Metrics {
 public:
  // Upper bounds (seconds) of the latency buckets; +Inf is implied.
  static constexpr std::array<double, 13> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                      0.25,  0.5,    1,     2.5,  5,     10};
  // Distinct method labels kept; calls to further methods count under
  // "other" so a caller inventing method names cannot grow memory.
  static constexpr size_t kMaxMethods = 512;

  void Record(absl::string_view front, absl::string_view method, absl::StatusCode code, absl::Duration latency);
  std::string RenderPrometheus() const;

 private:
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> counts{};  // per bucket (not cumulative)
    uint64_t count = 0;
    double sum_seconds = 0;
  };
  using MethodKey = std::pair<std::string, std::string>;  // front, method

  mutable absl::Mutex mu_;
  std::map<std::tuple<std::string, std::string, absl::StatusCode>, uint64_t> requests_ ABSL_GUARDED_BY(mu_);
  std::map<MethodKey, Histogram> latency_ ABSL_GUARDED_BY(mu_);
};

// A label value escaped for the exposition format (\\, \", \n).
std::string EscapeLabelValue(absl::string_view value);

}  // namespace crm::gateway
