#pragma once
// Pruning the outbox by age. Events are kept long enough for every consumer
// to catch up after an outage (the retention is a service flag); a consumer
// that falls further behind gets OUT_OF_RANGE from the feed instead of a
// silent skip. The newest event is always kept.

#include <cstdint>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/db/pool.h"
#include "common/util/clock.h"

namespace crm::events {

inline constexpr int kPruneBatchSize = 1000;

// Deletes the events appended before `older_than` (database time, UTC),
// oldest first, in batches of `batch_size` short transactions so appends are
// never blocked for long, but never the newest event. Returns how many
// were deleted; stops with DEADLINE_EXCEEDED at `deadline`.
absl::StatusOr<int64_t> PruneEvents(db::ConnectionPool& pool, absl::Time older_than,
                                    absl::Time deadline, int batch_size = kPruneBatchSize);

struct EventPrunerOptions {
  // Events older than this are deleted; must be positive.
  absl::Duration retention = absl::Hours(24 * 7);
  // How often to prune (first run at Start).
  absl::Duration interval = absl::Hours(1);
  // Limit of one pruning run.
  absl::Duration run_timeout = absl::Minutes(5);
};

// A background thread that prunes every `interval`. Several replicas may
// run one: deleting the same rows twice is harmless.
class EventPruner {
 public:
  // `pool` and `clock` must outlive the pruner.
  EventPruner(db::ConnectionPool& pool, EventPrunerOptions options,
              const Clock& clock = RealClock::Get());
  ~EventPruner();  // Stop()

  EventPruner(const EventPruner&) = delete;
  EventPruner& operator=(const EventPruner&) = delete;

  void Start();
  // Returns once the thread has ended (a running batch finishes first).
  void Stop();

 private:
  void Run();

  db::ConnectionPool& pool_;
  const EventPrunerOptions options_;
  const Clock& clock_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace crm::events
