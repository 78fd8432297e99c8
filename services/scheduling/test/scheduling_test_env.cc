#include "services/scheduling/test/scheduling_test_env.h"

#include "common/db/migrations.h"
#include "common/events/outbox.h"
#include "gtest/gtest.h"
#include "services/customers/test/customer_test_env.h"
#include "services/scheduling/src/scheduling_migrations.h"

namespace crm::scheduling::testing {

std::unique_ptr<SchedulingServer> SchedulingServer::Start(const db::DbConfig& db,
                                                          std::shared_ptr<grpc::Channel> customers_channel) {
  std::unique_ptr<SchedulingServer> s(new SchedulingServer());
  s->pool_ = std::make_unique<db::ConnectionPool>(db);
  absl::Status migrated =
      db::ApplyMigrations(*s->pool_, events::WithEventTables(Migrations()), absl::Now() + absl::Seconds(60));
  if (!migrated.ok()) {
    ADD_FAILURE() << migrated;
    return nullptr;
  }
  s->store_ = std::make_unique<MysqlSchedulingStore>(*s->pool_);
  s->verifier_ = customers::testing::NewTestVerifier(s->clock_);
  if (s->verifier_ == nullptr) return nullptr;
  s->tokens_ = std::make_unique<PageTokenCodec>("page-token-test-key");
  s->sites_ = NewGrpcCustomerSites(std::move(customers_channel), absl::Seconds(5));
  s->service_ = std::make_unique<SchedulingService>(*s->store_, *s->sites_, s->clock_, *s->tokens_, s->calendar_,
                                                    ServiceSettings{});
  if (absl::Status seeded = s->service_->SeedCarePolicies(absl::Now() + absl::Seconds(10)); !seeded.ok()) {
    ADD_FAILURE() << seeded;
    return nullptr;
  }
  s->handler_ = std::make_unique<SchedulingHandler>(*s->service_, *s->verifier_);
  customers::testing::StartedServer started =
      customers::testing::StartTestServer({s->handler_.get()}, {"crm.scheduling.v1.SchedulingService"});
  if (started.server == nullptr) return nullptr;
  s->server_ = std::move(started.server);
  s->channel_ = started.channel;
  s->stub_ = pb::SchedulingService::NewStub(s->channel_);
  return s;
}

SchedulingServer::~SchedulingServer() {
  if (server_) server_->Shutdown();
}

}  // namespace crm::scheduling::testing
