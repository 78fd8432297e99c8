#pragma once
// crm.events.v1.EventFeed, implemented once for every producing service:
// a paged pull of the outbox from a cursor, with optional long-polling.
// A service registers it on its GrpcServer next to its own service:
//
//   events::EventFeedService feed(pool, verifier, {.producer = "opportunities"});
//   server::GrpcServer server(config.server, {&handler, &feed},
//                             {"crm.opportunities.v1.OpportunityService",
//                              events::EventFeedService::kServiceName}, readiness);

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/token_verifier.h"
#include "common/db/pool.h"
#include "crm/events/v1/events.grpc.pb.h"

namespace crm::events {

struct EventFeedOptions {
  // The producing service's name, stamped on every event ("opportunities").
  std::string producer;
  int default_page_size = 100;
  int max_page_size = 1000;
  // A page stops growing past this many payload bytes (at least one event
  // is always returned), well under the server's message size limit.
  int64_t max_page_bytes = 4 << 20;
  // Long-poll: how often an empty feed is re-read while a call waits. The
  // database connection is returned between reads. Commits happen on any
  // replica, so there is no in-process signal to wait on instead.
  absl::Duration poll_interval = absl::Milliseconds(50);
};

class EventFeedService final : public v1::EventFeed::Service {
 public:
  static constexpr char kServiceName[] = "crm.events.v1.EventFeed";

  // `pool` and `verifier` must outlive the service; options.producer must
  // not be empty.
  EventFeedService(db::ConnectionPool& pool, const auth::TokenVerifier& verifier,
                   EventFeedOptions options);

  grpc::Status ListEvents(grpc::ServerContext* context, const v1::ListEventsRequest* request,
                          v1::ListEventsResponse* response) override;

 private:
  // One consistent read: the events after `after_sequence` and the head.
  absl::StatusOr<v1::ListEventsResponse> ReadPage(int64_t after_sequence, int page_size,
                                                  absl::Time deadline) const;

  db::ConnectionPool& pool_;
  const auth::TokenVerifier& verifier_;
  const EventFeedOptions options_;
};

}  // namespace crm::events
