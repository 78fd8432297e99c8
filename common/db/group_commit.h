#pragma once
// Group commit: concurrent requests that arrive while a batch is being
// written are gathered and written together by one thread, in one
// transaction, so they share its round trips and its durable commit. The
// same batching serves reads (GetCustomer: one `id IN (…)` query a batch).
//
// Leader/follower: a caller that finds a free batch slot runs a batch at
// once (no added wait when idle); callers that arrive while every slot
// (max_running) is taken queue, and when a batch ends the oldest of them
// leads the next one with everything queued by then. Every caller returns
// only after the batch holding its request has finished, with its own
// result. Given a deadline, a caller leaves when it passes: unwritten if its
// request was still queued; if a running batch holds it, that batch may
// still write it (the request and result are shared with the batch, so the
// caller need not stay). Only a batch's leader, whose thread runs it, stays.
//
//   GroupCommit<Create, absl::StatusOr<Row>> creates(
//       {.max_batch = 32}, [&](absl::Span<Item* const> batch) {
//         ... one transaction for all; batch[i]->result = ...;
//       });
//   absl::StatusOr<Row> row = creates.Submit(request);

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
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

// One thread waits until another posts; a bare futex. A waiter here waits
// for a database round trip, so it sleeps at once: std::binary_semaphore
// spins and calls sched_yield first, which on two cores only took CPU from
// the thread it waited for (a sixth of crm-customers' CPU under CreateCustomer
// load).
class Wakeup {
 public:
  void Wait() {
    while (posted_.load(std::memory_order_acquire) == 0) {
      syscall(SYS_futex, &posted_, FUTEX_WAIT_PRIVATE, 0, nullptr, nullptr, 0);
    }
  }
  // False when `deadline` passes first.
  bool WaitUntil(absl::Time deadline) {
    while (posted_.load(std::memory_order_acquire) == 0) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return false;
      const timespec relative = absl::ToTimespec(left);
      syscall(SYS_futex, &posted_, FUTEX_WAIT_PRIVATE, 0, &relative, nullptr, 0);
    }
    return true;
  }
  // The waiter may return (and this object be gone) as soon as the store
  // lands; the wake-up call after it only names the address, which the
  // kernel tolerates, and a later waiter at that address re-checks its word.
  void Post() {
    posted_.store(1, std::memory_order_release);
    syscall(SYS_futex, &posted_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  }

 private:
  // The kernel reads the word itself.
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) && std::atomic<uint32_t>::is_always_lock_free);
  std::atomic<uint32_t> posted_{0};
};

template <typename Request, typename Result>
class GroupCommit {
 public:
  // One caller's request and the result the batch function sets for it.
  // Held by value: a caller past its deadline may return while its batch
  // still runs.
  struct Item {
    Request request;
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

  Result Submit(Request request) {
    return Submit(std::move(request), absl::InfiniteFuture(), [] { return Result{}; });
  }

  // As above, but a caller still waiting when `deadline` passes returns
  // expired(): a queued request leaves the queue unwritten; one taken into
  // a running batch stays in it and may still be written. A caller chosen
  // to lead a batch leads it (the batch function sees the expired request).
  template <typename Expired>
  Result Submit(Request request, absl::Time deadline, Expired expired) {
    auto self = std::make_shared<Waiter>(Item{std::move(request)});
    bool queued = false;
    {
      absl::MutexLock lock(&mu_);
      // A free slot means nothing is queued: Finish hands every freed slot
      // to the front of the queue.
      if (running_ < options_.max_running) {
        ++running_;
        self->state = State::kLead;
      } else {
        queue_.push_back(self);
        queued = true;
      }
    }
    if (queued && deadline != absl::InfiniteFuture() && !self->wake.WaitUntil(deadline)) {
      absl::MutexLock lock(&mu_);
      switch (self->state) {
        case State::kQueued:
          queue_.erase(std::find(queue_.begin(), queue_.end(), self));
          return expired();
        case State::kBatched:
          return expired();  // the batch keeps `self` alive until it ends
        case State::kDone:
          return std::move(self->item.result);  // set before the state
        case State::kLead:
          break;  // Finish handed it a slot: it must run the batch
      }
    }
    if (queued) {
      // Woken once: to lead a batch, or with the result. Post/Wait order
      // the state and result written before it.
      self->wake.Wait();
    }
    if (self->state == State::kLead) Lead(self);
    return std::move(self->item.result);
  }

  // Requests queued and not yet taken by a batch.
  size_t Pending() const {
    absl::MutexLock lock(&mu_);
    return queue_.size();
  }

 private:
  // kQueued: in queue_. kBatched: taken into a running batch, which holds
  // its item. kLead: to lead the next batch. kDone: its result is set.
  enum class State { kQueued, kBatched, kLead, kDone };
  struct Waiter {
    Item item;
    State state = State::kQueued;
    Wakeup wake;
  };

  // Runs one batch: `self` and what is queued behind it, taken now, with
  // the mutex released.
  void Lead(const std::shared_ptr<Waiter>& self) {
    std::vector<std::shared_ptr<Waiter>> batch = {self};
    {
      absl::MutexLock lock(&mu_);
      size_t take = std::min(queue_.size() + 1, options_.max_batch);
      if (options_.power_of_two) {
        size_t p = 1;
        while (p * 2 <= take) p *= 2;
        take = p;
      }
      const auto end = queue_.begin() + static_cast<std::ptrdiff_t>(take - 1);
      for (auto it = queue_.begin(); it != end; ++it) (*it)->state = State::kBatched;
      batch.insert(batch.end(), queue_.begin(), end);
      queue_.erase(queue_.begin(), end);
    }
    std::vector<Item*> items;
    items.reserve(batch.size());
    for (const auto& w : batch) items.push_back(&w->item);
    // Followers must be released even if the batch function throws.
    struct Finish {
      GroupCommit* group;
      std::vector<std::shared_ptr<Waiter>>& batch;
      ~Finish() { group->Finish(batch); }
    } finish{this, batch};
    run_(absl::MakeConstSpan(items));
  }

  // Marks `batch` (led by its first waiter) done, hands the freed slot to
  // the front of the queue, and wakes them all. Each waiter has its own
  // Wakeup, so they wake in parallel rather than one after another
  // through the mutex.
  void Finish(const std::vector<std::shared_ptr<Waiter>>& batch) {
    std::vector<std::shared_ptr<Waiter>> wake(batch.begin() + 1, batch.end());
    {
      absl::MutexLock lock(&mu_);
      for (const auto& w : wake) w->state = State::kDone;
      --running_;
      while (running_ < options_.max_running && !queue_.empty()) {
        queue_.front()->state = State::kLead;
        wake.push_back(std::move(queue_.front()));
        queue_.pop_front();
        ++running_;
      }
    }
    // Posted after the unlock, so a woken waiter does not wait for the mutex.
    for (const auto& w : wake) w->wake.Post();
  }

  GroupCommitOptions options_;
  const BatchFn run_;
  mutable absl::Mutex mu_;
  std::deque<std::shared_ptr<Waiter>> queue_ ABSL_GUARDED_BY(mu_);
  int running_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace crm::db
