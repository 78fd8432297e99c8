#include "common/events/consumer.h"

#include <google/protobuf/util/time_util.h>
#include <grpcpp/client_context.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/db/sql.h"
#include "common/db/transaction.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "common/util/log.h"

namespace crm::events {

Consumer::Consumer(db::ConnectionPool& pool, ConsumerOptions options, EventHandler handler)
    : pool_(pool),
      options_(std::move(options)),
      handler_(std::move(handler)),
      stub_(v1::EventFeed::NewStub(options_.channel)) {}

Consumer::~Consumer() { Stop(); }

void Consumer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Consumer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (pull_ != nullptr) pull_->TryCancel();
  }
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

int64_t Consumer::cursor() const {
  absl::MutexLock lock(&mu_);
  return cursor_;
}

bool Consumer::WaitForCursor(int64_t sequence, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  // Evaluated by Await with mu_ held.
  auto reached = [this, sequence]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return cursor_ >= sequence; };
  return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

void Consumer::SetCursor(int64_t sequence) {
  absl::MutexLock lock(&mu_);
  cursor_ = sequence;
  cursor_loaded_ = true;
}

void Consumer::Run() {
  Backoff backoff(options_.backoff);
  while (!stop_.HasBeenNotified()) {
    absl::StatusOr<int> applied = PollOnce();
    if (applied.ok()) {
      backoff.Reset();
      if (caught_up_) stop_.WaitForNotificationWithTimeout(options_.linger);
      continue;
    }
    if (stop_.HasBeenNotified()) break;
    const absl::Duration delay = backoff.Next();
    log::Warning("event consumer retrying",
                 {{"producer", options_.producer},
                  {"error", applied.status().ToString()},
                  {"retry_in", absl::FormatDuration(delay)}});
    {
      // Trust only the database after a failure.
      absl::MutexLock lock(&mu_);
      cursor_loaded_ = false;
    }
    stop_.WaitForNotificationWithTimeout(delay);
  }
}

absl::Status Consumer::LoadCursor() {
  auto stored = db::RunInTransaction(
      pool_, absl::Now() + options_.apply_timeout,
      [&](sql::Connection& conn) -> absl::StatusOr<int64_t> {
        db::Execute(conn,
                    "INSERT IGNORE INTO event_cursors (producer, last_sequence, update_time) "
                    "VALUES (?, 0, UTC_TIMESTAMP(6))",
                    options_.producer);
        auto rs = db::Query(conn, "SELECT last_sequence FROM event_cursors WHERE producer = ?",
                            options_.producer);
        if (!rs->next()) return absl::InternalError("cursor row vanished");
        return rs->getInt64(1);
      },
      {.context = "load event cursor"});
  if (!stored.ok()) return stored.status();
  SetCursor(*stored);
  return absl::OkStatus();
}

absl::StatusOr<int> Consumer::PollOnce() {
  bool loaded;
  {
    absl::MutexLock lock(&mu_);
    loaded = cursor_loaded_;
  }
  if (!loaded) RETURN_IF_ERROR(LoadCursor());

  v1::ListEventsRequest request;
  request.set_after_sequence(cursor());
  request.set_page_size(options_.page_size);
  *request.mutable_max_wait() = google::protobuf::util::TimeUtil::MillisecondsToDuration(
      absl::ToInt64Milliseconds(options_.max_wait));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.max_wait + options_.rpc_timeout));
  if (options_.token_source) {
    const std::string token = options_.token_source();
    if (!token.empty()) context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
  }
  v1::ListEventsResponse response;
  caught_up_ = false;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::CancelledError("consumer stopping");
    pull_ = &context;
  }
  const grpc::Status pulled = stub_->ListEvents(&context, request, &response);
  {
    absl::MutexLock lock(&mu_);
    pull_ = nullptr;
  }
  if (!pulled.ok()) {
    const absl::Status status = FromGrpcStatus(pulled);
    return absl::Status(status.code(), absl::StrCat("pulling events from ", options_.producer,
                                                    ": ", status.message()));
  }

  const auto& events = response.events();
  caught_up_ = !events.empty() && events[events.size() - 1].sequence() >= response.head_sequence();
  int applied = 0;
  for (int begin = 0; begin < events.size() && !stop_.HasBeenNotified();) {
    const int batch = one_at_a_time_ ? 1 : std::max(1, options_.events_per_transaction);
    const int end = std::min(events.size(), begin + batch);
    absl::StatusOr<Applied> result = Apply(events, begin, end);
    if (!result.ok()) {
      one_at_a_time_ = true;
      return result.status();
    }
    SetCursor(result->cursor);
    applied += result->count;
    begin = end;
  }
  one_at_a_time_ = false;
  return applied;
}

absl::StatusOr<Consumer::Applied> Consumer::Apply(
    const google::protobuf::RepeatedPtrField<v1::Event>& events, int begin, int end) {
  for (int i = begin; i < end; ++i) {
    if (events[i].producer() != options_.producer) {
      return absl::FailedPreconditionError(absl::StrCat(
          "expected events of ", options_.producer, ", the feed sent ", events[i].producer()));
    }
  }
  return db::RunInTransaction(
      pool_, absl::Now() + options_.apply_timeout,
      [&](sql::Connection& conn) -> absl::StatusOr<Applied> {
        // The row lock serialises replicas of this consumer on the cursor.
        Applied result{0, 0};
        const v1::Event* last = nullptr;
        {
          auto rs = db::Query(
              conn, "SELECT last_sequence FROM event_cursors WHERE producer = ? FOR UPDATE",
              options_.producer);
          if (!rs->next()) return absl::InternalError("event cursor row is missing");
          result.cursor = rs->getInt64(1);
        }
        for (int i = begin; i < end; ++i) {
          const v1::Event& event = events[i];
          if (event.sequence() <= result.cursor) continue;  // delivered again
          if (event.sequence() != result.cursor + 1) {
            return absl::DataLossError(absl::StrCat("expected event ", result.cursor + 1, " of ",
                                                    options_.producer, ", got ", event.sequence()));
          }
          RETURN_IF_ERROR(handler_(conn, event));
          result.cursor = event.sequence();
          ++result.count;
          last = &event;
        }
        if (last == nullptr) return result;
        db::Execute(conn,
                    "UPDATE event_cursors SET last_sequence = ?, update_time = UTC_TIMESTAMP(6) "
                    "WHERE producer = ?",
                    result.cursor, options_.producer);
        if (options_.before_commit_for_testing) options_.before_commit_for_testing(*last);
        return result;
      },
      {.context = "apply events"});
}

}  // namespace crm::events
