#pragma once
// Shared by the event backbone's integration and process tests and their
// producer/consumer binaries: a producer whose business rows are "orders"
// (each order's event carries its note as a google.protobuf.StringValue),
// a consumer whose effect is one "effects" row per event, tokens, and the
// feed served on a loopback port.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "common/auth/principal.h"
#include "common/auth/token_verifier.h"
#include "common/db/migrations.h"
#include "common/db/pool.h"
#include "common/events/feed_service.h"
#include "common/server/server.h"
#include "crm/events/v1/events.grpc.pb.h"

namespace sql {
class Connection;
}

namespace crm::events::testing {

inline constexpr char kTestKey[] = "events-test-hs256-key-0123456789abcdef";
inline constexpr char kIssuer[] = "crm-events-test";
inline constexpr char kAudience[] = "crm";
inline constexpr char kProducer[] = "test-producer";

// orders(id, note) plus the event tables.
std::vector<db::Migration> ProducerMigrations();
// effects(id, producer, sequence, note) plus the event tables. No unique
// key on purpose: an effect applied twice shows up as a second row.
std::vector<db::Migration> ConsumerMigrations();

// Inserts an order and appends its event in one transaction; the sequence.
absl::StatusOr<int64_t> PlaceOrder(db::ConnectionPool& pool, const std::string& note);
// The business write and the append, inside the caller's transaction.
int64_t PlaceOrderIn(sql::Connection& conn, const std::string& note);

// The consumer's handler: one effects row per event.
absl::Status RecordEffect(sql::Connection& conn, const v1::Event& event);

// What the consumer database holds for kProducer, as
// "effects=… distinct=… min=… max=… cursor=…"; compare with OnceEach(n).
absl::StatusOr<std::string> EffectsSummary(db::ConnectionPool& consumer_pool);
// The summary when events 1..n were each applied exactly once.
std::string OnceEach(int64_t n);

// A single integer from `query` (COUNT(*), MAX(…)); 0 for NULL.
absl::StatusOr<int64_t> QueryInt(db::ConnectionPool& pool, const std::string& query);

std::string MintToken(auth::Role role, const std::string& key = kTestKey);

// Every event on a feed from the start, page after page; `context` gives
// each call its token and deadline. INTERNAL-free: a failed call ends the
// read with that status.
absl::StatusOr<std::vector<v1::Event>> ReadWholeFeed(
    v1::EventFeed::Stub& feed, const std::function<std::unique_ptr<grpc::ClientContext>()>& context);

// The EventFeed of `pool` on 127.0.0.1:0, verifying tokens signed with kTestKey.
class FeedServer {
 public:
  static absl::StatusOr<std::unique_ptr<FeedServer>> Start(db::ConnectionPool& pool,
                                                           EventFeedOptions options = {});
  ~FeedServer();

  int port() const { return port_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  v1::EventFeed::Stub& stub() { return *stub_; }

 private:
  FeedServer() = default;
  std::unique_ptr<auth::TokenVerifier> verifier_;
  std::unique_ptr<EventFeedService> feed_;
  std::unique_ptr<server::GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::EventFeed::Stub> stub_;
  int port_ = 0;
};

}  // namespace crm::events::testing
