#include "common/events/backoff.h"

#include <algorithm>
#include <random>

namespace crm::events {

Backoff::Backoff(BackoffPolicy policy, std::function<double()> uniform01)
    : policy_(policy), uniform01_(std::move(uniform01)), base_(policy.initial) {
  if (!uniform01_) {
    uniform01_ = [rng = std::mt19937_64(std::random_device()()),
                  dist = std::uniform_real_distribution<double>(0.0, 1.0)]() mutable {
      return dist(rng);
    };
  }
}

absl::Duration Backoff::Next() {
  const double factor = 1.0 + policy_.jitter * (2.0 * uniform01_() - 1.0);
  const absl::Duration delay = std::min(base_ * factor, policy_.max);
  base_ = std::min(base_ * policy_.multiplier, policy_.max);
  return delay;
}

}  // namespace crm::events
