#include "services/complaints/test/complaint_test_env.h"

#include "absl/strings/str_cat.h"
#include "common/auth/token_minter.h"
#include "common/client/client.h"
#include "common/db/migrations.h"
#include "common/events/outbox.h"
#include "common/events/test/event_test_support.h"
#include "gtest/gtest.h"
#include "services/complaints/src/complaint_migrations.h"
#include "services/customers/test/customer_test_env.h"

namespace crm::complaints::testing {

namespace ctest = ::crm::customers::testing;

class ComplaintsServer::SwitchableStandings final : public CustomerStandings {
 public:
  explicit SwitchableStandings(std::unique_ptr<CustomerStandings> real) : real_(std::move(real)) {}
  absl::StatusOr<CustomerStanding> Lookup(const client::Caller& caller, const std::string& customer,
                                          const std::string& contact) override {
    if (down_) return absl::UnavailableError("customers service unavailable: stopped by the test");
    return real_->Lookup(caller, customer, contact);
  }
  std::atomic<bool> down_{false};

 private:
  std::unique_ptr<CustomerStandings> real_;
};

void ComplaintsServer::set_customers_down(bool down) { customers_->down_ = down; }

std::unique_ptr<ComplaintsServer> ComplaintsServer::Start(const db::DbConfig& db,
                                                          const std::string& customers_target) {
  std::unique_ptr<ComplaintsServer> s(new ComplaintsServer());
  s->pool_ = std::make_unique<db::ConnectionPool>(db);
  absl::Status migrated = db::ApplyMigrations(*s->pool_, events::WithEventTables(Migrations()),
                                              absl::Now() + absl::Seconds(60));
  s->repo_ = std::make_unique<MysqlComplaintRepository>(*s->pool_);
  if (migrated.ok()) migrated = s->repo_->SeedPolicies(absl::Now() + absl::Seconds(30), DefaultPolicies());
  if (!migrated.ok()) {
    ADD_FAILURE() << migrated;
    return nullptr;
  }
  s->verifier_ = ctest::NewTestVerifier(s->clock_);
  if (s->verifier_ == nullptr) return nullptr;
  s->tokens_ = std::make_unique<PageTokenCodec>("page-token-test-key");
  client::ChannelOptions channel;
  channel.initial_backoff = absl::Milliseconds(20);
  s->customers_ =
      std::make_unique<SwitchableStandings>(NewGrpcCustomerStandings(client::MakeChannel(customers_target, channel)));
  ServiceSettings settings;
  settings.lookup_timeout = absl::Seconds(1);
  s->service_ = std::make_unique<ComplaintService>(*s->repo_, *s->customers_, s->clock_, *s->tokens_,
                                                   s->calendar_, settings);
  s->handler_ = std::make_unique<ComplaintHandler>(*s->service_, *s->verifier_);
  s->feed_ = std::make_unique<events::EventFeedService>(*s->pool_, *s->verifier_,
                                                        events::EventFeedOptions{.producer = "complaints"});
  ctest::StartedServer started =
      ctest::StartTestServer({s->handler_.get(), s->feed_.get()}, {"crm.complaints.v1.ComplaintService"});
  if (started.server == nullptr) return nullptr;
  s->server_ = std::move(started.server);
  s->channel_ = started.channel;
  s->stub_ = pb::ComplaintService::NewStub(s->channel_);
  s->feed_stub_ = events::v1::EventFeed::NewStub(s->channel_);
  return s;
}

ComplaintsServer::ComplaintsServer() : clock_(kStart) {}

ComplaintsServer::~ComplaintsServer() {
  if (server_) server_->Shutdown();
}

std::vector<events::v1::Event> ComplaintsServer::Events() {
  auto all = events::testing::ReadWholeFeed(*feed_stub_, [] { return As(auth::Role::kService, "svc-test", ""); });
  if (!all.ok()) ADD_FAILURE() << all.status();
  return all.ok() ? *std::move(all) : std::vector<events::v1::Event>{};
}

std::string ComplaintsServer::Token(auth::Role role, const std::string& subject, const std::string& team) {
  auto token = auth::MintHs256Token(ctest::kTestKey, ctest::kIssuer, ctest::kAudience,
                                    auth::Principal{subject, role, team}, kStart, absl::Hours(24 * 200));
  return token.ok() ? *token : "";
}

std::unique_ptr<grpc::ClientContext> ComplaintsServer::As(auth::Role role, const std::string& subject,
                                                          const std::string& team) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", absl::StrCat("Bearer ", Token(role, subject, team)));
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  return ctx;
}

}  // namespace crm::complaints::testing
