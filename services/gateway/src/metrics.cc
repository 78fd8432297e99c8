#include "services/gateway/src/metrics.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace crm::gateway {
namespace {

// Bucket bounds as written in kBuckets; sums exactly (round-trip precision).
std::string FormatBound(double v) { return absl::StrFormat("%g", v); }
std::string FormatDouble(double v) { return absl::StrFormat("%.17g", v); }

std::string Labels(const std::string& front, const std::string& method) {
  return absl::StrCat("front=\"", EscapeLabelValue(front), "\",method=\"", EscapeLabelValue(method), "\"");
}

}  // namespace

std::string EscapeLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

void Metrics::Record(absl::string_view front, absl::string_view method, absl::StatusCode code,
                     absl::Duration latency) {
  const double seconds = absl::ToDoubleSeconds(latency);
  absl::MutexLock lock(&mu_);
  MethodKey key{std::string(front), std::string(method)};
  if (latency_.size() >= kMaxMethods && latency_.find(key) == latency_.end()) key.second = "other";
  Histogram& h = latency_[key];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      ++h.counts[i];
      break;
    }
  }
  ++h.count;
  h.sum_seconds += seconds;
  ++requests_[{key.first, key.second, code}];
}

std::string Metrics::RenderPrometheus() const {
  absl::MutexLock lock(&mu_);
  std::string out;
  out += "# HELP crm_gateway_requests_total Requests through the gateway by front, method and status code.\n";
  out += "# TYPE crm_gateway_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [front, method, code] = key;
    absl::StrAppend(&out, "crm_gateway_requests_total{", Labels(front, method), ",code=\"",
                    absl::StatusCodeToString(code), "\"} ", n, "\n");
  }
  out += "# HELP crm_gateway_request_errors_total Requests that did not end OK.\n";
  out += "# TYPE crm_gateway_request_errors_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [front, method, code] = key;
    if (code == absl::StatusCode::kOk) continue;
    absl::StrAppend(&out, "crm_gateway_request_errors_total{", Labels(front, method), ",code=\"",
                    absl::StatusCodeToString(code), "\"} ", n, "\n");
  }
  out += "# HELP crm_gateway_request_duration_seconds Time from a request's arrival to its answer.\n";
  out += "# TYPE crm_gateway_request_duration_seconds histogram\n";
  for (const auto& [key, h] : latency_) {
    const std::string labels = Labels(key.first, key.second);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += h.counts[i];
      absl::StrAppend(&out, "crm_gateway_request_duration_seconds_bucket{", labels, ",le=\"",
                      FormatBound(kBuckets[i]), "\"} ", cumulative, "\n");
    }
    absl::StrAppend(&out, "crm_gateway_request_duration_seconds_bucket{", labels, ",le=\"+Inf\"} ", h.count, "\n");
    absl::StrAppend(&out, "crm_gateway_request_duration_seconds_sum{", labels, "} ", FormatDouble(h.sum_seconds),
                    "\n");
    absl::StrAppend(&out, "crm_gateway_request_duration_seconds_count{", labels, "} ", h.count, "\n");
  }
  return out;
}

}  // namespace crm::gateway
