// End to end: the real crm-customers binary, configured only through its
// environment like a container, against the fixture MariaDB, spoken to over
// gRPC on loopback. Covers start-up validation, health, a durable write,
// SIGTERM shutdown and a crash followed by a restart.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/auth/token_minter.h"
#include "common/testing/process.h"
#include "common/testing/test_database.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"

namespace crm {
namespace {

namespace pb = ::crm::customers::v1;
using crm::testing::ChildProcess;

constexpr char kKey[] = "e2e-test-hs256-key-0123456789abcdef0123";

std::string WriteFile(const std::string& name, const std::string& content) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << content;
  return path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class CustomersProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = crm::testing::TestDatabase::Create();
    ASSERT_TRUE(db.ok()) << db.status();
    db_.emplace(std::move(*db));
    const auto& c = db_->config();
    const std::string tag = absl::StrCat(getpid(), "_", c.database);
    port_file_ = ::testing::TempDir() + "customers-" + tag + ".port";
    log_file_ = ::testing::TempDir() + "customers-" + tag + ".log";
    env_ = {{"CRM_LISTEN_ADDRESS", "127.0.0.1:0"},
            {"CRM_PORT_FILE", port_file_},
            {"CRM_DB_HOST", c.host},
            {"CRM_DB_PORT", absl::StrCat(c.port)},
            {"CRM_DB_USER", c.user},
            {"CRM_DB_NAME", c.database},
            {"CRM_DB_PASSWORD_FILE", WriteFile("db-" + tag + ".password", c.password)},
            {"CRM_JWT_HS256_KEY_FILE", WriteFile("jwt-" + tag + ".key", kKey)},
            {"CRM_JWT_ISSUER", "crm-e2e"},
            {"CRM_HEALTH_PROBE_MS", "100"},
            {"CRM_SHUTDOWN_GRACE_SECONDS", "5"}};
  }

  void TearDown() override {
    if (HasFailure()) std::cerr << "service log:\n" << ReadFile(log_file_);
    for (const std::string& f : {port_file_, log_file_, env_["CRM_DB_PASSWORD_FILE"],
                                 env_["CRM_JWT_HS256_KEY_FILE"]}) {
      std::remove(f.c_str());
    }
  }

  // Starts the binary and connects once it listens and reports SERVING.
  std::unique_ptr<ChildProcess> StartService() {
    std::remove(port_file_.c_str());
    auto child = ChildProcess::Start({CRM_CUSTOMERS_BINARY}, env_, log_file_);
    EXPECT_TRUE(child.ok()) << child.status();
    if (!child.ok()) return nullptr;
    auto port = crm::testing::WaitForFileLine(port_file_, absl::Seconds(60));
    EXPECT_TRUE(port.has_value()) << ReadFile(log_file_);
    if (!port) return nullptr;
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", *port), grpc::InsecureChannelCredentials());
    stub_ = pb::CustomerService::NewStub(channel_);
    return std::move(*child);
  }

  grpc::health::v1::HealthCheckResponse::ServingStatus Health() {
    auto health = grpc::health::v1::Health::NewStub(channel_);
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    grpc::health::v1::HealthCheckRequest req;
    req.set_service("crm.customers.v1.CustomerService");
    grpc::health::v1::HealthCheckResponse resp;
    if (!health->Check(&ctx, req, &resp).ok()) return grpc::health::v1::HealthCheckResponse::UNKNOWN;
    return resp.status();
  }

  std::unique_ptr<grpc::ClientContext> Context() {
    auto token = auth::MintHs256Token(kKey, "crm-e2e", "crm", {"mgr-e2e", auth::Role::kManager, "east"},
                                      absl::Now(), absl::Hours(1));
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", absl::StrCat("Bearer ", *token));
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    return ctx;
  }

  std::optional<crm::testing::TestDatabase> db_;
  std::map<std::string, std::string> env_;
  std::string port_file_, log_file_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::CustomerService::Stub> stub_;
};

TEST_F(CustomersProcessTest, ServesAndStopsCleanlyOnSigterm) {
  auto service = StartService();
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(Health(), grpc::health::v1::HealthCheckResponse::SERVING);

  pb::CreateCustomerRequest req;
  req.mutable_customer()->set_kind(pb::INDIVIDUAL);
  req.mutable_customer()->set_display_name("端到端客户");
  pb::Customer created;
  grpc::Status s = stub_->CreateCustomer(Context().get(), req, &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(created.owner(), "mgr-e2e");

  service->Signal(SIGTERM);
  auto status = service->WaitFor(absl::Seconds(30));
  ASSERT_TRUE(status.has_value()) << "still running 30 s after SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  EXPECT_NE(ReadFile(log_file_).find("\"msg\":\"stopped\""), std::string::npos);
}

TEST_F(CustomersProcessTest, CommittedDataSurvivesACrash) {
  auto service = StartService();
  ASSERT_NE(service, nullptr);
  pb::CreateCustomerRequest req;
  req.mutable_customer()->set_kind(pb::INDIVIDUAL);
  req.mutable_customer()->set_display_name("崩溃前写入");
  pb::Customer created;
  ASSERT_TRUE(stub_->CreateCustomer(Context().get(), req, &created).ok());

  service->Signal(SIGKILL);
  ASSERT_TRUE(service->WaitFor(absl::Seconds(30)).has_value());
  service = StartService();  // migrations already applied: must start again
  ASSERT_NE(service, nullptr);
  pb::GetCustomerRequest get;
  get.set_name(created.name());
  pb::Customer again;
  grpc::Status s = stub_->GetCustomer(Context().get(), get, &again);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(again.display_name(), "崩溃前写入");
}

TEST_F(CustomersProcessTest, BadConfigurationStopsStartupWithAClearMessage) {
  env_.erase("CRM_DB_USER");
  auto child = ChildProcess::Start({CRM_CUSTOMERS_BINARY}, env_, log_file_);
  ASSERT_TRUE(child.ok());
  auto status = (*child)->WaitFor(absl::Seconds(30));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  EXPECT_NE(ReadFile(log_file_).find("CRM_DB_USER"), std::string::npos);

  env_["CRM_DB_USER"] = "x";
  env_["CRM_DB_POOL_SIZE"] = "not-a-number";
  auto bad_number = ChildProcess::Start({CRM_CUSTOMERS_BINARY}, env_, log_file_);
  ASSERT_TRUE(bad_number.ok());
  status = (*bad_number)->WaitFor(absl::Seconds(30));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  EXPECT_NE(ReadFile(log_file_).find("CRM_DB_POOL_SIZE"), std::string::npos);
}

}  // namespace
}  // namespace crm
