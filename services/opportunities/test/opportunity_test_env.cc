#include "services/opportunities/test/opportunity_test_env.h"

#include "absl/strings/str_cat.h"
#include "common/auth/token_minter.h"
#include "common/client/client.h"
#include "common/db/migrations.h"
#include "common/events/outbox.h"
#include "gtest/gtest.h"
#include "services/customers/test/customer_test_env.h"
#include "services/opportunities/src/customer_directory.h"
#include "services/opportunities/src/customer_events_consumer.h"
#include "services/opportunities/src/opportunity_migrations.h"

namespace crm::opportunities::testing {

namespace ctest = ::crm::customers::testing;

std::unique_ptr<OpportunitiesServer> OpportunitiesServer::Start(const db::DbConfig& db,
                                                                const std::string& customers_target) {
  std::unique_ptr<OpportunitiesServer> s(new OpportunitiesServer());
  s->pool_ = std::make_unique<db::ConnectionPool>(db);
  absl::Status migrated = db::ApplyMigrations(*s->pool_, events::WithEventTables(Migrations()),
                                              absl::Now() + absl::Seconds(60));
  if (!migrated.ok()) {
    ADD_FAILURE() << migrated;
    return nullptr;
  }
  s->verifier_ = ctest::NewTestVerifier(s->clock_);
  if (s->verifier_ == nullptr) return nullptr;
  s->tokens_ = std::make_unique<PageTokenCodec>("page-token-test-key");
  client::ChannelOptions channel;
  channel.initial_backoff = absl::Milliseconds(20);
  s->customers_ = NewGrpcCustomerDirectory(client::MakeChannel(customers_target, channel));
  s->repo_ = std::make_unique<MysqlOpportunityRepository>(*s->pool_);
  s->service_ = std::make_unique<OpportunityService>(*s->repo_, *s->customers_, s->clock_, *s->tokens_,
                                                     s->calendar_, DeadlinePolicy{});
  s->handler_ = std::make_unique<OpportunityHandler>(*s->service_, *s->verifier_);
  s->feed_ = std::make_unique<events::EventFeedService>(*s->pool_, *s->verifier_,
                                                        events::EventFeedOptions{.producer = "opportunities"});
  ctest::StartedServer started =
      ctest::StartTestServer({s->handler_.get(), s->feed_.get()}, {"crm.opportunities.v1.OpportunityService"});
  if (started.server == nullptr) return nullptr;
  s->server_ = std::move(started.server);
  s->channel_ = started.channel;
  s->stub_ = pb::OpportunityService::NewStub(s->channel_);
  s->feed_stub_ = events::v1::EventFeed::NewStub(s->channel_);
  return s;
}

OpportunitiesServer::~OpportunitiesServer() {
  if (server_) server_->Shutdown();
}

std::unique_ptr<events::Consumer> OpportunitiesServer::FollowCustomers(const std::string& customers_target) {
  auto token = auth::MintHs256Token(ctest::kTestKey, ctest::kIssuer, ctest::kAudience,
                                    auth::Principal{"crm-opportunities", auth::Role::kService, ""}, kStart,
                                    absl::Hours(24 * 200));
  EXPECT_TRUE(token.ok()) << token.status();
  return NewCustomerEventsConsumer(*pool_, *repo_, clock_,
                                   grpc::CreateChannel(customers_target, grpc::InsecureChannelCredentials()),
                                   [t = token.ok() ? *token : ""] { return t; });
}

std::unique_ptr<grpc::ClientContext> OpportunitiesServer::As(auth::Role role, const std::string& subject,
                                                             const std::string& team) {
  // Issued at the common start time, valid long enough for tests that move
  // the opportunities clock forward by months.
  auto token = auth::MintHs256Token(ctest::kTestKey, ctest::kIssuer, ctest::kAudience,
                                    auth::Principal{subject, role, team}, kStart, absl::Hours(24 * 200));
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token.ok() ? *token : ""));
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  return ctx;
}

}  // namespace crm::opportunities::testing
