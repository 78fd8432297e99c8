#include <grpcpp/grpcpp.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/auth/token_verifier.h"
#include "common/testing/status_matchers.h"
#include "common/util/clock.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/crmctl/args.h"
#include "services/crmctl/dispatch.h"
#include "services/crmctl/members_csv.h"
#include "services/crmctl/rpc.h"

namespace crm::crmctl {
namespace {

namespace v1 = crm::customers::v1;
using ::crm::testing::IsOk;
using ::crm::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

std::string TempFile(const std::string& name, const std::string& contents) {
  const std::string path = ::testing::TempDir() + "/crmctl_" + name;
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

struct Result {
  int exit_code;
  std::string out;
  std::string err;
};

Result RunCrmctl(const GlobalOptions& options, std::vector<std::string> args) {
  std::ostringstream out, err;
  const int code = RunCommand(options, args, out, err);
  return {code, out.str(), err.str()};
}

// ---- Args ----

TEST(ArgsTest, ParsesFlagsAndPositionals) {
  auto args = Args::Parse({"customers/1", "--etag", "e1", "--mask=a,b", "--", "--x"},
                          {"etag", "mask"});
  ASSERT_THAT(args, IsOk());
  EXPECT_THAT(args->positional(), ElementsAre("customers/1", "--x"));
  EXPECT_EQ(args->Get("etag"), "e1");
  EXPECT_EQ(args->Get("mask"), "a,b");
  EXPECT_EQ(args->Get("json"), std::nullopt);
  EXPECT_EQ(args->GetOr("json", "{}"), "{}");
}

TEST(ArgsTest, RefusesUnknownRepeatedAndValuelessFlags) {
  const auto invalid = StatusIs(absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Args::Parse({"--nope", "1"}, {"etag"}), invalid);
  EXPECT_THAT(Args::Parse({"--etag", "1", "--etag=2"}, {"etag"}), invalid);
  EXPECT_THAT(Args::Parse({"--etag"}, {"etag"}), invalid);
}

// ---- Members CSV ----

TEST(MembersCsvTest, ReadsRowsWithHeaderBomQuotesAndProducts) {
  std::istringstream in(
      "\xEF\xBB\xBF"
      "display_name,phone,department,title,brand,products\r\n"
      "张三,13800000001,研发部,工程师,移动,5G套餐; 云盘 ;\r\n"
      "\r\n"
      "\"Li, Si\",13800000002,\"Sales\nEast\",\"The \"\"Boss\"\"\"\n"
      "王五,13800000003\n");
  auto members = ReadMembersCsv(in);
  ASSERT_THAT(members, IsOk());
  ASSERT_EQ(members->size(), 3u);
  EXPECT_EQ((*members)[0].display_name(), "张三");
  EXPECT_EQ((*members)[0].brand(), "移动");
  EXPECT_THAT((*members)[0].products(), ElementsAre("5G套餐", "云盘"));
  EXPECT_EQ((*members)[1].display_name(), "Li, Si");
  EXPECT_EQ((*members)[1].department(), "Sales\nEast");
  EXPECT_EQ((*members)[1].title(), "The \"Boss\"");
  EXPECT_EQ((*members)[2].phone(), "13800000003");
  EXPECT_EQ((*members)[2].department(), "");
  EXPECT_THAT((*members)[2].products(), IsEmpty());
}

TEST(MembersCsvTest, ReportsTheLineOfBadRows) {
  std::istringstream too_wide("a,1\nb,2,d,t,br,p,extra\n");
  EXPECT_THAT(ReadMembersCsv(too_wide),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 2")));
  std::istringstream unterminated("a,1\n\"b,2\n");
  EXPECT_THAT(ReadMembersCsv(unterminated),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 2")));
}

// ---- Output ----

TEST(PrintRpcErrorTest, PrintsCodeMessageAndFieldViolations) {
  google::rpc::BadRequest bad_request;
  auto* v = bad_request.add_field_violations();
  v->set_field("customer.credit_code");
  v->set_description("must be 18 characters");
  google::rpc::Status details;
  details.set_code(3);
  details.set_message("invalid customer");
  details.add_details()->PackFrom(bad_request);
  std::ostringstream err;
  PrintRpcError(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "invalid customer",
                             details.SerializeAsString()),
                err);
  EXPECT_EQ(err.str(),
            "ERROR INVALID_ARGUMENT: invalid customer\n"
            "  customer.credit_code: must be 18 characters\n");
}

TEST(PrintMessageTest, OneObjectPerLine) {
  v1::Customer customer;
  customer.set_name("customers/1");
  customer.set_tier(v1::A1);
  std::ostringstream out;
  PrintMessage(customer, /*pretty=*/false, out);
  EXPECT_EQ(out.str(), "{\"name\":\"customers/1\",\"tier\":\"A1\"}\n");
}

// ---- Usage errors ----

TEST(RunCommandTest, UsageErrorsExitTwo) {
  GlobalOptions options;
  options.address = "127.0.0.1:1";
  EXPECT_EQ(RunCrmctl(options, {}).exit_code, kExitUsage);
  EXPECT_EQ(RunCrmctl(options, {"frobnicate"}).exit_code, kExitUsage);
  EXPECT_EQ(RunCrmctl(options, {"customers", "frobnicate"}).exit_code, kExitUsage);
  EXPECT_EQ(RunCrmctl(options, {"customers", "get"}).exit_code, kExitUsage);
  EXPECT_EQ(RunCrmctl(options, {"customers", "get", "a", "b"}).exit_code, kExitUsage);
  Result missing = RunCrmctl(options, {"customers", "update", "customers/1", "--json", "{}"});
  EXPECT_EQ(missing.exit_code, kExitUsage);
  EXPECT_THAT(missing.err, HasSubstr("missing --mask"));
  Result bad_json = RunCrmctl(options, {"customers", "create", "--json", "{\"nope\":1}"});
  EXPECT_EQ(bad_json.exit_code, kExitUsage);
  EXPECT_THAT(bad_json.err, HasSubstr("crm.customers.v1.Customer"));
  EXPECT_EQ(RunCrmctl(options, {"customers", "list", "--tier", "Z9"}).exit_code, kExitUsage);
  EXPECT_EQ(RunCrmctl(options, {"customers", "list", "--page-size", "-1"}).exit_code, kExitUsage);
  EXPECT_EQ(RunCrmctl(options, {"members", "import", "--parent", "customers/1", "--csv", "/no/such.csv"})
                .exit_code,
            kExitUsage);
  Result help = RunCrmctl(options, {"help"});
  EXPECT_EQ(help.exit_code, kExitOk);
  EXPECT_THAT(help.out, HasSubstr("members import --parent PARENT --csv CSV"));
}

TEST(RunCommandTest, UnreachableServerExitsOne) {
  GlobalOptions options;
  options.address = "127.0.0.1:1";
  options.timeout = absl::Seconds(5);
  Result result = RunCrmctl(options, {"customers", "get", "customers/1"});
  EXPECT_EQ(result.exit_code, kExitFailed);
  EXPECT_THAT(result.err, StartsWith("ERROR UNAVAILABLE"));
}

// ---- token ----

constexpr char kKey[] = "crmctl-test-key-crmctl-test-key-0123456789";

TEST(TokenCommandTest, PrintsATokenTheVerifierAccepts) {
  const std::string key_file = TempFile("key", std::string(kKey) + "\n");
  Result result = RunCrmctl(GlobalOptions(), {"token", "--key-file", key_file, "--subject", "u-7",
                                        "--role", "SUPERVISOR", "--team", "north", "--ttl-hours", "1"});
  ASSERT_EQ(result.exit_code, kExitOk) << result.err;
  ASSERT_FALSE(result.out.empty());
  ASSERT_EQ(result.out.back(), '\n');

  auth::AuthConfig config;
  config.hs256_key = kKey;
  config.issuer = "crm-local";
  config.audience = "crm";
  auto verifier = auth::TokenVerifier::Create(config, RealClock::Get());
  ASSERT_THAT(verifier, IsOk());
  auto principal = (*verifier)->Verify(result.out.substr(0, result.out.size() - 1));
  ASSERT_THAT(principal, IsOk());
  EXPECT_EQ(principal->subject, "u-7");
  EXPECT_EQ(principal->role, auth::Role::kSupervisor);
  EXPECT_EQ(principal->team, "north");

  // Valid for the hour asked for, not longer.
  FakeClock later(absl::Now() + absl::Hours(1) + absl::Minutes(1));
  auto later_verifier = auth::TokenVerifier::Create(config, later);
  ASSERT_THAT(later_verifier, IsOk());
  EXPECT_THAT((*later_verifier)->Verify(result.out.substr(0, result.out.size() - 1)),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(TokenCommandTest, RefusesBadInput) {
  const std::string key_file = TempFile("key2", kKey);
  EXPECT_EQ(RunCrmctl(GlobalOptions(), {"token", "--key-file", key_file, "--subject", "u", "--role", "ROOT"})
                .exit_code,
            kExitUsage);
  EXPECT_EQ(RunCrmctl(GlobalOptions(), {"token", "--key-file", TempFile("short", "short"), "--subject",
                                  "u", "--role", "ADMIN"})
                .exit_code,
            kExitUsage);
  EXPECT_EQ(RunCrmctl(GlobalOptions(), {"token", "--key-file", key_file, "--subject", "u", "--role",
                                  "ADMIN", "--ttl-hours", "0"})
                .exit_code,
            kExitUsage);
}

// ---- Against an in-process fake server ----

class FakeCustomerService final : public v1::CustomerService::Service {
 public:
  grpc::Status GetCustomer(grpc::ServerContext* context, const v1::GetCustomerRequest* request,
                           v1::Customer* response) override {
    RecordAuthorization(*context);
    response->set_name(request->name());
    response->set_display_name("华为技术有限公司");
    return grpc::Status::OK;
  }

  grpc::Status CreateCustomer(grpc::ServerContext*, const v1::CreateCustomerRequest*,
                              v1::Customer*) override {
    google::rpc::BadRequest bad_request;
    auto* v = bad_request.add_field_violations();
    v->set_field("customer.display_name");
    v->set_description("required");
    google::rpc::Status details;
    details.set_code(grpc::StatusCode::INVALID_ARGUMENT);
    details.set_message("invalid customer");
    details.add_details()->PackFrom(bad_request);
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "invalid customer",
                        details.SerializeAsString());
  }

  grpc::Status UpdateCustomer(grpc::ServerContext*, const v1::UpdateCustomerRequest* request,
                              v1::Customer* response) override {
    *response = request->customer();
    response->set_etag(absl::StrJoin(request->update_mask().paths(), "+"));
    return grpc::Status::OK;
  }

  grpc::Status ImportMembers(grpc::ServerContext*,
                             grpc::ServerReader<v1::ImportMembersRequest>* reader,
                             v1::ImportMembersResponse* response) override {
    v1::ImportMembersRequest request;
    absl::MutexLock lock(&mu_);
    while (reader->Read(&request)) {
      parents_.push_back(request.parent());
      batch_sizes_.push_back(request.members_size());
      response->set_imported(response->imported() + request.members_size());
    }
    return grpc::Status::OK;
  }

  std::string authorization() const {
    absl::MutexLock lock(&mu_);
    return authorization_;
  }
  std::vector<std::string> parents() const {
    absl::MutexLock lock(&mu_);
    return parents_;
  }
  std::vector<int> batch_sizes() const {
    absl::MutexLock lock(&mu_);
    return batch_sizes_;
  }

 private:
  void RecordAuthorization(const grpc::ServerContext& context) {
    absl::MutexLock lock(&mu_);
    auto it = context.client_metadata().find("authorization");
    authorization_ =
        it == context.client_metadata().end() ? "" : std::string(it->second.data(), it->second.size());
  }

  mutable absl::Mutex mu_;
  std::string authorization_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> parents_ ABSL_GUARDED_BY(mu_);
  std::vector<int> batch_sizes_ ABSL_GUARDED_BY(mu_);
};

class FakeHealth final : public grpc::health::v1::Health::Service {
 public:
  grpc::Status Check(grpc::ServerContext*, const grpc::health::v1::HealthCheckRequest* request,
                     grpc::health::v1::HealthCheckResponse* response) override {
    response->set_status(request->service().empty()
                             ? grpc::health::v1::HealthCheckResponse::SERVING
                             : grpc::health::v1::HealthCheckResponse::NOT_SERVING);
    return grpc::Status::OK;
  }
};

class CrmctlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&customers_);
    builder.RegisterService(&health_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    options_.address = "127.0.0.1:" + std::to_string(port);
    options_.token = "tok-123";
  }
  void TearDown() override { server_->Shutdown(); }

  FakeCustomerService customers_;
  FakeHealth health_;
  std::unique_ptr<grpc::Server> server_;
  GlobalOptions options_;
};

TEST_F(CrmctlServerTest, GetPrintsJsonAndSendsBearerToken) {
  Result result = RunCrmctl(options_, {"customers", "get", "customers/9"});
  ASSERT_EQ(result.exit_code, kExitOk) << result.err;
  EXPECT_EQ(result.out, "{\"name\":\"customers/9\",\"displayName\":\"华为技术有限公司\"}\n");
  EXPECT_EQ(customers_.authorization(), "Bearer tok-123");
}

TEST_F(CrmctlServerTest, ErrorsPrintFieldViolationsAndExitOne) {
  Result result = RunCrmctl(options_, {"customers", "create", "--json", "{\"kind\":\"ENTERPRISE\"}"});
  EXPECT_EQ(result.exit_code, kExitFailed);
  EXPECT_EQ(result.err,
            "ERROR INVALID_ARGUMENT: invalid customer\n  customer.display_name: required\n");
  EXPECT_EQ(result.out, "");
}

TEST_F(CrmctlServerTest, UpdateSendsNameEtagAndMask) {
  Result result = RunCrmctl(options_, {"customers", "update", "customers/3", "--json",
                                 "{\"displayName\":\"新名\",\"industry\":\"IT\"}", "--mask",
                                 "display_name, industry", "--etag", "ignored-by-fake"});
  ASSERT_EQ(result.exit_code, kExitOk) << result.err;
  EXPECT_THAT(result.out, HasSubstr("\"name\":\"customers/3\""));
  EXPECT_THAT(result.out, HasSubstr("\"etag\":\"display_name+industry\""));
}

TEST_F(CrmctlServerTest, ImportStreamsBatchesOfAThousand) {
  std::string csv = "display_name,phone,department,title,brand,products\n";
  for (int i = 0; i < 2500; ++i) absl::StrAppend(&csv, "员工", i, ",139", i, ",部门,,,\n");
  const std::string path = TempFile("members.csv", csv);
  Result result = RunCrmctl(options_, {"members", "import", "--parent", "customers/5", "--csv", path});
  ASSERT_EQ(result.exit_code, kExitOk) << result.err;
  EXPECT_EQ(result.out, "{\"imported\":\"2500\"}\n");
  EXPECT_THAT(customers_.batch_sizes(), ElementsAre(1000, 1000, 500));
  EXPECT_THAT(customers_.parents(), ElementsAre("customers/5", "", ""));
}

TEST_F(CrmctlServerTest, HealthExitsZeroOnlyWhenServing) {
  Result serving = RunCrmctl(options_, {"health"});
  EXPECT_EQ(serving.exit_code, kExitOk);
  EXPECT_EQ(serving.out, "SERVING\n");
  Result not_serving = RunCrmctl(options_, {"health", "--service", "crm.customers.v1.CustomerService"});
  EXPECT_EQ(not_serving.exit_code, kExitFailed);
  EXPECT_EQ(not_serving.out, "NOT_SERVING\n");
}

TEST_F(CrmctlServerTest, UnimplementedCallReportsCode) {
  Result result = RunCrmctl(options_, {"quality"});
  EXPECT_EQ(result.exit_code, kExitFailed);
  EXPECT_THAT(result.err, StartsWith("ERROR UNIMPLEMENTED"));
}

}  // namespace
}  // namespace crm::crmctl
