#include "services/customers/test/customer_test_env.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "absl/strings/str_format.h"
#include "common/auth/token_minter.h"
#include "common/db/migrations.h"
#include "common/events/outbox.h"
#include "common/events/test/event_test_support.h"
#include "services/customers/src/customer_migrations.h"

namespace crm::customers::testing {

std::unique_ptr<auth::TokenVerifier> NewTestVerifier(const Clock& clock) {
  auth::AuthConfig auth;
  auth.hs256_key = kTestKey;
  auth.issuer = kIssuer;
  auth.audience = kAudience;
  auto verifier = auth::TokenVerifier::Create(auth, clock);
  if (!verifier.ok()) {
    ADD_FAILURE() << verifier.status();
    return nullptr;
  }
  return *std::move(verifier);
}

server::ServerOptions TestServerOptions() {
  server::ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.max_threads = 16;
  options.health_probe_interval = absl::Milliseconds(100);
  options.shutdown_grace = absl::Seconds(2);
  return options;
}

StartedServer StartTestServer(std::vector<grpc::Service*> services, std::vector<std::string> health_names,
                              std::function<absl::Status()> readiness) {
  StartedServer started;
  started.server = std::make_unique<server::GrpcServer>(TestServerOptions(), std::move(services),
                                                        std::move(health_names), std::move(readiness));
  absl::StatusOr<int> port = started.server->Start();
  if (!port.ok()) {
    ADD_FAILURE() << port.status();
    started.server.reset();
    return started;
  }
  started.port = *port;
  started.channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", *port), grpc::InsecureChannelCredentials());
  return started;
}

std::unique_ptr<CustomersServer> CustomersServer::Start(const db::DbConfig& db) {
  std::unique_ptr<CustomersServer> s(new CustomersServer());
  s->pool_ = std::make_unique<db::ConnectionPool>(db);
  absl::Status migrated = db::ApplyMigrations(*s->pool_, events::WithEventTables(Migrations()), absl::Now() + absl::Seconds(60));
  if (!migrated.ok()) {
    ADD_FAILURE() << migrated;
    return nullptr;
  }
  s->verifier_ = NewTestVerifier(s->clock_);
  if (s->verifier_ == nullptr) return nullptr;
  s->tokens_ = std::make_unique<PageTokenCodec>("page-token-test-key");
  s->repo_ = std::make_unique<MysqlCustomerRepository>(*s->pool_);
  s->service_ = std::make_unique<CustomerService>(*s->repo_, s->clock_, *s->tokens_);
  s->handler_ = std::make_unique<CustomerHandler>(*s->service_, *s->verifier_);
  s->feed_ = std::make_unique<events::EventFeedService>(*s->pool_, *s->verifier_,
                                                         events::EventFeedOptions{.producer = "customers"});
  db::ConnectionPool* pool = s->pool_.get();
  StartedServer started = StartTestServer(
      {s->handler_.get(), s->feed_.get()}, {"crm.customers.v1.CustomerService", events::EventFeedService::kServiceName},
      [pool] {
        absl::Status st = pool->Ping(absl::Now() + absl::Seconds(1));
        return st.code() == absl::StatusCode::kDeadlineExceeded ? absl::OkStatus() : st;
      });
  if (started.server == nullptr) return nullptr;
  s->server_ = std::move(started.server);
  s->port_ = started.port;
  s->channel_ = started.channel;
  s->stub_ = pb::CustomerService::NewStub(s->channel_);
  return s;
}

std::vector<events::v1::Event> CustomersServer::Events() const {
  auto feed = events::v1::EventFeed::NewStub(channel_);
  auto all = events::testing::ReadWholeFeed(*feed, [this] { return As(auth::Role::kService, "svc-test", ""); });
  if (!all.ok()) ADD_FAILURE() << all.status();
  return all.ok() ? *std::move(all) : std::vector<events::v1::Event>{};
}

CustomersServer::~CustomersServer() {
  if (server_) server_->Shutdown();
}

std::string CustomersServer::Token(auth::Role role, const std::string& subject,
                                   const std::string& team, absl::Time now,
                                   absl::Duration ttl) const {
  auto token = auth::MintHs256Token(kTestKey, kIssuer, kAudience, auth::Principal{subject, role, team},
                                    now, ttl);
  return token.ok() ? *token : std::string();
}

std::unique_ptr<grpc::ClientContext> CustomersServer::WithToken(const std::string& token) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  return ctx;
}

std::unique_ptr<grpc::ClientContext> CustomersServer::As(auth::Role role, const std::string& subject,
                                                         const std::string& team) const {
  return WithToken(Token(role, subject, team, clock_.Now(), absl::Hours(1)));
}

std::string WithCheckDigit(const std::string& first17) {
  static constexpr absl::string_view kChars = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  static constexpr int kWeights[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += static_cast<int>(kChars.find(first17[i])) * kWeights[i];
  int check = 31 - sum % 31;
  if (check == 31) check = 0;
  return first17 + kChars[check];
}

pb::Customer Enterprise(const std::string& display_name, int n) {
  pb::Customer c;
  c.set_kind(pb::ENTERPRISE);
  c.set_display_name(display_name);
  c.set_credit_code(WithCheckDigit(absl::StrFormat("91350100%09d", n)));
  c.set_industry("制造业");
  c.set_address("福建省福州市鼓楼区五四路 1 号");
  c.mutable_location()->set_latitude(26.08);
  c.mutable_location()->set_longitude(119.30);
  c.mutable_annual_revenue()->set_currency_code("CNY");
  c.mutable_annual_revenue()->set_units(1000000 + n);
  c.set_employee_count(100 + n);
  c.set_qualification_rating("AA");
  c.set_phone("0591-87654321");
  return c;
}

pb::Customer RepositoryIndividual(const std::string& display_name) {
  pb::Customer c;
  c.set_kind(pb::INDIVIDUAL);
  c.set_display_name(display_name);
  c.set_status(pb::ACTIVE);
  c.set_owner("mgr-li");
  c.set_team("east");
  return c;
}

}  // namespace crm::customers::testing
