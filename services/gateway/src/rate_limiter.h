#pragma once
// Per-principal rate limiting: one token bucket per key (the token's
// subject), refilled continuously at `rate_per_second` up to `burst`.

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/util/clock.h"

namespace crm::gateway {

class RateLimiter {
 public:
  // `clock` must outlive the limiter. rate_per_second > 0, burst >= 1.
  RateLimiter(double rate_per_second, double burst, const Clock& clock);

  // Takes one token from `key`'s bucket: nullopt when admitted, otherwise
  // how long until a token is available (the RetryInfo delay). Thread-safe.
  std::optional<absl::Duration> TryAcquire(absl::string_view key);

  size_t tracked_keys() const;

 private:
  struct Bucket {
    double tokens;
    absl::Time refilled;
  };
  // Drops buckets that have refilled completely: they are the same as a
  // new one, so memory stays bounded by the recently active keys.
  void ForgetIdle(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const double rate_per_second_;
  const double burst_;
  const Clock& clock_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
  absl::Time last_sweep_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace crm::gateway
