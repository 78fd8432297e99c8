// The HTTP/JSON front in-process against a real customers server (MariaDB):
// an HTTP client creates and reads customers through the gateway's routes,
// and the errors come back as JSON with the right status codes.

#include "services/gateway/src/http_front.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <httplib.h>

#include <cstdio>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/testing/test_database.h"
#include "crm/customers/v1/customers.pb.h"
#include "gtest/gtest.h"
#include "services/customers/test/customer_test_env.h"

namespace crm::gateway {
namespace {

namespace pb = crm::customers::v1;
namespace gpb = google::protobuf;
using auth::Role;
using customers::testing::CustomersServer;

gpb::Struct Json(const std::string& body) {
  gpb::Struct out;
  EXPECT_TRUE(gpb::util::JsonStringToMessage(body, &out).ok()) << body;
  return out;
}

class HttpFrontTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = crm::testing::TestDatabase::Create();
    ASSERT_TRUE(db.ok()) << db.status();
    db_.emplace(std::move(*db));
    server_ = CustomersServer::Start(db_->config());
    ASSERT_NE(server_, nullptr);
    verifier_ = customers::testing::NewTestVerifier(server_->clock());
    door_ = std::make_unique<Door>(*verifier_, DoorOptions{}, server_->clock());
    backends_ = std::make_unique<Backends>(std::vector<Backend>{
        {"customers", "crm.customers.v1", absl::StrCat("127.0.0.1:", server_->port()), server_->channel()}});
    auto routes = HttpRoutes::ForServices({pb::Customer::descriptor()->file()->FindServiceByName("CustomerService")});
    ASSERT_TRUE(routes.ok()) << routes.status();
    routes_ = *std::move(routes);
    views_ = std::make_unique<Views>(*backends_, server_->clock(), ViewsOptions{});
    front_ = std::make_unique<HttpFront>(*routes_, *backends_, *door_, *views_, HttpFrontOptions{});
    auto port = front_->Start("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
  }

  httplib::Headers As(Role role, const std::string& subject) const {
    return {{"Authorization",
             absl::StrCat("Bearer ", server_->Token(role, subject, "east", server_->clock().Now(),
                                                   absl::Minutes(10)))}};
  }

  std::optional<crm::testing::TestDatabase> db_;
  std::unique_ptr<CustomersServer> server_;
  std::unique_ptr<auth::TokenVerifier> verifier_;
  std::unique_ptr<Door> door_;
  std::unique_ptr<Backends> backends_;
  std::unique_ptr<HttpRoutes> routes_;
  std::unique_ptr<Views> views_;
  std::unique_ptr<HttpFront> front_;
  std::unique_ptr<httplib::Client> client_;
  int port_ = 0;
};

std::string CustomerJson(const pb::Customer& customer) {
  std::string json;
  EXPECT_TRUE(gpb::util::MessageToJsonString(customer, &json).ok());
  return json;
}

TEST_F(HttpFrontTest, CreateThenGetThenErrors) {
  const pb::Customer enterprise = customers::testing::Enterprise("福州闽江科技有限公司", 1);
  auto created = client_->Post("/v1/customers?requestId=r-1", As(Role::kManager, "alice"),
                               CustomerJson(enterprise), "application/json");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 200) << created->body;
  const std::string name = Json(created->body).fields().at("name").string_value();
  EXPECT_EQ(name.rfind("customers/", 0), 0u) << created->body;
  EXPECT_EQ(Json(created->body).fields().at("displayName").string_value(), "福州闽江科技有限公司");

  auto got = client_->Get(absl::StrCat("/v1/", name).c_str(), As(Role::kManager, "alice"));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200) << got->body;
  EXPECT_EQ(Json(got->body).fields().at("name").string_value(), name);
  EXPECT_EQ(got->get_header_value("Content-Type"), "application/json");

  // A refused field: 400 with the field violation from the service.
  pb::Customer bad = customers::testing::Enterprise("", 2);
  bad.set_credit_code("91350100M000100Y44");
  auto refused = client_->Post("/v1/customers", As(Role::kManager, "alice"), CustomerJson(bad), "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400) << refused->body;
  gpb::Struct error = Json(refused->body);
  EXPECT_EQ(error.fields().at("status").string_value(), "INVALID_ARGUMENT");
  EXPECT_EQ(error.fields().at("code").number_value(), 3);
  EXPECT_NE(refused->body.find("customer.credit_code"), std::string::npos) << refused->body;

  // JSON that is not a Customer: 400 naming the field, before any call.
  auto bad_json = client_->Post("/v1/customers", As(Role::kManager, "alice"), R"({"kind": 7.5})", "application/json");
  ASSERT_TRUE(bad_json);
  EXPECT_EQ(bad_json->status, 400) << bad_json->body;
  EXPECT_NE(bad_json->body.find("customer.kind"), std::string::npos) << bad_json->body;

  // No token: 401 at the door.
  auto anonymous = client_->Get(absl::StrCat("/v1/", name).c_str());
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401) << anonymous->body;
  EXPECT_EQ(Json(anonymous->body).fields().at("status").string_value(), "UNAUTHENTICATED");

  // Another manager's customer: 404, as over gRPC.
  auto other = client_->Get(absl::StrCat("/v1/", name).c_str(), As(Role::kManager, "bob"));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404) << other->body;

  // Unknown route.
  auto unknown = client_->Get("/v1/nothing", As(Role::kManager, "alice"));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);

  // The list shows alice's customer; metrics count the calls.
  auto list = client_->Get("/v1/customers?pageSize=10", As(Role::kManager, "alice"));
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 200) << list->body;
  EXPECT_EQ(Json(list->body).fields().at("customers").list_value().values_size(), 1);
  auto metrics = client_->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("GetCustomer"), std::string::npos) << metrics->body;
}

TEST_F(HttpFrontTest, OpenApiAndHealth) {
  auto health = client_->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto openapi = client_->Get("/openapi.json");
  ASSERT_TRUE(openapi);
  EXPECT_EQ(openapi->status, 200);
  EXPECT_TRUE(Json(openapi->body).fields().at("paths").struct_value().fields().contains("/v1/customers"));
}

TEST_F(HttpFrontTest, CurlReadsACustomer) {
  if (std::system("command -v curl >/dev/null 2>&1") != 0) GTEST_SKIP() << "curl is not installed";
  const pb::Customer enterprise = customers::testing::Enterprise("福建海峡实业有限公司", 3);
  auto created = client_->Post("/v1/customers", As(Role::kManager, "alice"), CustomerJson(enterprise),
                               "application/json");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 200) << created->body;
  const std::string name = Json(created->body).fields().at("name").string_value();
  const std::string command =
      absl::StrCat("curl -s -w '\\n%{http_code}' -H '", As(Role::kManager, "alice").begin()->first, ": ",
                   As(Role::kManager, "alice").begin()->second, "' http://127.0.0.1:", port_, "/v1/", name);
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  ASSERT_EQ(pclose(pipe), 0) << out;
  size_t newline = out.rfind('\n');
  ASSERT_NE(newline, std::string::npos) << out;
  EXPECT_EQ(out.substr(newline + 1), "200") << out;
  EXPECT_EQ(Json(out.substr(0, newline)).fields().at("name").string_value(), name);
}

}  // namespace
}  // namespace crm::gateway
