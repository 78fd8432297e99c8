// The HTTP/JSON transcoder without a network: route matching, path
// variables, query parameters, bodies, JSON replies and errors, OpenAPI.

#include "services/gateway/src/http_routes.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "common/status/status.h"
#include "crm/complaints/v1/complaints.pb.h"
#include "crm/customers/v1/customers.pb.h"
#include "crm/opportunities/v1/opportunities.pb.h"
#include "crm/scheduling/v1/scheduling.pb.h"
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

  // Found by tests/fuzz (regressions/crm_fuzz_gateway_http): a parameter name
  // that is not UTF-8 is still named, made valid, in the violation.
  auto not_utf8 = routes->Route("GET", "/v1/customers", "updat%01%00%B0e=1", "");
  EXPECT_EQ(not_utf8.status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(FieldViolations(not_utf8.status()).size(), 1u);
  EXPECT_EQ(FieldViolations(not_utf8.status())[0].field, std::string("updat\x01") + '\0' + "\uFFFDe");

  // Found by tests/fuzz: a parameter without a name was a violation naming
  // no field.
  auto nameless = routes->Route("GET", "/v1/customers", "page_size=5&=red", "");
  EXPECT_EQ(nameless.status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(FieldViolations(nameless.status()).size(), 1u);
  EXPECT_EQ(FieldViolations(nameless.status())[0].field, "query");
}

// Found by tests/fuzz (regressions/crm_fuzz_gateway_http): percent-decoded
// bytes that are not UTF-8 went into a string field, and the backend could
// not parse the request it was sent.
TEST(HttpRoutesTest, PathAndQueryValuesMustBeUtf8) {
  auto routes = CustomerRoutes();
  auto path = routes->Route("GET", "/v1/customers/1%F4%F3", "", "");
  EXPECT_EQ(path.status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(FieldViolations(path.status()).size(), 1u);
  EXPECT_EQ(FieldViolations(path.status())[0].field, "name");

  auto query = routes->Route("GET", "/v1/customers", "name_contains=%E7%A6", "");
  EXPECT_EQ(query.status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(FieldViolations(query.status()).size(), 1u);
  EXPECT_EQ(FieldViolations(query.status())[0].field, "name_contains");

  auto chinese = routes->Route("GET", "/v1/customers", "name_contains=%E7%A6%8F", "");
  ASSERT_TRUE(chinese.ok()) << chinese.status();
  EXPECT_EQ(As<pb::ListCustomersRequest>(*chinese).name_contains(), "福");
}

// Found by tests/fuzz (regressions/crm_fuzz_gateway_http): the NOT_FOUND
// reply quoted a path that is not UTF-8, so its JSON body was not UTF-8.
TEST(HttpRoutesTest, ErrorRepliesAreUtf8EvenWhenTheyQuoteTheRequest) {
  auto routes = CustomerRoutes();
  auto unrouted = routes->Route("GET", "/v1/c-stomers/1\xc1\xc1", "", "");
  ASSERT_EQ(unrouted.status().code(), absl::StatusCode::kNotFound);
  const JsonReply reply = ErrorReply(unrouted.status());
  EXPECT_EQ(reply.http_status, 404);
  EXPECT_EQ(ValidUtf8(reply.body), reply.body);
  EXPECT_THAT(ParseJson(reply.body).fields().at("message").string_value(),
              HasSubstr("/v1/c-stomers/1\uFFFD\uFFFD"));
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

  // Protobuf's parse error quotes the input cut at a byte count, here in
  // the middle of a Chinese character: the violation still reaches the
  // client (an invalid UTF-8 description would be dropped on the way out).
  auto split = routes->Route("POST", "/v1/customers", "", R"({}{"displayName":"鉴权客户"})");
  ASSERT_EQ(split.status().code(), absl::StatusCode::kInvalidArgument);
  const gpb::Struct reply = ParseJson(ErrorReply(split.status()).body);
  const auto& details = reply.fields().at("details").list_value();
  ASSERT_EQ(details.values_size(), 1);
  EXPECT_EQ(details.values(0).struct_value().fields().at("fieldViolations").list_value().values_size(), 1);
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
  EXPECT_EQ(ParseJson(not_found.body).fields().at("status").string_value(), "NOT_FOUND");
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

// ---------------------------------------------------------------- all four services

namespace cmp = crm::complaints::v1;
namespace opp = crm::opportunities::v1;
namespace sch = crm::scheduling::v1;

// The services the gateway's HTTP front serves.
std::vector<const gpb::ServiceDescriptor*> AllServices() {
  return {pb::Customer::descriptor()->file()->FindServiceByName("CustomerService"),
          opp::Opportunity::descriptor()->file()->FindServiceByName("OpportunityService"),
          cmp::Complaint::descriptor()->file()->FindServiceByName("ComplaintService"),
          sch::Visit::descriptor()->file()->FindServiceByName("SchedulingService")};
}

std::unique_ptr<HttpRoutes> AllRoutes() {
  auto routes = HttpRoutes::ForServices(AllServices());
  EXPECT_TRUE(routes.ok()) << routes.status();
  return routes.ok() ? *std::move(routes) : nullptr;
}

// One HTTP binding of a method (the rule itself or an additional binding),
// with a concrete path built from its template: every '*' becomes a distinct
// id ("i1", "i2", ...), and the value each path variable must then receive.
struct Binding {
  const gpb::MethodDescriptor* method = nullptr;
  std::string http_method;
  std::string template_text;
  std::string body;
  std::string verb;
  std::vector<std::string> shape;  // literal segments, "*" for wildcards
  std::string sample_path;
  std::vector<std::pair<std::string, std::string>> variables;  // field path → value
};

std::string HttpMethodOf(const google::api::HttpRule& rule, std::string* path) {
  switch (rule.pattern_case()) {
    case google::api::HttpRule::kGet: *path = rule.get(); return "GET";
    case google::api::HttpRule::kPost: *path = rule.post(); return "POST";
    case google::api::HttpRule::kPut: *path = rule.put(); return "PUT";
    case google::api::HttpRule::kPatch: *path = rule.patch(); return "PATCH";
    case google::api::HttpRule::kDelete: *path = rule.delete_(); return "DELETE";
    default: return "";
  }
}

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t stop = text.find(separator, start);
    out.push_back(text.substr(start, stop == std::string::npos ? std::string::npos : stop - start));
    if (stop == std::string::npos) return out;
    start = stop + 1;
  }
}

Binding MakeBinding(const gpb::MethodDescriptor* method, const google::api::HttpRule& rule) {
  Binding b;
  b.method = method;
  b.http_method = HttpMethodOf(rule, &b.template_text);
  b.body = rule.body();
  std::string rest = b.template_text.substr(1);  // after the leading '/'
  size_t colon = rest.rfind(':');
  size_t close = rest.rfind('}');
  size_t slash = rest.rfind('/');
  if (colon != std::string::npos && (close == std::string::npos || colon > close) &&
      (slash == std::string::npos || colon > slash)) {
    b.verb = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
  }
  int next_id = 0;
  std::vector<std::string> parts;
  auto add_segments = [&](const std::string& pattern) {
    std::vector<std::string> bound;
    for (const std::string& seg : Split(pattern, '/')) {
      b.shape.push_back(seg);
      bound.push_back(seg == "*" ? "i" + std::to_string(++next_id) : seg);
      parts.push_back(bound.back());
    }
    std::string value;
    for (size_t i = 0; i < bound.size(); ++i) value += (i ? "/" : "") + bound[i];
    return value;
  };
  while (!rest.empty()) {
    size_t stop;
    if (rest[0] == '{') {
      stop = rest.find('}') + 1;
      std::string inner = rest.substr(1, stop - 2);
      size_t eq = inner.find('=');
      std::string field = inner.substr(0, eq);
      b.variables.emplace_back(field, add_segments(eq == std::string::npos ? "*" : inner.substr(eq + 1)));
    } else {
      stop = rest.find('/');
      add_segments(rest.substr(0, stop));
    }
    rest = stop >= rest.size() ? "" : rest.substr(stop + 1);
  }
  for (const std::string& p : parts) b.sample_path += "/" + p;
  if (!b.verb.empty()) b.sample_path += ":" + b.verb;
  return b;
}

std::vector<Binding> AllBindings() {
  std::vector<Binding> out;
  for (const gpb::ServiceDescriptor* service : AllServices()) {
    for (int i = 0; i < service->method_count(); ++i) {
      const gpb::MethodDescriptor* method = service->method(i);
      if (!method->options().HasExtension(google::api::http)) continue;
      const google::api::HttpRule& rule = method->options().GetExtension(google::api::http);
      out.push_back(MakeBinding(method, rule));
      for (const auto& extra : rule.additional_bindings()) out.push_back(MakeBinding(method, extra));
    }
  }
  return out;
}

// The field a dotted path variable names ("complaint.name"), or null.
const gpb::FieldDescriptor* FieldAt(const gpb::Descriptor* message, const std::string& dotted) {
  const gpb::FieldDescriptor* f = nullptr;
  for (const std::string& part : Split(dotted, '.')) {
    if (message == nullptr) return nullptr;
    f = message->FindFieldByName(part);
    if (f == nullptr) return nullptr;
    message = f->message_type();
  }
  return f;
}

std::string StringAt(const gpb::Message& message, const std::string& dotted) {
  const gpb::Message* m = &message;
  std::vector<std::string> parts = Split(dotted, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    const gpb::FieldDescriptor* f = m->GetDescriptor()->FindFieldByName(parts[i]);
    if (f == nullptr) return "<no field " + parts[i] + ">";
    if (i + 1 == parts.size()) return m->GetReflection()->GetString(*m, f);
    m = &m->GetReflection()->GetMessage(*m, f);
  }
  return "";
}

std::string GrpcPath(const gpb::MethodDescriptor* method) {
  return "/" + method->service()->full_name() + "/" + method->name();
}

TEST(HttpRoutesAllServicesTest, EveryUnaryRpcOfTheFourServicesHasARoute) {
  auto routes = AllRoutes();
  ASSERT_NE(routes, nullptr);
  std::vector<std::string> unrouted;
  size_t unary = 0;
  for (const gpb::ServiceDescriptor* service : AllServices()) {
    for (int i = 0; i < service->method_count(); ++i) {
      const gpb::MethodDescriptor* method = service->method(i);
      if (method->client_streaming() || method->server_streaming()) continue;
      ++unary;
      if (!method->options().HasExtension(google::api::http)) unrouted.push_back(method->full_name());
    }
  }
  EXPECT_THAT(unrouted, ::testing::IsEmpty());
  // Customers 25 (ImportMembers is client-streamed), opportunities 47 + the
  // needs/{id}/changes binding of ListChanges, complaints 22, scheduling 33.
  EXPECT_EQ(unary, 25u + 47u + 22u + 33u);
  EXPECT_EQ(AllBindings().size(), unary + 1);
  EXPECT_EQ(routes->size(), 25u + 48u + 22u + 33u);
}

TEST(HttpRoutesAllServicesTest, RulesFollowTheConventions) {
  for (const Binding& b : AllBindings()) {
    SCOPED_TRACE(b.method->full_name() + " " + b.http_method + " " + b.template_text);
    EXPECT_EQ(b.template_text.rfind("/v1/", 0), 0u);
    if (b.http_method == "GET" || b.http_method == "DELETE") {
      EXPECT_EQ(b.body, "");
    } else {
      EXPECT_NE(b.body, "");
    }
    if (b.method->name().rfind("Update", 0) == 0) {
      EXPECT_EQ(b.http_method, "PATCH");
    }
    if (b.method->name().rfind("List", 0) == 0) {
      EXPECT_EQ(b.http_method, "GET");
    }
    for (const auto& [field, value] : b.variables) {
      const gpb::FieldDescriptor* f = FieldAt(b.method->input_type(), field);
      ASSERT_NE(f, nullptr) << field;
      EXPECT_EQ(f->type(), gpb::FieldDescriptor::TYPE_STRING) << field;
    }
  }
}

TEST(HttpRoutesAllServicesTest, NoTwoRoutesOverlap) {
  std::vector<Binding> bindings = AllBindings();
  for (size_t i = 0; i < bindings.size(); ++i) {
    for (size_t j = i + 1; j < bindings.size(); ++j) {
      const Binding& a = bindings[i];
      const Binding& b = bindings[j];
      if (a.http_method != b.http_method || a.verb != b.verb || a.shape.size() != b.shape.size()) continue;
      bool overlap = true;
      for (size_t k = 0; overlap && k < a.shape.size(); ++k) {
        overlap = a.shape[k] == b.shape[k] || a.shape[k] == "*" || b.shape[k] == "*";
      }
      EXPECT_FALSE(overlap) << a.method->full_name() << " " << a.template_text << " and "
                            << b.method->full_name() << " " << b.template_text;
    }
  }
}

TEST(HttpRoutesAllServicesTest, EveryBindingResolvesToItsMethodWithItsVariables) {
  auto routes = AllRoutes();
  ASSERT_NE(routes, nullptr);
  for (const Binding& b : AllBindings()) {
    SCOPED_TRACE(b.http_method + " " + b.sample_path + " (" + b.template_text + ")");
    auto call = routes->Route(b.http_method, b.sample_path, "", b.body.empty() ? "" : "{}");
    ASSERT_TRUE(call.ok()) << call.status();
    EXPECT_EQ(call->grpc_method, GrpcPath(b.method));
    for (const auto& [field, value] : b.variables) {
      EXPECT_EQ(StringAt(*call->request, field), value) << field;
    }
  }
}

TEST(HttpRoutesAllServicesTest, SpotMatches) {
  auto routes = AllRoutes();
  ASSERT_NE(routes, nullptr);

  auto get = routes->Route("GET", "/v1/complaints/42", "", "");
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(get->grpc_method, "/crm.complaints.v1.ComplaintService/GetComplaint");
  EXPECT_EQ(As<cmp::GetComplaintRequest>(*get).name(), "complaints/42");

  auto respond = routes->Route("POST", "/v1/complaints/42:respond", "",
                               R"({"response": "called back", "etag": "e1"})");
  ASSERT_TRUE(respond.ok()) << respond.status();
  EXPECT_EQ(respond->grpc_method, "/crm.complaints.v1.ComplaintService/RespondToComplaint");
  EXPECT_EQ(As<cmp::RespondToComplaintRequest>(*respond).name(), "complaints/42");
  EXPECT_EQ(As<cmp::RespondToComplaintRequest>(*respond).response(), "called back");

  auto complete = routes->Route("POST", "/v1/complaints/42/transfers/7:complete", "", R"({"reply": "done"})");
  ASSERT_TRUE(complete.ok()) << complete.status();
  EXPECT_EQ(complete->grpc_method, "/crm.complaints.v1.ComplaintService/CompleteTransfer");
  EXPECT_EQ(As<cmp::CompleteTransferRequest>(*complete).name(), "complaints/42/transfers/7");

  auto report = routes->Route("GET", "/v1/customers/9/faultAnalysisReport",
                              "startTime=2026-01-01T00:00:00Z", "");
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->grpc_method, "/crm.complaints.v1.ComplaintService/GetFaultAnalysisReport");
  EXPECT_EQ(As<cmp::GetFaultAnalysisReportRequest>(*report).customer(), "customers/9");
  EXPECT_EQ(As<cmp::GetFaultAnalysisReportRequest>(*report).start_time().seconds(), 1767225600);

  // The customers routes still resolve in the combined table.
  auto customer = routes->Route("GET", "/v1/customers/9", "", "");
  ASSERT_TRUE(customer.ok()) << customer.status();
  EXPECT_EQ(customer->grpc_method, "/crm.customers.v1.CustomerService/GetCustomer");

  // ListChanges: one binding per parent kind.
  auto need_changes = routes->Route("GET", "/v1/needs/3/changes", "pageSize=5", "");
  ASSERT_TRUE(need_changes.ok()) << need_changes.status();
  EXPECT_EQ(need_changes->grpc_method, "/crm.opportunities.v1.OpportunityService/ListChanges");
  EXPECT_EQ(As<opp::ListChangesRequest>(*need_changes).parent(), "needs/3");
  EXPECT_EQ(As<opp::ListChangesRequest>(*need_changes).page_size(), 5);
  auto opp_changes = routes->Route("GET", "/v1/opportunities/3/changes", "", "");
  ASSERT_TRUE(opp_changes.ok()) << opp_changes.status();
  EXPECT_EQ(As<opp::ListChangesRequest>(*opp_changes).parent(), "opportunities/3");

  auto approve = routes->Route("POST", "/v1/opportunities/1/proposals/2:approve", "",
                               R"({"reason": "benefit 2x cost"})");
  ASSERT_TRUE(approve.ok()) << approve.status();
  EXPECT_EQ(approve->grpc_method, "/crm.opportunities.v1.OpportunityService/ApproveProposal");
  EXPECT_EQ(As<opp::ApproveProposalRequest>(*approve).name(), "opportunities/1/proposals/2");
  EXPECT_EQ(As<opp::ApproveProposalRequest>(*approve).reason(), "benefit 2x cost");

  auto loan = routes->Route("PATCH", "/v1/opportunities/1/loanApplications/5", "updateMask=termMonths",
                            R"({"termMonths": 36})");
  ASSERT_TRUE(loan.ok()) << loan.status();
  EXPECT_EQ(loan->grpc_method, "/crm.opportunities.v1.OpportunityService/UpdateLoanApplication");
  const auto& loan_request = As<opp::UpdateLoanApplicationRequest>(*loan);
  EXPECT_EQ(loan_request.loan_application().name(), "opportunities/1/loanApplications/5");
  EXPECT_EQ(loan_request.loan_application().term_months(), 36);
  ASSERT_EQ(loan_request.update_mask().paths_size(), 1);
  EXPECT_EQ(loan_request.update_mask().paths(0), "term_months");

  auto cancel = routes->Route("POST", "/v1/visits/5:cancel", "", R"({"reason": "customer ill"})");
  ASSERT_TRUE(cancel.ok()) << cancel.status();
  EXPECT_EQ(cancel->grpc_method, "/crm.scheduling.v1.SchedulingService/CancelVisit");
  EXPECT_EQ(As<sch::CancelVisitRequest>(*cancel).name(), "visits/5");

  // A custom verb on a collection, next to the collection's own routes.
  auto urgent = routes->Route("POST", "/v1/tasks:createUrgent", "",
                              R"({"customer": "customers/1", "kind": "URGENT_GOODS", "title": "seal"})");
  ASSERT_TRUE(urgent.ok()) << urgent.status();
  EXPECT_EQ(urgent->grpc_method, "/crm.scheduling.v1.SchedulingService/CreateUrgentTask");
  EXPECT_EQ(As<sch::CreateUrgentTaskRequest>(*urgent).kind(), sch::URGENT_GOODS);
  auto task = routes->Route("GET", "/v1/tasks/8", "", "");
  ASSERT_TRUE(task.ok()) << task.status();
  EXPECT_EQ(task->grpc_method, "/crm.scheduling.v1.SchedulingService/GetTask");

  auto line = routes->Route("POST", "/v1/expenseClaims/3:addLine", "",
                            R"({"line": {"category": "TRANSPORT", "receipt": "INV-1"}, "etag": "e"})");
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->grpc_method, "/crm.scheduling.v1.SchedulingService/AddExpenseLine");
  EXPECT_EQ(As<sch::AddExpenseLineRequest>(*line).claim(), "expenseClaims/3");
  EXPECT_EQ(As<sch::AddExpenseLineRequest>(*line).line().receipt(), "INV-1");

  auto calendar = routes->Route("GET", "/v1/calendar:export", "owner=m1", "");
  ASSERT_TRUE(calendar.ok()) << calendar.status();
  EXPECT_EQ(calendar->grpc_method, "/crm.scheduling.v1.SchedulingService/ExportCalendar");

  // An unknown custom verb is not a route.
  EXPECT_EQ(routes->Route("POST", "/v1/complaints/42:nosuchverb", "", "{}").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(HttpRoutesAllServicesTest, OpenApiHasOneOperationPerRoute) {
  auto routes = AllRoutes();
  ASSERT_NE(routes, nullptr);
  gpb::Struct doc = ParseJson(routes->RenderOpenApi());
  size_t operations = 0;
  for (const auto& [path, item] : doc.fields().at("paths").struct_value().fields()) {
    operations += item.struct_value().fields_size();
  }
  EXPECT_EQ(operations, routes->size());
  const auto& paths = doc.fields().at("paths").struct_value().fields();
  EXPECT_TRUE(paths.contains("/v1/complaints/{complaint}"));
  EXPECT_TRUE(paths.contains("/v1/visits/{visit}:cancel"));
}

}  // namespace
}  // namespace crm::gateway
