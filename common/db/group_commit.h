#pragma once
// Group commit: concurrent requests that arrive while a batch is being
// written are gathered and written together by one thread, in one
// transaction, so they share its round trips and its durable commit.
//
// Leader/follower: a caller that finds no batch running runs one at once
// (no added wait when idle) with itself and whatever is queued; callers that
// arrive meanwhile queue, and when the batch ends (or, with max_running > 1,
// while it runs) the oldest of them leads the next one with everything
// queued by then. Every caller returns only
// after the batch holding its request has finished, with its own result.
//
//   GroupCommit<Create, absl::StatusOr<Row>> creates(
//       {.max_batch = 32}, [&](absl::Span<Item* const> batch) {
//         ... one transaction for all; batch[i]->result = ...;
//       });
//   absl::StatusOr<Row> row = creates.Submit(request);

#include <cstddef>
#include <deque>
#include <functional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"

namespace crm::db {

struct GroupCommitOptions {
  // Most requests in one batch.
  size_t max_batch = 32;
  // Batches running at once: while one waits for the database (its round
  // trips, its commit), the next can start with what queued meanwhile.
  int max_running = 1;
  // Take only a power of two of the queued requests (the rest lead the next
  // batch). A batch writes with statements whose text depends on its size
  // (multi-row INSERTs, IN lists), and each text is a prepared statement in
  // every pooled connection's cache: this bounds them to log2(max_batch) + 1.
  bool power_of_two = true;
};

template <typename Request, typename Result>
class GroupCommit {
 public:
  // One caller's request and the result the batch function sets for it.
  struct Item {
    const Request& request;
    Result result{};
  };
  // Runs one batch; sets every item's result. Called by one thread at a time.
  using BatchFn = std::function<void(absl::Span<Item* const> batch)>;

  GroupCommit(GroupCommitOptions options, BatchFn run)
      : options_(options), run_(std::move(run)) {
    if (options_.max_batch == 0) options_.max_batch = 1;
    if (options_.max_running < 1) options_.max_running = 1;
  }
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  Result Submit(const Request& request) {
    Waiter self{Item{request}};
    absl::MutexLock lock(&mu_);
    queue_.push_back(&self);
    const auto done_or_next = [this, &self]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return self.done || (running_ < options_.max_running && queue_.front() == &self);
    };
    mu_.Await(absl::Condition(&done_or_next));
    if (!self.done) Lead();
    return std::move(self.item.result);
  }

  // Requests queued and not yet taken by a batch.
  size_t Pending() const {
    absl::MutexLock lock(&mu_);
    return queue_.size();
  }

 private:
  struct Waiter {
    Item item;
    bool done = false;
  };

  // Runs one batch from the front of the queue (the caller's own request
  // first) with the mutex released, then wakes its callers.
  void Lead() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++running_;
    size_t take = std::min(queue_.size(), options_.max_batch);
    if (options_.power_of_two) {
      size_t p = 1;
      while (p * 2 <= take) p *= 2;
      take = p;
    }
    std::vector<Waiter*> batch(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(take));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(take));
    std::vector<Item*> items;
    items.reserve(batch.size());
    for (Waiter* w : batch) items.push_back(&w->item);
    // Followers must be released even if the batch function throws.
    struct Finish {
      GroupCommit* self;
      std::vector<Waiter*>& batch;
      ~Finish() {
        self->mu_.Lock();
        for (Waiter* w : batch) w->done = true;
        --self->running_;
      }
    } finish{this, batch};
    mu_.Unlock();
    run_(absl::MakeConstSpan(items));
  }

  GroupCommitOptions options_;
  const BatchFn run_;
  mutable absl::Mutex mu_;
  std::deque<Waiter*> queue_ ABSL_GUARDED_BY(mu_);
  int running_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace crm::db
