#include "common/events/feed_service.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/db/sql.h"
#include "common/db/transaction.h"
#include "common/server/call.h"
#include "common/status/status.h"
#include "common/status/status_macros.h"
#include "common/util/log.h"
#include "common/util/proto_time.h"

namespace crm::events {
namespace {

constexpr absl::string_view kTypeUrlPrefix = "type.googleapis.com/";
// A long poll ends this long before the call's deadline so that its (empty)
// answer still reaches the client.
constexpr absl::Duration kDeadlineMargin = absl::Milliseconds(500);

absl::Status CheckCaller(const auth::Principal& principal) {
  if (principal.role == auth::Role::kService || principal.role == auth::Role::kAdmin) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError("only SERVICE and ADMIN callers may read the event feed");
}

absl::Status Validate(const v1::ListEventsRequest& request) {
  Violations violations;
  if (request.after_sequence() < 0) violations.Add("after_sequence", "must not be negative");
  if (request.page_size() < 0) violations.Add("page_size", "must not be negative");
  if (request.max_wait().seconds() < 0 || request.max_wait().nanos() < 0 ||
      request.max_wait().nanos() > 999999999) {
    violations.Add("max_wait", "must be a valid, non-negative duration");
  }
  return violations.ToStatus();
}

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

}  // namespace

EventFeedService::EventFeedService(db::ConnectionPool& pool, const auth::TokenVerifier& verifier,
                                   EventFeedOptions options)
    : pool_(pool), verifier_(verifier), options_(std::move(options)) {
  if (options_.producer.empty()) {
    log::Error("EventFeedService needs a producer name");
    std::abort();
  }
}

grpc::Status EventFeedService::ListEvents(grpc::ServerContext* context,
                                          const v1::ListEventsRequest* request,
                                          v1::ListEventsResponse* response) {
  return server::Serve(verifier_, context, "ListEvents", [&](const server::Call& call) -> absl::Status {
    RETURN_IF_ERROR(CheckCaller(call.principal));
    RETURN_IF_ERROR(Validate(*request));
    const int page_size = request->page_size() == 0
                              ? options_.default_page_size
                              : std::min(request->page_size(), options_.max_page_size);
    const absl::Time wait_until =
        std::min(absl::Now() + FromProto(request->max_wait()), call.deadline - kDeadlineMargin);
    while (true) {
      ASSIGN_OR_RETURN(*response, ReadPage(request->after_sequence(), page_size, call.deadline));
      const absl::Time now = absl::Now();
      if (response->events_size() > 0 || now >= wait_until) return absl::OkStatus();
      if (context->IsCancelled()) return absl::CancelledError("the caller went away");
      absl::SleepFor(std::min(options_.poll_interval, wait_until - now));
    }
  });
}

absl::StatusOr<v1::ListEventsResponse> EventFeedService::ReadPage(int64_t after_sequence,
                                                                  int page_size,
                                                                  absl::Time deadline) const {
  // Both reads in one transaction share one InnoDB snapshot, which holds a
  // contiguous prefix of the sequence (see AppendEvent).
  return db::RunInTransaction(
      pool_, deadline,
      [&](sql::Connection& conn) -> absl::StatusOr<v1::ListEventsResponse> {
        v1::ListEventsResponse page;
        {
          auto rs = db::Query(conn, "SELECT last_sequence FROM event_sequence WHERE id = 1");
          if (!rs->next()) return absl::InternalError("event tables are not migrated");
          page.set_head_sequence(rs->getInt64(1));
        }
        if (after_sequence > page.head_sequence()) {
          return absl::FailedPreconditionError(absl::StrCat(
              "cursor ", after_sequence, " is ahead of this feed, whose last event is ",
              page.head_sequence(), " (was the producer's database replaced?)"));
        }
        auto rs = db::Query(conn,
                            "SELECT sequence, type, resource_name, event_time, payload "
                            "FROM event_outbox WHERE sequence > ? ORDER BY sequence LIMIT ?",
                            after_sequence, page_size);
        int64_t bytes = 0;
        while (bytes < options_.max_page_bytes && rs->next()) {
          v1::Event* event = page.add_events();
          event->set_sequence(rs->getInt64("sequence"));
          event->set_type(rs->getString("type"));
          event->set_resource_name(rs->getString("resource_name"));
          ToProto(db::ParseDateTime(rs->getString("event_time")), event->mutable_event_time());
          event->set_producer(options_.producer);
          event->mutable_payload()->set_type_url(absl::StrCat(kTypeUrlPrefix, event->type()));
          event->mutable_payload()->set_value(rs->getString("payload"));
          bytes += static_cast<int64_t>(event->payload().value().size());
        }
        // Sequences are contiguous, so a first event past after+1 (or none
        // while the head is further) means the ones in between were pruned.
        const int64_t first =
            page.events_size() > 0 ? page.events(0).sequence() : page.head_sequence() + 1;
        if (after_sequence < page.head_sequence() && first != after_sequence + 1) {
          return absl::OutOfRangeError(absl::StrCat(
              "events ", after_sequence + 1, "..", first - 1,
              " were pruned; the oldest retained event is ", first,
              ". The consumer missed them and must be re-synchronised."));
        }
        return page;
      },
      {.context = "list events"});
}

}  // namespace crm::events
