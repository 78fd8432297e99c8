#include "services/gateway/src/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace crm::gateway {
namespace {
// Sweep at most this often, and only once the map has grown.
constexpr absl::Duration kSweepInterval = absl::Seconds(10);
constexpr size_t kSweepAbove = 1024;
}  // namespace

RateLimiter::RateLimiter(double rate_per_second, double burst, const Clock& clock)
    : rate_per_second_(rate_per_second), burst_(burst), clock_(clock) {}

std::optional<absl::Duration> RateLimiter::TryAcquire(absl::string_view key) {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  if (buckets_.size() > kSweepAbove && now - last_sweep_ >= kSweepInterval) ForgetIdle(now);
  auto [it, inserted] = buckets_.try_emplace(key, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!inserted && now > b.refilled) {
    b.tokens = std::min(burst_, b.tokens + absl::ToDoubleSeconds(now - b.refilled) * rate_per_second_);
    b.refilled = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return std::nullopt;
  }
  // Round up to whole milliseconds: a retry after the hint must succeed.
  const double wait_seconds = (1.0 - b.tokens) / rate_per_second_;
  return absl::Milliseconds(std::max(1.0, std::ceil(wait_seconds * 1000.0)));
}

void RateLimiter::ForgetIdle(absl::Time now) {
  last_sweep_ = now;
  absl::erase_if(buckets_, [&](const auto& entry) {
    const Bucket& b = entry.second;
    return b.tokens + absl::ToDoubleSeconds(now - b.refilled) * rate_per_second_ >= burst_;
  });
}

size_t RateLimiter::tracked_keys() const {
  absl::MutexLock lock(&mu_);
  return buckets_.size();
}

}  // namespace crm::gateway
