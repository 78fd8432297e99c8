// The HTTP/JSON transcoder without a network: route matching, path
// variables, query parameters, bodies, JSON replies and errors, OpenAPI.

#include "services/gateway/src/http_routes.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/status/status.h"
#include "crm/customers/v1/customers.pb.h"
#include "google/api/annotations.pb.h"

namespace crm::gateway {
namespace {

namespace pb = crm::customers::v1;
namespace gpb = google::protobuf;
using ::testing::HasSubstr;

std::unique_ptr<HttpRoutes> CustomerRoutes() {
  auto routes = HttpRoutes::ForServices(
      {pb::Customer::descriptor()->file()->FindServiceByName("CustomerService")});
  EXPECT_TRUE(routes.ok()) << routes.status();
  return *std::move(routes);
}

template <typename T>
const T& As(const RoutedCall& call) {
  return dynamic_cast<const T&>(*call.request);
}

gpb::Struct ParseJson(const std::string& json) {
  gpb::Struct out;
  EXPECT_TRUE(gpb::util::JsonStringToMessage(json, &out).ok()) << json;
  return out;
}

TEST(HttpRoutesTest, EveryUnaryCustomersRpcHasARoute) {
  auto routes = CustomerRoutes();
  // 26 RPCs, ImportMembers is client-streamed and has no route.
  EXPECT_EQ(routes->size(), 25u);
}

TEST(HttpRoutesTest, GetBindsTheNameFromThePath) {
  auto routes = CustomerRoutes();
  auto call = routes->Route("GET", "/v1/customers/42", "", "");
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->grpc_method, "/crm.customers.v1.CustomerService/GetCustomer");
  EXPECT_EQ(As<pb::GetCustomerRequest>(*call).name(), "customers/42");
}

TEST(HttpRoutesTest, NestedResourceNamesAndPercentDecoding) {
  auto routes = CustomerRoutes();
  auto call = routes->Route("GET", "/v1/customers/7/contacts/9", "", "");
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->grpc_method, "/crm.customers.v1.CustomerService/GetContact");
  EXPECT_EQ(As<pb::GetContactRequest>(*call).name(), "customers/7/contacts/9");

  auto encoded = routes->Route("GET", "/v1/customers/a%20b", "", "");
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(As<pb::GetCustomerRequest>(*encoded).name(), "customers/a b");
}

