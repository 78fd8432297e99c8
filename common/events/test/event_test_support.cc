#include "common/events/test/event_test_support.h"

#include <google/protobuf/wrappers.pb.h>

#include "absl/strings/str_cat.h"
#include "common/auth/token_minter.h"
#include "common/db/sql.h"
#include "common/db/transaction.h"
#include "common/events/outbox.h"
#include "common/util/clock.h"

namespace crm::events::testing {

std::vector<db::Migration> ProducerMigrations() {
  return WithEventTables({{"V001__orders.sql", R"sql(
CREATE TABLE IF NOT EXISTS orders (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  note VARCHAR(255) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
)sql"}});
}

std::vector<db::Migration> ConsumerMigrations() {
  return WithEventTables({{"V001__effects.sql", R"sql(
CREATE TABLE IF NOT EXISTS effects (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  producer VARCHAR(64) NOT NULL,
  sequence BIGINT NOT NULL,
  note VARCHAR(255) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
)sql"}});
}

int64_t PlaceOrderIn(sql::Connection& conn, const std::string& note) {
  db::Execute(conn, "INSERT INTO orders (note) VALUES (?)", note);
  google::protobuf::StringValue payload;
  payload.set_value(note);
  return AppendEvent(conn, absl::StrCat("orders/", db::LastInsertId(conn)), payload, absl::Now());
}

absl::StatusOr<int64_t> PlaceOrder(db::ConnectionPool& pool, const std::string& note) {
  return db::RunInTransaction(pool, absl::Now() + absl::Seconds(30),
                              [&](sql::Connection& conn) -> absl::StatusOr<int64_t> {
                                return PlaceOrderIn(conn, note);
                              });
}

absl::Status RecordEffect(sql::Connection& conn, const v1::Event& event) {
  google::protobuf::StringValue payload;
  if (!event.payload().UnpackTo(&payload)) {
    return absl::InvalidArgumentError(absl::StrCat("event ", event.sequence(), " is not a StringValue"));
  }
  db::Execute(conn, "INSERT INTO effects (producer, sequence, note) VALUES (?, ?, ?)",
              event.producer(), event.sequence(), payload.value());
  return absl::OkStatus();
}

absl::StatusOr<int64_t> QueryInt(db::ConnectionPool& pool, const std::string& query) {
  return db::WithConnection(pool, absl::Now() + absl::Seconds(30),
                            [&](sql::Connection& conn) -> absl::StatusOr<int64_t> {
                              auto rs = db::Query(conn, query);
                              if (!rs->next() || rs->isNull(1)) return int64_t{0};
                              return rs->getInt64(1);
                            });
}

absl::StatusOr<std::string> EffectsSummary(db::ConnectionPool& consumer_pool) {
  return db::WithConnection(
      consumer_pool, absl::Now() + absl::Seconds(30),
      [&](sql::Connection& conn) -> absl::StatusOr<std::string> {
        auto rs = db::Query(conn,
                            "SELECT COUNT(*), COUNT(DISTINCT sequence), COALESCE(MIN(sequence), 0),"
                            " COALESCE(MAX(sequence), 0),"
                            " COALESCE((SELECT last_sequence FROM event_cursors WHERE producer = ?), 0)"
                            " FROM effects WHERE producer = ?",
                            kProducer, kProducer);
        if (!rs->next()) return absl::InternalError("no summary row");
        return absl::StrCat("effects=", rs->getInt64(1), " distinct=", rs->getInt64(2),
                            " min=", rs->getInt64(3), " max=", rs->getInt64(4),
                            " cursor=", rs->getInt64(5));
      });
}

std::string OnceEach(int64_t n) {
  return absl::StrCat("effects=", n, " distinct=", n, " min=", n > 0 ? 1 : 0, " max=", n,
                      " cursor=", n);
}

std::string MintToken(auth::Role role, const std::string& key) {
  auto token = auth::MintHs256Token(key, kIssuer, kAudience,
                                    auth::Principal{"events-test", role, ""}, absl::Now(),
                                    absl::Hours(1));
  return token.ok() ? *token : std::string();
}

absl::StatusOr<std::unique_ptr<FeedServer>> FeedServer::Start(db::ConnectionPool& pool,
                                                              EventFeedOptions options) {
  if (options.producer.empty()) options.producer = kProducer;
  std::unique_ptr<FeedServer> s(new FeedServer());
  auth::AuthConfig auth;
  auth.hs256_key = kTestKey;
  auth.issuer = kIssuer;
  auth.audience = kAudience;
  auto verifier = auth::TokenVerifier::Create(auth, RealClock::Get());
  if (!verifier.ok()) return verifier.status();
  s->verifier_ = std::move(*verifier);
  s->feed_ = std::make_unique<EventFeedService>(pool, *s->verifier_, std::move(options));
  server::ServerOptions server_options;
  server_options.listen_address = "127.0.0.1:0";
  server_options.shutdown_grace = absl::Seconds(2);
  s->server_ = std::make_unique<server::GrpcServer>(
      server_options, std::vector<grpc::Service*>{s->feed_.get()},
      std::vector<std::string>{EventFeedService::kServiceName}, nullptr);
  auto port = s->server_->Start();
  if (!port.ok()) return port.status();
  s->port_ = *port;
  s->channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", *port),
                                    grpc::InsecureChannelCredentials());
  s->stub_ = v1::EventFeed::NewStub(s->channel_);
  return s;
}

FeedServer::~FeedServer() {
  if (server_) server_->Shutdown();
}

absl::StatusOr<std::vector<v1::Event>> ReadWholeFeed(
    v1::EventFeed::Stub& feed, const std::function<std::unique_ptr<grpc::ClientContext>()>& context) {
  std::vector<v1::Event> all;
  v1::ListEventsRequest req;
  req.set_page_size(1000);
  while (true) {
    v1::ListEventsResponse page;
    auto ctx = context();
    grpc::Status status = feed.ListEvents(ctx.get(), req, &page);
    if (!status.ok()) return absl::UnknownError(absl::StrCat("ListEvents: ", status.error_message()));
    all.insert(all.end(), page.events().begin(), page.events().end());
    if (page.events().empty() || page.events().rbegin()->sequence() >= page.head_sequence()) return all;
    req.set_after_sequence(page.events().rbegin()->sequence());
  }
}

}  // namespace crm::events::testing
