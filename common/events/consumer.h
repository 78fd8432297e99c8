#pragma once
// Consumes a producer's EventFeed into this service's own database.
//
// Events are applied in local transactions on the consumer's database that
// run the handler and advance the cursor row event_cursors(producer)
// together. A delivery that repeats (a retry after
// a lost response, a restart, a second replica) finds the cursor already
// past the event and skips it, so each event's effect happens exactly
// once. The cursor survives restarts, so the consumer resumes where it
// committed. When the producer is down or the handler fails it retries the
// same event with exponential back-off; it never skips one.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <grpcpp/channel.h>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/db/pool.h"
#include "common/events/backoff.h"
#include "crm/events/v1/events.grpc.pb.h"

namespace sql {
class Connection;
}

namespace crm::events {

// Applies one event inside the consumer's open transaction. An error rolls
// back the effect with the cursor and the event is retried after a
// back-off; return OK for event types the consumer does not care about.
// Must only touch the database (a deadlock retry runs it again).
using EventHandler = std::function<absl::Status(sql::Connection& conn, const v1::Event& event)>;

struct ConsumerOptions {
  // The producing service, as it stamps its events ("opportunities"); also
  // the key of this consumer's cursor row.
  std::string producer;
  // Channel to the producer (its EventFeed service).
  std::shared_ptr<grpc::ChannelInterface> channel;
  // Bearer token of a SERVICE principal, asked for before every pull (so it
  // may rotate); empty sends no token.
  std::function<std::string()> token_source;
  int page_size = 100;
  // Events applied per transaction: one commit for many events is what
  // makes a consumer fast. After a failure the consumer goes one event per
  // transaction until the page is through, so the cursor stops right
  // before an event that keeps failing.
  int events_per_transaction = 32;
  // Long-poll: how long the producer holds a pull while it has nothing new.
  absl::Duration max_wait = absl::Seconds(10);
  // After a pull that brought events and caught up with the producer's
  // head, wait this long before the next, so that what the producer appends
  // meanwhile comes in one pull and shares transactions. Under a steady
  // stream a pull per few events cost the producer, this consumer and both
  // databases: in bench/, the consumers following crm-customers took
  // ≈ 15 µs of CPU per create (a tenth). A backlog is read without pause;
  // so is the next pull after an empty one, and an event after a quiet
  // spell is delivered at once (the pull is already waiting for it).
  absl::Duration linger = absl::Milliseconds(50);
  // Deadline of a pull beyond max_wait.
  absl::Duration rpc_timeout = absl::Seconds(10);
  // Deadline of one event's transaction.
  absl::Duration apply_timeout = absl::Seconds(30);
  BackoffPolicy backoff;
  // Test-only fault injection: runs inside a transaction after the handler
  // and the cursor update, just before commit, with the last event applied.
  std::function<void(const v1::Event& last)> before_commit_for_testing;
};

class Consumer {
 public:
  // `pool` (the consumer's own database, migrated with WithEventTables)
  // must outlive the consumer.
  Consumer(db::ConnectionPool& pool, ConsumerOptions options, EventHandler handler);
  ~Consumer();  // Stop()

  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Pulls and applies in a background thread until Stop().
  void Start();
  // Cancels a pull in flight and returns once the thread has ended (an
  // event transaction already running finishes first).
  void Stop();

  // One pull from the cursor and the application of what it returned; the
  // number of events applied. What the background thread runs in a loop;
  // do not call it while the thread runs.
  absl::StatusOr<int> PollOnce();

  // The last sequence committed by this consumer (or loaded at start).
  int64_t cursor() const;
  // Waits until cursor() >= sequence; false at the timeout.
  bool WaitForCursor(int64_t sequence, absl::Duration timeout) const;

 private:
  void Run();
  absl::Status LoadCursor();
  struct Applied {
    int64_t cursor;  // the stored cursor after the transaction
    int count;       // events applied (a repeated delivery is skipped)
  };
  // Applies events[begin, end) in one transaction.
  absl::StatusOr<Applied> Apply(const google::protobuf::RepeatedPtrField<v1::Event>& events,
                                int begin, int end);
  void SetCursor(int64_t sequence);

  db::ConnectionPool& pool_;
  const ConsumerOptions options_;
  const EventHandler handler_;
  std::unique_ptr<v1::EventFeed::Stub> stub_;

  mutable absl::Mutex mu_;
  int64_t cursor_ ABSL_GUARDED_BY(mu_) = 0;
  bool cursor_loaded_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* pull_ ABSL_GUARDED_BY(mu_) = nullptr;  // the pull in flight
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Set by a failed transaction, cleared once a whole page went through.
  bool one_at_a_time_ = false;  // only touched by the polling thread
  // The last pull brought events up to the producer's head; polling thread only.
  bool caught_up_ = false;

  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace crm::events
