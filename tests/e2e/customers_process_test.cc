// End to end: the real crm-customers binary, configured only through its
// environment like a container, against the fixture MariaDB, spoken to over
// gRPC on loopback. Covers start-up validation, health, a durable write,
// SIGTERM shutdown and a crash followed by a restart.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>

#include "crm/customers/v1/customers.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/e2e/service_process.h"

namespace crm {
namespace {

namespace pb = ::crm::customers::v1;
using crm::testing::E2eContext;
using crm::testing::ServiceProcess;

const auth::Principal kManager{"mgr-e2e", auth::Role::kManager, "east"};

class CustomersProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto service = ServiceProcess::Create("customers", CRM_CUSTOMERS_BINARY);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = std::move(*service);
  }

  // Starts the binary and connects once it listens.
  void StartService() {
    ASSERT_TRUE(service_->Start().ok()) << service_->Log();
    stub_ = pb::CustomerService::NewStub(service_->channel());
  }

  grpc::health::v1::HealthCheckResponse::ServingStatus Health() {
    auto health = grpc::health::v1::Health::NewStub(service_->channel());
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    grpc::health::v1::HealthCheckRequest req;
    req.set_service("crm.customers.v1.CustomerService");
    grpc::health::v1::HealthCheckResponse resp;
    if (!health->Check(&ctx, req, &resp).ok()) return grpc::health::v1::HealthCheckResponse::UNKNOWN;
    return resp.status();
  }

  std::unique_ptr<ServiceProcess> service_;
  std::unique_ptr<pb::CustomerService::Stub> stub_;
};

TEST_F(CustomersProcessTest, ServesAndStopsCleanlyOnSigterm) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  EXPECT_EQ(Health(), grpc::health::v1::HealthCheckResponse::SERVING);

  pb::CreateCustomerRequest req;
  req.mutable_customer()->set_kind(pb::INDIVIDUAL);
  req.mutable_customer()->set_display_name("端到端客户");
  pb::Customer created;
  grpc::Status s = stub_->CreateCustomer(E2eContext(kManager).get(), req, &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(created.owner(), "mgr-e2e");

  auto status = service_->Stop(SIGTERM);
  ASSERT_TRUE(status.has_value()) << "still running 30 s after SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  EXPECT_NE(service_->Log().find("\"msg\":\"stopped\""), std::string::npos);
}

// Ctrl-C in a terminal: the same graceful stop as SIGTERM.
TEST_F(CustomersProcessTest, StopsCleanlyOnSigint) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  ASSERT_EQ(Health(), grpc::health::v1::HealthCheckResponse::SERVING);
  auto status = service_->Stop(SIGINT);
  ASSERT_TRUE(status.has_value()) << "still running 30 s after SIGINT";
  EXPECT_TRUE(WIFEXITED(*status)) << "raw wait status " << *status;
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  EXPECT_NE(service_->Log().find("\"msg\":\"stopped\""), std::string::npos) << service_->Log();
}

TEST_F(CustomersProcessTest, SigtermReportsNotServingThenDrainsBeforeStopping) {
  service_->env()["CRM_SHUTDOWN_DRAIN_SECONDS"] = "5";
  ASSERT_NO_FATAL_FAILURE(StartService());
  ASSERT_EQ(Health(), grpc::health::v1::HealthCheckResponse::SERVING);
  service_->Signal(SIGTERM);
  // Health flips at once (bounded wait for the signal to be handled) ...
  const absl::Time until = absl::Now() + absl::Seconds(4);
  while (Health() == grpc::health::v1::HealthCheckResponse::SERVING && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(Health(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  // ... while calls are still served during the drain.
  pb::CreateCustomerRequest req;
  req.mutable_customer()->set_kind(pb::INDIVIDUAL);
  req.mutable_customer()->set_display_name("停机排空期间写入");
  pb::Customer created;
  const grpc::Status s = stub_->CreateCustomer(E2eContext(kManager).get(), req, &created);
  EXPECT_TRUE(s.ok()) << s.error_message();
  auto status = service_->Stop(SIGTERM);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

TEST_F(CustomersProcessTest, MigrateOnlyAppliesTheSchemaAndExits) {
  service_->env()["CRM_MIGRATE_ONLY"] = "true";
  auto status = service_->RunToExit();
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0) << service_->Log();
  EXPECT_NE(service_->Log().find("migrations applied; exiting"), std::string::npos);
  EXPECT_EQ(service_->Log().find("\"msg\":\"listening\""), std::string::npos);
  // The service then starts on the migrated schema and serves.
  service_->env().erase("CRM_MIGRATE_ONLY");
  ASSERT_NO_FATAL_FAILURE(StartService());
  EXPECT_EQ(Health(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(CustomersProcessTest, CommittedDataSurvivesACrash) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  pb::CreateCustomerRequest req;
  req.mutable_customer()->set_kind(pb::INDIVIDUAL);
  req.mutable_customer()->set_display_name("崩溃前写入");
  pb::Customer created;
  ASSERT_TRUE(stub_->CreateCustomer(E2eContext(kManager).get(), req, &created).ok());

  ASSERT_TRUE(service_->Stop(SIGKILL).has_value());
  ASSERT_NO_FATAL_FAILURE(StartService());  // migrations already applied: must start again
  pb::GetCustomerRequest get;
  get.set_name(created.name());
  pb::Customer again;
  grpc::Status s = stub_->GetCustomer(E2eContext(kManager).get(), get, &again);
  // The code too: this failed once, unexplained, with the message not kept.
  ASSERT_TRUE(s.ok()) << "code " << s.error_code() << ": " << s.error_message() << "\n" << service_->Log();
  EXPECT_EQ(again.display_name(), "崩溃前写入");
}

TEST_F(CustomersProcessTest, BadConfigurationStopsStartupWithAClearMessage) {
  service_->env().erase("CRM_DB_USER");
  auto status = service_->RunToExit();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  EXPECT_NE(service_->Log().find("CRM_DB_USER"), std::string::npos);

  service_->env()["CRM_DB_USER"] = "x";
  service_->env()["CRM_DB_POOL_SIZE"] = "not-a-number";
  status = service_->RunToExit();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  EXPECT_NE(service_->Log().find("CRM_DB_POOL_SIZE"), std::string::npos);
}

}  // namespace
}  // namespace crm