TEST(HttpRoutesTest, UnknownRoutesAndVerbsAreNotFound) {
  auto routes = CustomerRoutes();
  EXPECT_EQ(routes->Route("GET", "/v1/nothing", "", "").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(routes->Route("PUT", "/v1/customers/1", "", "").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(routes->Route("GET", "/v1/customers/1/contacts", "", "").status().code(),
            absl::StatusCode::kOk);
  EXPECT_EQ(routes->Route("GET", "/v1/customers/1/extra/2", "", "").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(routes->Route("POST", "/v1/customers/1:nosuchverb", "", "{}").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(HttpRoutesTest, CustomVerbWithWholeBody) {
  auto routes = CustomerRoutes();
  auto call = routes->Route("POST", "/v1/customers/3:verify", "", R"({"fieldsChecked": 5, "fields_corrected": 1})");
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->grpc_method, "/crm.customers.v1.CustomerService/VerifyCustomer");
  const auto& request = As<pb::VerifyCustomerRequest>(*call);
  EXPECT_EQ(request.name(), "customers/3");
  EXPECT_EQ(request.fields_checked(), 5);
  EXPECT_EQ(request.fields_corrected(), 1);
}

TEST(HttpRoutesTest, BodyFieldAndQueryParameters) {
  auto routes = CustomerRoutes();
  auto call = routes->Route("POST", "/v1/customers", "request_id=r-1",
                            R"({"displayName": "华为", "kind": "ENTERPRISE", "annualRevenue": {"currencyCode": "CNY", "units": "12"}})");
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->grpc_method, "/crm.customers.v1.CustomerService/CreateCustomer");
  const auto& request = As<pb::CreateCustomerRequest>(*call);
  EXPECT_EQ(request.request_id(), "r-1");
  EXPECT_EQ(request.customer().display_name(), "华为");
  EXPECT_EQ(request.customer().kind(), pb::ENTERPRISE);
  EXPECT_EQ(request.customer().annual_revenue().units(), 12);
}

TEST(HttpRoutesTest, QueryParametersOfAList) {
  auto routes = CustomerRoutes();
  auto call = routes->Route("GET", "/v1/customers",
                            "pageSize=20&tier=A1&show_archived=true&name_contains=%E5%8D%8E+x", "");
  ASSERT_TRUE(call.ok()) << call.status();
  const auto& request = As<pb::ListCustomersRequest>(*call);
  EXPECT_EQ(request.page_size(), 20);
  EXPECT_EQ(request.tier(), pb::A1);
  EXPECT_TRUE(request.show_archived());
  EXPECT_EQ(request.name_contains(), "华 x");
}

TEST(HttpRoutesTest, BadQueryParametersAreInvalidArgumentNamingTheParameter) {
  auto routes = CustomerRoutes();
  auto wrong_type = routes->Route("GET", "/v1/customers", "page_size=many", "");
  EXPECT_EQ(wrong_type.status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(FieldViolations(wrong_type.status()).size(), 1u);
  EXPECT_EQ(FieldViolations(wrong_type.status())[0].field, "page_size");

  auto unknown = routes->Route("GET", "/v1/customers", "colour=red", "");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldViolations(unknown.status())[0].field, "colour");

  auto bad_enum = routes->Route("GET", "/v1/customers", "tier=Z9", "");
  EXPECT_EQ(bad_enum.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(HttpRoutesTest, PatchBindsTheNestedNameAndTheMask) {
  auto routes = CustomerRoutes();
  auto call = routes->Route("PATCH", "/v1/customers/5", "updateMask=displayName,phone",
                            R"({"name": "customers/999", "displayName": "新名", "etag": "e1"})");
  ASSERT_TRUE(call.ok()) << call.status();
  const auto& request = As<pb::UpdateCustomerRequest>(*call);
  EXPECT_EQ(request.customer().name(), "customers/5");  // the path wins over the body
  EXPECT_EQ(request.customer().display_name(), "新名");
  ASSERT_EQ(request.update_mask().paths_size(), 2);
  EXPECT_EQ(request.update_mask().paths(0), "display_name");
}

TEST(HttpRoutesTest, BadJsonIsInvalidArgumentWithTheField) {
  auto routes = CustomerRoutes();
  auto syntax = routes->Route("POST", "/v1/customers", "", "{not json");
  EXPECT_EQ(syntax.status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(FieldViolations(syntax.status()).size(), 1u);

  auto wrong_type = routes->Route("POST", "/v1/customers", "", R"({"kind": "BANANA"})");
  EXPECT_EQ(wrong_type.status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(FieldViolations(wrong_type.status()).size(), 1u);
  EXPECT_THAT(FieldViolations(wrong_type.status())[0].field, HasSubstr("customer"));

  auto unknown = routes->Route("POST", "/v1/customers/1:archive", "", R"({"colour": "red"})");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(HttpRoutesTest, EmptyBodyIsAnEmptyMessage) {
  auto routes = CustomerRoutes();
  auto call = routes->Route("POST", "/v1/customers/1:archive", "", "");
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(As<pb::ArchiveCustomerRequest>(*call).name(), "customers/1");
}

TEST(HttpRoutesTest, MalformedRulesAreRefusedAtStartUp) {
  // A service whose rule names no field: built in its own pool.
  gpb::FileDescriptorProto file;
  file.set_name("bad.proto");
  file.set_package("bad");
  file.set_syntax("proto3");
  auto* message = file.add_message_type();
  message->set_name("Req");
  auto* field = message->add_field();
  field->set_name("name");
  field->set_number(1);
  field->set_type(gpb::FieldDescriptorProto::TYPE_STRING);
  field->set_label(gpb::FieldDescriptorProto::LABEL_OPTIONAL);
  auto* method = file.add_service()->add_method();
  file.mutable_service(0)->set_name("Svc");
  method->set_name("Get");
  method->set_input_type(".bad.Req");
  method->set_output_type(".bad.Req");
  google::api::HttpRule rule;
  rule.set_get("/v1/{nosuch=things/*}");
  *method->mutable_options()->MutableExtension(google::api::http) = rule;
  gpb::DescriptorPool pool(gpb::DescriptorPool::generated_pool());
  const gpb::FileDescriptor* built = pool.BuildFile(file);
  ASSERT_NE(built, nullptr);
  auto routes = HttpRoutes::ForServices({built->service(0)});
  EXPECT_EQ(routes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(routes.status().message()), HasSubstr("nosuch"));
}

TEST(HttpRoutesTest, RepliesInTheProtoJsonMapping) {
  pb::Customer customer;
  customer.set_name("customers/1");
  customer.set_display_name("华为");
  customer.set_kind(pb::ENTERPRISE);
  gpb::Struct json = ParseJson(MessageToJson(customer));
  EXPECT_EQ(json.fields().at("name").string_value(), "customers/1");
  EXPECT_EQ(json.fields().at("displayName").string_value(), "华为");
  EXPECT_EQ(json.fields().at("kind").string_value(), "ENTERPRISE");
  EXPECT_TRUE(json.fields().contains("highValue"));  // unset scalars are shown
}

TEST(HttpRoutesTest, ErrorsCarryCodeStatusMessageAndFieldViolations) {
  JsonReply reply = ErrorReply(InvalidField("customer.credit_code", "bad check digit"));
  EXPECT_EQ(reply.http_status, 400);
  gpb::Struct json = ParseJson(reply.body);
  EXPECT_EQ(json.fields().at("code").number_value(), 3);
  EXPECT_EQ(json.fields().at("status").string_value(), "INVALID_ARGUMENT");
  EXPECT_THAT(json.fields().at("message").string_value(), HasSubstr("credit_code"));
  const auto& details = json.fields().at("details").list_value();
  ASSERT_EQ(details.values_size(), 1);
  const auto& detail = details.values(0).struct_value().fields();
  EXPECT_EQ(detail.at("@type").string_value(), "type.googleapis.com/google.rpc.BadRequest");
  const auto& violation = detail.at("fieldViolations").list_value().values(0).struct_value().fields();
  EXPECT_EQ(violation.at("field").string_value(), "customer.credit_code");
  EXPECT_EQ(violation.at("description").string_value(), "bad check digit");

  JsonReply not_found = ErrorReply(grpc::Status(grpc::NOT_FOUND, "no customer"));
  EXPECT_EQ(not_found.http_status, 404);
  EXPECT_EQ(ParseJson(not_found.body).fields().at("details").list_value().values_size(), 0);
}

TEST(HttpRoutesTest, GrpcGatewayStatusMapping) {
  EXPECT_EQ(HttpStatusForCode(grpc::INVALID_ARGUMENT), 400);
  EXPECT_EQ(HttpStatusForCode(grpc::UNAUTHENTICATED), 401);
  EXPECT_EQ(HttpStatusForCode(grpc::PERMISSION_DENIED), 403);
  EXPECT_EQ(HttpStatusForCode(grpc::NOT_FOUND), 404);
  EXPECT_EQ(HttpStatusForCode(grpc::ALREADY_EXISTS), 409);
  EXPECT_EQ(HttpStatusForCode(grpc::ABORTED), 409);
  EXPECT_EQ(HttpStatusForCode(grpc::RESOURCE_EXHAUSTED), 429);
  EXPECT_EQ(HttpStatusForCode(grpc::FAILED_PRECONDITION), 400);
  EXPECT_EQ(HttpStatusForCode(grpc::UNAVAILABLE), 503);
  EXPECT_EQ(HttpStatusForCode(grpc::DEADLINE_EXCEEDED), 504);
  EXPECT_EQ(HttpStatusForCode(grpc::UNIMPLEMENTED), 501);
  EXPECT_EQ(HttpStatusForCode(grpc::INTERNAL), 500);
  EXPECT_EQ(CodeName(grpc::RESOURCE_EXHAUSTED), "RESOURCE_EXHAUSTED");
}

TEST(HttpRoutesTest, OpenApiDescribesEveryRoute) {
  auto routes = CustomerRoutes();
  gpb::Struct doc = ParseJson(routes->RenderOpenApi());
  EXPECT_EQ(doc.fields().at("openapi").string_value(), "3.0.3");
  const auto& paths = doc.fields().at("paths").struct_value().fields();

  const auto& get = paths.at("/v1/customers/{customer}").struct_value().fields().at("get").struct_value().fields();
  EXPECT_EQ(get.at("operationId").string_value(), "CustomerService_GetCustomer");
  const auto& param = get.at("parameters").list_value().values(0).struct_value().fields();
  EXPECT_EQ(param.at("name").string_value(), "customer");
  EXPECT_EQ(param.at("in").string_value(), "path");
  EXPECT_EQ(get.at("responses").struct_value().fields().at("200").struct_value().fields()
                .at("content").struct_value().fields().at("application/json").struct_value().fields()
                .at("schema").struct_value().fields().at("$ref").string_value(),
            "#/components/schemas/crm.customers.v1.Customer");

  const auto& collection = paths.at("/v1/customers").struct_value().fields();
  EXPECT_EQ(collection.at("post").struct_value().fields().at("operationId").string_value(),
            "CustomerService_CreateCustomer");
  const auto& list = collection.at("get").struct_value().fields();
  bool has_page_size = false;
  for (const auto& p : list.at("parameters").list_value().values()) {
    has_page_size = has_page_size || p.struct_value().fields().at("name").string_value() == "pageSize";
  }
  EXPECT_TRUE(has_page_size);
  EXPECT_TRUE(paths.contains("/v1/customers/{customer}/contacts/{contact}"));
  EXPECT_TRUE(paths.contains("/v1/customers/{customer}:archive"));

  const auto& schemas =
      doc.fields().at("components").struct_value().fields().at("schemas").struct_value().fields();
  const auto& customer = schemas.at("crm.customers.v1.Customer").struct_value().fields();
  const auto& props = customer.at("properties").struct_value().fields();
  EXPECT_EQ(props.at("displayName").struct_value().fields().at("type").string_value(), "string");
  EXPECT_EQ(props.at("createTime").struct_value().fields().at("format").string_value(), "date-time");
  EXPECT_EQ(props.at("employeeCount").struct_value().fields().at("format").string_value(), "int64");
  EXPECT_EQ(props.at("kind").struct_value().fields().at("enum").list_value().values(1).string_value(),
            "ENTERPRISE");
  EXPECT_TRUE(schemas.contains("crm.type.v1.Money"));
  EXPECT_TRUE(schemas.contains("Error"));
}

}  // namespace
}  // namespace crm::gateway
