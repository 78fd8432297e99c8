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
// still write it (the batch holds its own copy of the request, so the caller
// need not stay). Only a batch's leader, whose thread runs it, stays.
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
  // One request of a batch and the result the batch function sets for it.
  // The batch owns its items: requests are moved in when the batch takes
  // them and results moved out to the callers still waiting when it ends,
  // so a caller past its deadline can return while its batch runs.
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
  // expired(): a queued request leaves the queue unwritten; a request taken
  // into a running batch returns too, and the batch may still write it. A
  // caller chosen to lead a batch leads it (the batch function sees the
  // expired request).
  template <typename Expired>
  Result Submit(Request request, absl::Time deadline, Expired expired) {
    Waiter self{std::move(request)};
    bool queued = false;
    {
      absl::MutexLock lock(&mu_);
      // A free slot means nothing is queued: Finish hands every freed slot
      // to the front of the queue.
      if (running_ < options_.max_running) {
        ++running_;
        self.state = State::kLead;
      } else {
        queue_.push_back(&self);
        queued = true;
      }
    }
    if (queued && deadline != absl::InfiniteFuture() && !self.wake.WaitUntil(deadline)) {
      absl::MutexLock lock(&mu_);
      if (self.state == State::kQueued) {
        queue_.erase(std::find(queue_.begin(), queue_.end(), &self));
        return expired();
      }
      if (self.state == State::kBatched) {
        *self.slot = nullptr;  // Finish neither sets its result nor wakes it
        return expired();
      }
      // Done, or handed a slot to lead: the wake-up is on its way.
    }
    if (queued) {
      // Woken once: to lead a batch, or with the result. Post/Wait order
      // the state and result written before it.
      self.wake.Wait();
    }
    if (self.state == State::kLead) Lead(self);
    return std::move(self.result);
  }

  // Requests queued and not yet taken by a batch.
  size_t Pending() const {
    absl::MutexLock lock(&mu_);
    return queue_.size();
  }

 private:
  // kQueued: in queue_. kBatched: its request is in a running batch.
  // kLead: to lead the next batch. kDone: its result is set.
  enum class State { kQueued, kBatched, kLead, kDone };
  // On its caller's stack.
  struct Waiter {
    explicit Waiter(Request r) : request(std::move(r)) {}
    Request request;
    Result result{};
    State state = State::kQueued;
    // While batched: its entry in the batch, cleared if it leaves (the batch
    // must not touch a returned caller's stack).
    Waiter** slot = nullptr;
    Wakeup wake;
  };

  // Runs one batch: `self` and what is queued behind it, taken now, with
  // the mutex released.
  void Lead(Waiter& self) {
    std::vector<Waiter*> batch = {&self};
    std::vector<Item> items;
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
      for (size_t i = 1; i < batch.size(); ++i) batch[i]->slot = &batch[i];
      // Under the lock: once it is released, a batched caller may leave.
      items.reserve(batch.size());
      for (Waiter* w : batch) items.push_back(Item{std::move(w->request)});
    }
    std::vector<Item*> pointers;
    pointers.reserve(items.size());
    for (Item& item : items) pointers.push_back(&item);
    // Followers must be released even if the batch function throws.
    struct Finish {
      GroupCommit* group;
      std::vector<Waiter*>& batch;
      std::vector<Item>& items;
      ~Finish() { group->Finish(batch, items); }
    } finish{this, batch, items};
    run_(absl::MakeConstSpan(pointers));
  }

  // Hands each result to its caller if still waiting, marks the batch (led
  // by its first waiter) done, hands the freed slot to the front of the
  // queue, and wakes them all. Each waiter has its own Wakeup, so they wake
  // in parallel rather than one after another through the mutex.
  void Finish(std::vector<Waiter*>& batch, std::vector<Item>& items) {
    batch[0]->result = std::move(items[0].result);
    std::vector<Waiter*> wake;
    wake.reserve(batch.size());
    {
      absl::MutexLock lock(&mu_);
      for (size_t i = 1; i < batch.size(); ++i) {
        if (batch[i] == nullptr) continue;  // it left at its deadline
        batch[i]->result = std::move(items[i].result);
        batch[i]->state = State::kDone;
        wake.push_back(batch[i]);
      }
      --running_;
      while (running_ < options_.max_running && !queue_.empty()) {
        Waiter* next = queue_.front();
        queue_.pop_front();
        next->state = State::kLead;
        ++running_;
        wake.push_back(next);
      }
    }
    // After the unlock, so a woken waiter does not wait for the mutex. A
    // waiter marked done or to lead waits for this even past its deadline.
    for (Waiter* w : wake) w->wake.Post();
  }

  GroupCommitOptions options_;
  const BatchFn run_;
  mutable absl::Mutex mu_;
  std::deque<Waiter*> queue_ ABSL_GUARDED_BY(mu_);
  int running_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace crm::db
