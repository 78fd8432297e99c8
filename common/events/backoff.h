#pragma once
// Exponential back-off with jitter and a cap, for retrying a producer that
// is down or a handler that fails. Jitter spreads the retries of many
// consumers so a recovering producer is not hit by all of them at once.

#include <functional>

#include "absl/time/time.h"

namespace crm::events {

struct BackoffPolicy {
  absl::Duration initial = absl::Milliseconds(200);
  absl::Duration max = absl::Seconds(30);
  double multiplier = 2.0;
  // Each delay is the current base scaled by a uniform factor in
  // [1 - jitter, 1 + jitter], then capped at `max`.
  double jitter = 0.2;
};

class Backoff {
 public:
  // `uniform01` returns values in [0, 1); the default draws from a
  // randomly seeded generator. Tests pass a fixed one.
  explicit Backoff(BackoffPolicy policy, std::function<double()> uniform01 = {});

  // The delay before the next retry; grows the base for the one after.
  absl::Duration Next();
  // After a success: the next failure starts again from `initial`.
  void Reset() { base_ = policy_.initial; }

 private:
  const BackoffPolicy policy_;
  std::function<double()> uniform01_;
  absl::Duration base_;
};

}  // namespace crm::events
