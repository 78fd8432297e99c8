#include "common/events/pruner.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/db/sql.h"
#include "common/db/transaction.h"
#include "common/util/log.h"

namespace crm::events {

namespace {

// PruneEvents that also stops between batches once `stop` is notified.
absl::StatusOr<int64_t> Prune(db::ConnectionPool& pool, absl::Time older_than, absl::Time deadline,
                              int batch_size, const absl::Notification* stop) {
  return db::WithConnection(
      pool, deadline,
      [&](sql::Connection& conn) -> absl::StatusOr<int64_t> {
        // Delete a prefix of the sequence, so the retained events stay
        // contiguous and the feed can tell a pruned cursor from a gap.
        int64_t last_to_delete = 0;
        {
          auto rs = db::Query(conn,
                              "SELECT (SELECT MAX(sequence) FROM event_outbox WHERE append_time < ?),"
                              " (SELECT MAX(sequence) FROM event_outbox)",
                              older_than);
          if (!rs->next() || rs->isNull(1)) return int64_t{0};
          last_to_delete = std::min(rs->getInt64(1), rs->getInt64(2) - 1);
        }
        int64_t deleted = 0;
        while (true) {
          if (absl::Now() >= deadline) {
            return absl::DeadlineExceededError(
                absl::StrCat("pruned ", deleted, " events before the deadline"));
          }
          // Autocommit: each batch is its own short transaction.
          const int n = db::Execute(
              conn, "DELETE FROM event_outbox WHERE sequence <= ? ORDER BY sequence LIMIT ?",
              last_to_delete, batch_size);
          deleted += n;
          if (n < batch_size || (stop != nullptr && stop->HasBeenNotified())) return deleted;
        }
      },
      "prune events");
}

}  // namespace

absl::StatusOr<int64_t> PruneEvents(db::ConnectionPool& pool, absl::Time older_than,
                                    absl::Time deadline, int batch_size) {
  return Prune(pool, older_than, deadline, batch_size, nullptr);
}

EventPruner::EventPruner(db::ConnectionPool& pool, EventPrunerOptions options, const Clock& clock)
    : pool_(pool), options_(options), clock_(clock) {
  if (options_.retention <= absl::ZeroDuration() || options_.interval <= absl::ZeroDuration()) {
    log::Error("EventPruner: retention and interval must be positive");
    std::abort();
  }
}

EventPruner::~EventPruner() { Stop(); }

void EventPruner::Start() {
  thread_ = std::thread([this] { Run(); });
}

void EventPruner::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void EventPruner::Run() {
  do {
    const absl::Time now = clock_.Now();
    auto deleted = Prune(pool_, now - options_.retention, absl::Now() + options_.run_timeout,
                         kPruneBatchSize, &stop_);
    if (!deleted.ok()) {
      log::Warning("event pruning failed", {{"error", deleted.status().ToString()}});
    } else if (*deleted > 0) {
      log::Info("events pruned", {{"deleted", absl::StrCat(*deleted)}});
    }
  } while (!stop_.WaitForNotificationWithTimeout(options_.interval));
}

}  // namespace crm::events
