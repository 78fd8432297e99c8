// End to end through the front door: the real crm-customers,
// crm-opportunities, crm-complaints and crm-scheduling binaries and
// crm-gateway in front of them, each configured by environment on loopback,
// the gateway with its HTTP/JSON front on a free port. One scenario, written
// once and run over each front (typed gRPC stubs on the gateway's channel,
// or HTTP/JSON with cpp-httplib): a manager's customer, opportunity and
// proposal approved by the team's supervisor, a complaint taken from record
// to revisit, visits booked; the gateway's own views (Customer 360, my day,
// dashboard, suite health) show what was made; another manager of the same
// team sees none of it (GW-2); bad tokens are refused (401); and with the
// scheduling service stopped Customer 360 still answers and says which parts
// are missing (GW-3). Also: the HTTP front's rate limit (429) and one route
// read with the curl binary.

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status/grpc_status.h"
#include "common/status/status.h"
#include "common/testing/status_matchers.h"
#include "common/util/proto_time.h"
#include "crm/complaints/v1/complaints.grpc.pb.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "crm/gateway/v1/gateway.grpc.pb.h"
#include "crm/opportunities/v1/opportunities.grpc.pb.h"
#include "crm/scheduling/v1/scheduling.grpc.pb.h"
#include "google/rpc/status.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/service_process.h"

namespace crm {
namespace {

namespace cpb = ::crm::customers::v1;
namespace opb = ::crm::opportunities::v1;
namespace kpb = ::crm::complaints::v1;
namespace spb = ::crm::scheduling::v1;
namespace gw = ::crm::gateway::v1;
namespace gpb = ::google::protobuf;
using crm::testing::BusinessZone;
using crm::testing::E2eBearer;
using crm::testing::HasFieldViolation;
using crm::testing::IsOk;
using crm::testing::kE2eKey;
using crm::testing::ServiceSuite;
using crm::testing::StatusIs;
using ::testing::ElementsAre;
using CustomerStub = cpb::CustomerService::Stub;
using OpportunityStub = opb::OpportunityService::Stub;
using ComplaintStub = kpb::ComplaintService::Stub;
using SchedulingStub = spb::SchedulingService::Stub;
using GatewayStub = gw::GatewayService::Stub;

const auth::Principal kOwner{"mgr-suite-owner", auth::Role::kManager, "east"};
const auth::Principal kOther{"mgr-suite-other", auth::Role::kManager, "east"};
const auth::Principal kSupervisor{"sup-suite-east", auth::Role::kSupervisor, "east"};
const auth::Principal kAdmin{"admin-suite", auth::Role::kAdmin, ""};

constexpr char kAddress[] = "上海市浦东新区世纪大道 100 号";
constexpr double kLatitude = 31.2353, kLongitude = 121.5055;

// grpc-gateway's HTTP status for a gRPC code (runtime.HTTPStatusFromCode),
// written out here so that the gateway's own table is checked, not reused.
int GrpcGatewayHttpStatus(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk: return 200;
    case absl::StatusCode::kCancelled: return 499;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange: return 400;
    case absl::StatusCode::kDeadlineExceeded: return 504;
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted: return 409;
    case absl::StatusCode::kPermissionDenied: return 403;
    case absl::StatusCode::kUnauthenticated: return 401;
    case absl::StatusCode::kResourceExhausted: return 429;
    case absl::StatusCode::kUnimplemented: return 501;
    case absl::StatusCode::kUnavailable: return 503;
    default: return 500;
  }
}

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// A JSON value as query parameters, the way grpc-gateway reads them: a
// scalar as key=value, a list as the key repeated, a message field by field
// under dotted keys ("periodStart.year=2026").
void AppendQuery(const std::string& key, const gpb::Value& value, std::vector<std::string>& out) {
  switch (value.kind_case()) {
    case gpb::Value::kStringValue:
      out.push_back(absl::StrCat(key, "=", UrlEncode(value.string_value())));
      break;
    case gpb::Value::kBoolValue:
      out.push_back(absl::StrCat(key, "=", value.bool_value() ? "true" : "false"));
      break;
    case gpb::Value::kNumberValue:
      out.push_back(absl::StrCat(key, "=", value.number_value()));
      break;
    case gpb::Value::kListValue:
      for (const gpb::Value& v : value.list_value().values()) AppendQuery(key, v, out);
      break;
    case gpb::Value::kStructValue:
      for (const auto& [field, v] : value.struct_value().fields()) AppendQuery(absl::StrCat(key, ".", field), v, out);
      break;
    default:
      ADD_FAILURE() << key << ": null in a request";
  }
}

// How one RPC is reached over HTTP (its google.api.http option, with the
// resource names filled in).
struct HttpRoute {
  std::string verb;  // GET, POST, PATCH, DELETE
  std::string path;  // "/v1/customers/12:view360"
  // "": no body, every set field of the request goes in the query string;
  // "*": the whole request is the body; otherwise the body field's name
  // (the request's other set fields go in the query string).
  std::string body;
};

enum class FrontKind { kGrpc, kHttp };

std::string FrontName(const ::testing::TestParamInfo<FrontKind>& info) {
  return info.param == FrontKind::kGrpc ? "Grpc" : "Http";
}

void PrintTo(FrontKind kind, std::ostream* os) { *os << (kind == FrontKind::kGrpc ? "gRPC" : "HTTP/JSON"); }

// The gateway as a client sees it through one front. Every call returns
// the reply or the error as an absl::Status (field violations and retry
// hints included); over HTTP every reply must also carry the request id
// sent, JSON, and an error's status line must follow grpc-gateway's mapping
// of its code.
class Front {
 public:
  Front(FrontKind kind, std::shared_ptr<grpc::Channel> channel, int http_port)
      : kind_(kind), channel_(std::move(channel)), http_("127.0.0.1", http_port) {
    http_.set_read_timeout(20, 0);
    // A connection per call: on a kept-alive connection each GET waits out
    // a delayed ACK (about 40 ms) — the front's server does not set
    // TCP_NODELAY — which would let the rate limiter's bucket refill
    // between the quick calls that HttpFrontRateLimitsEachPrincipal makes.
    http_.set_keep_alive(false);
  }

  bool http() const { return kind_ == FrontKind::kHttp; }
  // The status line of the last HTTP call.
  int last_http_status() const { return last_http_status_; }

  template <typename Stub, typename Request, typename Response>
  absl::StatusOr<Response> Call(const std::string& authorization,
                                grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
                                const std::type_identity_t<Request>& request, const HttpRoute& route) {
    Response out;
    absl::Status status;
    if (kind_ == FrontKind::kGrpc) {
      grpc::ClientContext ctx;
      if (!authorization.empty()) ctx.AddMetadata("authorization", authorization);
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
      Stub stub(channel_);
      status = FromGrpcStatus((stub.*rpc)(&ctx, request, &out));
    } else {
      status = CallHttp(authorization, route, request, out);
    }
    if (!status.ok()) return status;
    return out;
  }

  template <typename Stub, typename Request, typename Response>
  absl::StatusOr<Response> Call(const auth::Principal& as,
                                grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
                                const std::type_identity_t<Request>& request, const HttpRoute& route) {
    return Call(E2eBearer(as), rpc, request, route);
  }

 private:
  absl::Status CallHttp(const std::string& authorization, const HttpRoute& route, const gpb::Message& request,
                        gpb::Message& response) {
    std::string json;
    EXPECT_TRUE(gpb::util::MessageToJsonString(request, &json).ok());
    gpb::Struct query;
    EXPECT_TRUE(gpb::util::JsonStringToMessage(json, &query).ok()) << json;
    std::string body;
    if (route.body == "*") {
      body = json;
      query.clear_fields();
    } else if (!route.body.empty()) {
      const gpb::FieldDescriptor* field = request.GetDescriptor()->FindFieldByName(route.body);
      EXPECT_NE(field, nullptr) << route.body;
      body = "{}";
      if (field != nullptr && query.fields().contains(field->json_name())) {
        body.clear();  // MessageToJsonString appends
        EXPECT_TRUE(gpb::util::MessageToJsonString(query.fields().at(field->json_name()), &body).ok());
        query.mutable_fields()->erase(field->json_name());
      }
    }
    std::vector<std::string> parameters;
    for (const auto& [key, value] : query.fields()) AppendQuery(key, value, parameters);
    const std::string target =
        parameters.empty() ? route.path : absl::StrCat(route.path, "?", absl::StrJoin(parameters, "&"));
    const std::string request_id = absl::StrCat("suite-", ++calls_);
    httplib::Headers headers{{"X-Request-Id", request_id}};
    if (!authorization.empty()) headers.emplace("Authorization", authorization);
    const std::string what = absl::StrCat(route.verb, " ", target);
    if (route.verb != "GET" && route.verb != "POST" && route.verb != "PATCH" && route.verb != "DELETE") {
      ADD_FAILURE() << what << ": unsupported verb";
      return absl::InternalError(what);
    }
    httplib::Result reply = route.verb == "GET"    ? http_.Get(target, headers)
                            : route.verb == "POST"  ? http_.Post(target, headers, body, "application/json")
                            : route.verb == "PATCH" ? http_.Patch(target, headers, body, "application/json")
                                                    : http_.Delete(target, headers);
    if (!reply) {
      last_http_status_ = 0;
      return absl::UnavailableError(absl::StrCat(what, ": ", httplib::to_string(reply.error())));
    }
    last_http_status_ = reply->status;
    EXPECT_EQ(reply->get_header_value("X-Request-Id"), request_id) << what;
    EXPECT_EQ(reply->get_header_value("Content-Type"), "application/json") << what;
    if (reply->status == 200) {
      const auto parsed = gpb::util::JsonStringToMessage(reply->body, &response);
      EXPECT_TRUE(parsed.ok()) << what << ": " << parsed << "\n" << reply->body;
      return parsed.ok() ? absl::OkStatus() : absl::InternalError(absl::StrCat("unreadable reply to ", what));
    }
    // {"code": 3, "status": "INVALID_ARGUMENT", "message": …, "details": […]}
    gpb::Struct error;
    google::rpc::Status rpc_status;
    gpb::util::JsonParseOptions lenient;
    lenient.ignore_unknown_fields = true;  // "status"
    if (!gpb::util::JsonStringToMessage(reply->body, &error).ok() ||
        !gpb::util::JsonStringToMessage(reply->body, &rpc_status, lenient).ok()) {
      ADD_FAILURE() << what << ": HTTP " << reply->status << " without a JSON error: " << reply->body;
      return absl::InternalError(absl::StrCat("HTTP ", reply->status));
    }
    const auto code = static_cast<absl::StatusCode>(rpc_status.code());
    EXPECT_NE(code, absl::StatusCode::kOk) << what << ": " << reply->body;
    EXPECT_EQ(reply->status, GrpcGatewayHttpStatus(code)) << what << ": " << reply->body;
    EXPECT_TRUE(error.fields().contains("status") &&
                error.fields().at("status").string_value() == absl::StatusCodeToString(code))
        << what << ": " << reply->body;
    return FromGrpcStatus(grpc::Status(static_cast<grpc::StatusCode>(code), rpc_status.message(),
                                       rpc_status.details().empty() ? "" : rpc_status.SerializeAsString()));
  }

  const FrontKind kind_;
  const std::shared_ptr<grpc::Channel> channel_;
  httplib::Client http_;
  int last_http_status_ = 0;
  int calls_ = 0;
};

template <typename Row>
std::vector<std::string> Names(const gpb::RepeatedPtrField<Row>& rows) {
  std::vector<std::string> out;
  for (const Row& row : rows) out.push_back(row.name());
  return out;
}

std::vector<std::string> UnavailableParts(const gpb::RepeatedPtrField<gw::UnavailablePart>& parts) {
  std::vector<std::string> out;
  for (const gw::UnavailablePart& p : parts) out.push_back(absl::StrCat(p.part(), " from ", p.service()));
  return out;
}

class GatewaySuiteTest : public ::testing::Test {
 protected:
  // Starts the four services and the gateway (with `gateway_env` added)
  // and its HTTP front.
  void StartSuite(const std::map<std::string, std::string>& gateway_env = {}) {
    auto suite = ServiceSuite::Create({.binaries = {CRM_CUSTOMERS_BINARY, CRM_OPPORTUNITIES_BINARY,
                                                    CRM_COMPLAINTS_BINARY, CRM_SCHEDULING_BINARY, CRM_GATEWAY_BINARY},
                                       .http_front = true});
    ASSERT_THAT(suite, IsOk());
    suite_ = *std::move(suite);
    for (const auto& [k, v] : gateway_env) suite_->gateway().env()[k] = v;
    ASSERT_THAT(suite_->Start(), IsOk());
  }

  Front MakeFront(FrontKind kind) const { return Front(kind, suite_->gateway().channel(), suite_->http_port()); }

  std::unique_ptr<ServiceSuite> suite_;
};

class GatewaySuiteFrontTest : public GatewaySuiteTest, public ::testing::WithParamInterface<FrontKind> {};

INSTANTIATE_TEST_SUITE_P(Fronts, GatewaySuiteFrontTest, ::testing::Values(FrontKind::kGrpc, FrontKind::kHttp),
                         FrontName);

TEST_P(GatewaySuiteFrontTest, ScenarioViewsAndRowLevelAccessThroughTheFront) {
  ASSERT_NO_FATAL_FAILURE(StartSuite());
  Front front = MakeFront(GetParam());
  const absl::TimeZone zone = BusinessZone();

  // ---- 1. A customer, created by its manager (an idempotent retry returns
  // it again); a refused one names the field.
  cpb::CreateCustomerRequest create_customer;
  create_customer.set_request_id("suite-customer-1");
  cpb::Customer& draft_customer = *create_customer.mutable_customer();
  draft_customer.set_kind(cpb::INDIVIDUAL);
  draft_customer.set_display_name("网关全链路客户");
  draft_customer.set_address(kAddress);
  draft_customer.mutable_location()->set_latitude(kLatitude);
  draft_customer.mutable_location()->set_longitude(kLongitude);
  const HttpRoute create_customer_route{"POST", "/v1/customers", "customer"};
  auto customer = front.Call(kOwner, &CustomerStub::CreateCustomer, create_customer, create_customer_route);
  ASSERT_THAT(customer, IsOk());
  EXPECT_THAT(customer->name(), ::testing::StartsWith("customers/"));
  EXPECT_EQ(customer->display_name(), "网关全链路客户");
  EXPECT_EQ(customer->owner(), kOwner.subject);
  EXPECT_EQ(customer->team(), kOwner.team);
  auto again = front.Call(kOwner, &CustomerStub::CreateCustomer, create_customer, create_customer_route);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->name(), customer->name());
  cpb::CreateCustomerRequest nameless = create_customer;
  nameless.clear_request_id();
  nameless.mutable_customer()->clear_display_name();
  EXPECT_THAT(front.Call(kOwner, &CustomerStub::CreateCustomer, nameless, create_customer_route),
              HasFieldViolation("customer.display_name"));
  const std::string customer_path = absl::StrCat("/v1/", customer->name());

  // ---- 2. An open opportunity on it.
  opb::CreateOpportunityRequest create_opportunity;
  create_opportunity.mutable_opportunity()->set_customer(customer->name());
  create_opportunity.mutable_opportunity()->set_type(opb::INFO_SOLUTION);
  create_opportunity.mutable_opportunity()->set_title("园区 5G 专网");
  create_opportunity.mutable_opportunity()->mutable_amount()->set_currency_code("CNY");
  create_opportunity.mutable_opportunity()->mutable_amount()->set_units(480000);
  auto opportunity = front.Call(kOwner, &OpportunityStub::CreateOpportunity, create_opportunity,
                                {"POST", "/v1/opportunities", "opportunity"});
  ASSERT_THAT(opportunity, IsOk());
  EXPECT_EQ(opportunity->owner(), kOwner.subject);
  EXPECT_EQ(opportunity->stage(), opb::NEED_ANALYSIS);
  EXPECT_EQ(opportunity->state(), opb::OPPORTUNITY_OPEN);

  // ---- 3. A proposal (catalogue product, benefit ≥ 1.5 × cost, a
  // competitor), submitted, refused to its manager, approved by the team's
  // supervisor (OPP-4).
  opb::CreateProductRequest create_product;
  create_product.mutable_product()->set_code(absl::StrCat("GW-SUITE-", absl::ToUnixNanos(absl::Now())));
  create_product.mutable_product()->set_display_name("云专线 100M");
  create_product.mutable_product()->set_category(opb::INFO_SOLUTION);
  create_product.mutable_product()->set_manager_discount_limit(10);
  auto product = front.Call(kAdmin, &OpportunityStub::CreateProduct, create_product,
                            {"POST", "/v1/products", "product"});
  ASSERT_THAT(product, IsOk());
  opb::CreateProposalRequest create_proposal;
  create_proposal.set_parent(opportunity->name());
  opb::Proposal& draft = *create_proposal.mutable_proposal();
  draft.set_title("信息化方案");
  opb::LineItem* item = draft.add_line_items();
  item->set_product(product->name());
  item->set_quantity(1);
  item->mutable_unit_price()->set_currency_code("CNY");
  item->mutable_unit_price()->set_units(1000);
  draft.mutable_value_statement()->mutable_cost_reduction()->set_currency_code("CNY");
  draft.mutable_value_statement()->mutable_cost_reduction()->set_units(2000);
  draft.mutable_value_statement()->set_image("数字化标杆");
  opb::CompetitorComparison* rival = draft.add_competitor_comparisons();
  rival->set_competitor("友商");
  rival->mutable_their_price()->set_currency_code("CNY");
  rival->mutable_their_price()->set_units(999);
  auto proposal = front.Call(kOwner, &OpportunityStub::CreateProposal, create_proposal,
                             {"POST", absl::StrCat("/v1/", opportunity->name(), "/proposals"), "proposal"});
  ASSERT_THAT(proposal, IsOk());
  EXPECT_EQ(proposal->status(), opb::DRAFT);
  const std::string proposal_path = absl::StrCat("/v1/", proposal->name());
  opb::SubmitProposalRequest submit;
  submit.set_name(proposal->name());
  auto submitted = front.Call(kOwner, &OpportunityStub::SubmitProposal, submit,
                              {"POST", absl::StrCat(proposal_path, ":submit"), "*"});
  ASSERT_THAT(submitted, IsOk());
  EXPECT_EQ(submitted->status(), opb::PENDING_APPROVAL);
  opb::ApproveProposalRequest approve;
  approve.set_name(proposal->name());
  approve.set_reason("价格合理");
  const HttpRoute approve_route{"POST", absl::StrCat(proposal_path, ":approve"), "*"};
  EXPECT_THAT(front.Call(kOwner, &OpportunityStub::ApproveProposal, approve, approve_route),
              StatusIs(absl::StatusCode::kPermissionDenied));
  if (front.http()) {
    EXPECT_EQ(front.last_http_status(), 403);
  }
  auto approved = front.Call(kSupervisor, &OpportunityStub::ApproveProposal, approve, approve_route);
  ASSERT_THAT(approved, IsOk());
  EXPECT_EQ(approved->status(), opb::APPROVED);

  // ---- 4. A complaint from record to revisit (CMP-5, CMP-7), and a second
  // one left open.
  kpb::RecordComplaintRequest record;
  record.mutable_complaint()->set_customer(customer->name());
  record.mutable_complaint()->set_channel(kpb::HALL);
  record.mutable_complaint()->set_category(kpb::TARIFF);
  record.mutable_complaint()->set_statement("账单多扣费");
  const HttpRoute record_route{"POST", "/v1/complaints", "complaint"};
  auto complaint = front.Call(kOwner, &ComplaintStub::RecordComplaint, record, record_route);
  ASSERT_THAT(complaint, IsOk());
  EXPECT_EQ(complaint->status(), kpb::OPEN);
  EXPECT_EQ(complaint->owner(), kOwner.subject);
  const std::string complaint_path = absl::StrCat("/v1/", complaint->name());
  kpb::RespondToComplaintRequest respond;
  respond.set_name(complaint->name());
  respond.set_response("已联系客户核实");
  auto responded = front.Call(kOwner, &ComplaintStub::RespondToComplaint, respond,
                              {"POST", absl::StrCat(complaint_path, ":respond"), "*"});
  ASSERT_THAT(responded, IsOk());
  EXPECT_EQ(responded->status(), kpb::IN_PROGRESS);
  kpb::ProposeResolutionRequest propose;
  propose.set_name(complaint->name());
  propose.set_resolution("退还多扣费用");
  auto proposed = front.Call(kOwner, &ComplaintStub::ProposeResolution, propose,
                             {"POST", absl::StrCat(complaint_path, ":proposeResolution"), "*"});
  ASSERT_THAT(proposed, IsOk());
  EXPECT_EQ(proposed->status(), kpb::RESOLUTION_PROPOSED);
  kpb::RecordCustomerDecisionRequest accept;
  accept.set_name(complaint->name());
  accept.set_accepted(true);
  auto resolved = front.Call(kOwner, &ComplaintStub::RecordCustomerDecision, accept,
                             {"POST", absl::StrCat(complaint_path, ":recordCustomerDecision"), "*"});
  ASSERT_THAT(resolved, IsOk());
  EXPECT_EQ(resolved->status(), kpb::RESOLVED);
  kpb::CloseComplaintRequest close;
  close.set_name(complaint->name());
  auto closed = front.Call(kOwner, &ComplaintStub::CloseComplaint, close,
                           {"POST", absl::StrCat(complaint_path, ":close"), "*"});
  ASSERT_THAT(closed, IsOk());
  EXPECT_EQ(closed->status(), kpb::CLOSED);
  EXPECT_TRUE(closed->has_revisit_due_time());
  kpb::RecordRevisitRequest revisit;
  revisit.set_name(complaint->name());
  revisit.set_satisfaction(5);
  revisit.set_comment("客户满意");
  auto revisited = front.Call(kOwner, &ComplaintStub::RecordRevisit, revisit,
                              {"POST", absl::StrCat(complaint_path, ":recordRevisit"), "*"});
  ASSERT_THAT(revisited, IsOk());
  EXPECT_EQ(revisited->status(), kpb::REVISITED);
  record.mutable_complaint()->set_statement("宽带经常断线");
  record.mutable_complaint()->set_category(kpb::NETWORK);
  auto open_complaint = front.Call(kOwner, &ComplaintStub::RecordComplaint, record, record_route);
  ASSERT_THAT(open_complaint, IsOk());

  // ---- 5. Visits: one in two days (place and location from the customer),
  // one starting now (today's, for my day).
  const absl::Time later_start = absl::FromUnixSeconds((absl::ToUnixSeconds(absl::Now()) / 3600 + 48) * 3600);
  spb::BookVisitRequest book;
  book.mutable_visit()->set_customer(customer->name());
  book.mutable_visit()->set_purpose(spb::COURTESY);
  ToProto(later_start, book.mutable_visit()->mutable_start_time());
  ToProto(later_start + absl::Hours(1), book.mutable_visit()->mutable_end_time());
  const HttpRoute book_route{"POST", "/v1/visits", "visit"};
  auto visit = front.Call(kOwner, &SchedulingStub::BookVisit, book, book_route);
  ASSERT_THAT(visit, IsOk());
  EXPECT_EQ(visit->status(), spb::PLANNED);
  EXPECT_EQ(visit->owner(), kOwner.subject);
  EXPECT_EQ(visit->place(), kAddress);
  EXPECT_DOUBLE_EQ(visit->location().latitude(), kLatitude);
  const absl::Time today_start = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  ToProto(today_start, book.mutable_visit()->mutable_start_time());
  ToProto(today_start + absl::Minutes(30), book.mutable_visit()->mutable_end_time());
  auto today_visit = front.Call(kOwner, &SchedulingStub::BookVisit, book, book_route);
  ASSERT_THAT(today_visit, IsOk());

  // ---- 6. Customer 360 (GW-3): the customer, its open opportunity and
  // pipeline line (480 000 at NEED_ANALYSIS, 10 %), the open complaint with
  // its clocks, the upcoming visit (today's has started).
  gw::GetCustomer360Request get360;
  get360.set_name(customer->name());
  const HttpRoute view360_route{"GET", absl::StrCat(customer_path, ":view360"), ""};
  auto view = front.Call(kOwner, &GatewayStub::GetCustomer360, get360, view360_route);
  ASSERT_THAT(view, IsOk());
  EXPECT_THAT(UnavailableParts(view->unavailable()), ::testing::IsEmpty());
  EXPECT_EQ(view->customer().name(), customer->name());
  EXPECT_EQ(view->customer().display_name(), "网关全链路客户");
  EXPECT_THAT(Names(view->open_opportunities()), ElementsAre(opportunity->name()));
  ASSERT_EQ(view->pipeline_size(), 1);
  EXPECT_EQ(view->pipeline(0).currency_code(), "CNY");
  EXPECT_EQ(view->pipeline(0).open_count(), 1);
  EXPECT_EQ(view->pipeline(0).total_amount().units(), 480000);
  EXPECT_EQ(view->pipeline(0).weighted_amount().units(), 48000);
  EXPECT_THAT(Names(view->open_complaints()), ElementsAre(open_complaint->name()));
  if (view->open_complaints_size() == 1) {
    EXPECT_GT(view->open_complaints(0).clocks_size(), 0);
  }
  EXPECT_THAT(Names(view->upcoming_visits()), ElementsAre(visit->name()));
  EXPECT_TRUE(view->has_as_of());

  // ---- 7. My day: today's visit (unless midnight passed since booking).
  auto my_day = front.Call(kOwner, &GatewayStub::GetMyDay, gw::GetMyDayRequest(), {"GET", "/v1/myDay", ""});
  ASSERT_THAT(my_day, IsOk());
  EXPECT_EQ(my_day->owner(), kOwner.subject);
  EXPECT_THAT(UnavailableParts(my_day->unavailable()), ::testing::IsEmpty());
  const absl::CivilDay visit_day = absl::ToCivilDay(today_start, zone);
  const absl::CivilDay my_day_date(my_day->date().year(), my_day->date().month(), my_day->date().day());
  EXPECT_GE(my_day_date, visit_day);
  if (my_day_date == visit_day) {
    EXPECT_THAT(Names(my_day->visits()), ElementsAre(today_visit->name()));
  }

  // ---- 8. The dashboard of the month of the later visit (GW-4): visits
  // planned in it, the weighted pipeline.
  const absl::CivilMonth month = absl::ToCivilMonth(later_start, zone);
  gw::GetDashboardRequest dashboard_request;
  dashboard_request.set_period(spb::MONTH);
  dashboard_request.mutable_period_start()->set_year(static_cast<int32_t>(month.year()));
  dashboard_request.mutable_period_start()->set_month(month.month());
  dashboard_request.mutable_period_start()->set_day(1);
  auto dashboard = front.Call(kOwner, &GatewayStub::GetDashboard, dashboard_request, {"GET", "/v1/dashboard", ""});
  ASSERT_THAT(dashboard, IsOk());
  EXPECT_THAT(UnavailableParts(dashboard->unavailable()), ::testing::IsEmpty());
  EXPECT_EQ(dashboard->owner(), kOwner.subject);
  EXPECT_EQ(dashboard->start_date().month(), month.month());
  EXPECT_EQ(dashboard->start_date().day(), 1);
  const int planned_in_month = 1 + (absl::ToCivilMonth(today_start, zone) == month ? 1 : 0);
  EXPECT_EQ(dashboard->figures().visits_planned(), planned_in_month);
  ASSERT_EQ(dashboard->figures().weighted_pipeline_size(), 1);
  EXPECT_EQ(dashboard->figures().weighted_pipeline(0).weighted_amount().units(), 48000);
  EXPECT_EQ(dashboard->figures().weighted_pipeline(0).open_count(), 1);
  EXPECT_TRUE(dashboard->figures().has_data_completeness());

  // ---- 9. Suite health: every service SERVING.
  const HttpRoute health_route{"GET", "/v1/suite:health", ""};
  auto health = front.Call(kOwner, &GatewayStub::GetSuiteHealth, gw::GetSuiteHealthRequest(), health_route);
  ASSERT_THAT(health, IsOk());
  EXPECT_EQ(health->status(), "SERVING");
  std::vector<std::string> serving;
  for (const gw::ServiceHealth& s : health->services()) serving.push_back(absl::StrCat(s.service(), " ", s.status()));
  EXPECT_THAT(serving, ElementsAre("complaints SERVING", "customers SERVING", "opportunities SERVING",
                                   "scheduling SERVING"));

  // ---- 10. Another manager of the same team (GW-2): every Get is
  // NOT_FOUND (404), Customer 360 too; the lists that show the owner the
  // rows show them nothing.
  {
    SCOPED_TRACE("another manager");
    auto expect_not_found = [&](const absl::Status& status, const std::string& what) {
      EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound)) << what;
      if (front.http()) {
        EXPECT_EQ(front.last_http_status(), 404) << what;
      }
    };
    cpb::GetCustomerRequest get_customer;
    get_customer.set_name(customer->name());
    expect_not_found(front.Call(kOther, &CustomerStub::GetCustomer, get_customer, {"GET", customer_path, ""}).status(),
                     customer->name());
    opb::GetOpportunityRequest get_opportunity;
    get_opportunity.set_name(opportunity->name());
    expect_not_found(front.Call(kOther, &OpportunityStub::GetOpportunity, get_opportunity,
                                {"GET", absl::StrCat("/v1/", opportunity->name()), ""})
                         .status(),
                     opportunity->name());
    opb::GetProposalRequest get_proposal;
    get_proposal.set_name(proposal->name());
    expect_not_found(
        front.Call(kOther, &OpportunityStub::GetProposal, get_proposal, {"GET", proposal_path, ""}).status(),
        proposal->name());
    for (const std::string& name : {complaint->name(), open_complaint->name()}) {
      kpb::GetComplaintRequest get_complaint;
      get_complaint.set_name(name);
      expect_not_found(front.Call(kOther, &ComplaintStub::GetComplaint, get_complaint,
                                  {"GET", absl::StrCat("/v1/", name), ""})
                           .status(),
                       name);
    }
    for (const std::string& name : {visit->name(), today_visit->name()}) {
      spb::GetVisitRequest get_visit;
      get_visit.set_name(name);
      expect_not_found(
          front.Call(kOther, &SchedulingStub::GetVisit, get_visit, {"GET", absl::StrCat("/v1/", name), ""}).status(),
          name);
    }
    expect_not_found(front.Call(kOther, &GatewayStub::GetCustomer360, get360, view360_route).status(), "view360");

    cpb::ListCustomersRequest list_customers;
    list_customers.set_page_size(100);
    opb::ListOpportunitiesRequest list_opportunities;
    list_opportunities.set_page_size(100);
    opb::ListProposalsRequest list_proposals;
    list_proposals.set_parent(opportunity->name());
    kpb::ListComplaintsRequest list_complaints;
    list_complaints.set_page_size(100);
    spb::ListVisitsRequest list_visits;
    list_visits.set_page_size(100);
    const HttpRoute proposals_route{"GET", absl::StrCat("/v1/", opportunity->name(), "/proposals"), ""};
    for (const auth::Principal* as : {&kOwner, &kOther}) {
      const bool owner = as == &kOwner;
      SCOPED_TRACE(as->subject);
      auto shows = [&](const std::vector<std::string>& names, const std::string& name) {
        EXPECT_EQ(std::find(names.begin(), names.end(), name) != names.end(), owner) << name;
      };
      auto customers =
          front.Call(*as, &CustomerStub::ListCustomers, list_customers, {"GET", "/v1/customers", ""});
      ASSERT_THAT(customers, IsOk());
      shows(Names(customers->customers()), customer->name());
      auto opportunities = front.Call(*as, &OpportunityStub::ListOpportunities, list_opportunities,
                                      {"GET", "/v1/opportunities", ""});
      ASSERT_THAT(opportunities, IsOk());
      shows(Names(opportunities->opportunities()), opportunity->name());
      // Under an opportunity they cannot see: NOT_FOUND, as the opportunity.
      auto proposals = front.Call(*as, &OpportunityStub::ListProposals, list_proposals, proposals_route);
      if (owner) {
        ASSERT_THAT(proposals, IsOk());
        EXPECT_THAT(Names(proposals->proposals()), ElementsAre(proposal->name()));
      } else {
        expect_not_found(proposals.status(), "proposals");
      }
      auto complaints =
          front.Call(*as, &ComplaintStub::ListComplaints, list_complaints, {"GET", "/v1/complaints", ""});
      ASSERT_THAT(complaints, IsOk());
      shows(Names(complaints->complaints()), complaint->name());
      shows(Names(complaints->complaints()), open_complaint->name());
      auto visits = front.Call(*as, &SchedulingStub::ListVisits, list_visits, {"GET", "/v1/visits", ""});
      ASSERT_THAT(visits, IsOk());
      shows(Names(visits->visits()), visit->name());
      shows(Names(visits->visits()), today_visit->name());
    }
    // Their own dashboard has no pipeline of the owner's.
    auto others_dashboard =
        front.Call(kOther, &GatewayStub::GetDashboard, dashboard_request, {"GET", "/v1/dashboard", ""});
    ASSERT_THAT(others_dashboard, IsOk());
    EXPECT_EQ(others_dashboard->owner(), kOther.subject);
    EXPECT_EQ(others_dashboard->figures().visits_planned(), 0);
    for (const opb::PipelineLine& line : others_dashboard->figures().weighted_pipeline()) {
      EXPECT_EQ(line.open_count(), 0);
    }
  }

  // ---- 11. The scheduling service stops: Customer 360 still answers,
  // with the scheduling parts listed as unavailable; suite health says so.
  ASSERT_THAT(suite_->Terminate(crm::testing::Service::kScheduling), IsOk());
  auto degraded = front.Call(kOwner, &GatewayStub::GetCustomer360, get360, view360_route);
  ASSERT_THAT(degraded, IsOk());
  EXPECT_EQ(degraded->customer().name(), customer->name());
  EXPECT_THAT(Names(degraded->open_opportunities()), ElementsAre(opportunity->name()));
  EXPECT_THAT(degraded->upcoming_visits(), ::testing::IsEmpty());
  EXPECT_THAT(degraded->due_tasks(), ::testing::IsEmpty());
  EXPECT_THAT(UnavailableParts(degraded->unavailable()),
              ElementsAre("due_tasks from scheduling", "upcoming_visits from scheduling"));
  for (const gw::UnavailablePart& part : degraded->unavailable()) EXPECT_FALSE(part.code().empty());
  auto degraded_health =
      front.Call(kOwner, &GatewayStub::GetSuiteHealth, gw::GetSuiteHealthRequest(), health_route);
  ASSERT_THAT(degraded_health, IsOk());
  EXPECT_EQ(degraded_health->status(), "NOT_SERVING");
  for (const gw::ServiceHealth& s : degraded_health->services()) {
    EXPECT_EQ(s.status() == "SERVING", s.service() != "scheduling") << s.service() << " " << s.status();
  }
}

TEST_P(GatewaySuiteFrontTest, RefusesCallsWithoutAValidToken) {
  ASSERT_NO_FATAL_FAILURE(StartSuite());
  Front front = MakeFront(GetParam());
  cpb::CreateCustomerRequest create;
  create.mutable_customer()->set_kind(cpb::INDIVIDUAL);
  create.mutable_customer()->set_display_name("鉴权客户");
  auto customer = front.Call(kOwner, &CustomerStub::CreateCustomer, create, {"POST", "/v1/customers", "customer"});
  ASSERT_THAT(customer, IsOk());
  cpb::GetCustomerRequest get;
  get.set_name(customer->name());
  const HttpRoute get_route{"GET", absl::StrCat("/v1/", customer->name()), ""};
  const HttpRoute health_route{"GET", "/v1/suite:health", ""};
  const absl::Time now = absl::Now();
  const std::string valid = E2eBearer(kOwner, kE2eKey, "crm", now, absl::Hours(1));
  ASSERT_THAT(front.Call(valid, &CustomerStub::GetCustomer, get, get_route), IsOk());
  ASSERT_THAT(front.Call(valid, &GatewayStub::GetSuiteHealth, gw::GetSuiteHealthRequest(), health_route), IsOk());

  // A character in the middle of the signature (the last one may carry
  // unused bits) changed.
  std::string bad_signature = valid;
  char& c = bad_signature[bad_signature.size() - 10];
  c = c == 'A' ? 'B' : 'A';
  const std::pair<const char*, std::string> cases[] = {
      {"no token", ""},
      {"not a bearer token", "Basic dXNlcjpwYXNz"},
      {"bad signature", bad_signature},
      {"another key", E2eBearer(kOwner, "another-hs256-key-0123456789abcdef012345", "crm", now, absl::Hours(1))},
      {"expired", E2eBearer(kOwner, kE2eKey, "crm", now - absl::Hours(2), absl::Hours(1))},
      {"wrong audience", E2eBearer(kOwner, kE2eKey, "not-crm", now, absl::Hours(1))},
  };
  for (const auto& [what, authorization] : cases) {
    SCOPED_TRACE(what);
    // A call forwarded to a service, and one the gateway answers itself.
    EXPECT_THAT(front.Call(authorization, &CustomerStub::GetCustomer, get, get_route),
                StatusIs(absl::StatusCode::kUnauthenticated));
    if (front.http()) {
      EXPECT_EQ(front.last_http_status(), 401);
    }
    EXPECT_THAT(front.Call(authorization, &GatewayStub::GetSuiteHealth, gw::GetSuiteHealthRequest(), health_route),
                StatusIs(absl::StatusCode::kUnauthenticated));
    if (front.http()) {
      EXPECT_EQ(front.last_http_status(), 401);
    }
  }
}

TEST_F(GatewaySuiteTest, HttpFrontRateLimitsEachPrincipal) {
  ASSERT_NO_FATAL_FAILURE(StartSuite({{"CRM_RATE_LIMIT_PER_SECOND", "5"}, {"CRM_RATE_LIMIT_BURST", "5"}}));
  Front front = MakeFront(FrontKind::kHttp);
  cpb::GetCustomerRequest get;
  get.set_name("customers/0");
  const HttpRoute route{"GET", "/v1/customers/0", ""};
  // Five quick calls pass the door (whatever the customers service then
  // says of a customer that does not exist); the sixth is refused.
  for (int i = 0; i < 5; ++i) {
    const absl::Status s = front.Call(kOwner, &CustomerStub::GetCustomer, get, route).status();
    EXPECT_NE(front.last_http_status(), 429) << i;
    EXPECT_NE(s.code(), absl::StatusCode::kResourceExhausted) << i << " " << s;
    EXPECT_NE(s.code(), absl::StatusCode::kUnavailable) << i << " " << s;
  }
  const absl::Status refused = front.Call(kOwner, &CustomerStub::GetCustomer, get, route).status();
  EXPECT_EQ(front.last_http_status(), 429);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted));
  // The JSON error carries the RetryInfo hint.
  const std::optional<absl::Duration> retry = RetryDelay(refused);
  ASSERT_TRUE(retry.has_value()) << refused;
  EXPECT_GT(*retry, absl::ZeroDuration());
  EXPECT_LE(*retry, absl::Seconds(1));
  // Another principal has a bucket of its own.
  front.Call(kOther, &CustomerStub::GetCustomer, get, route).status().IgnoreError();
  EXPECT_NE(front.last_http_status(), 429);
}

TEST_F(GatewaySuiteTest, CurlReadsACustomerOverHttp) {
  if (std::system("command -v curl >/dev/null 2>&1") != 0) GTEST_SKIP() << "curl is not installed";
  ASSERT_NO_FATAL_FAILURE(StartSuite());
  Front front = MakeFront(FrontKind::kHttp);
  cpb::CreateCustomerRequest create;
  create.mutable_customer()->set_kind(cpb::INDIVIDUAL);
  create.mutable_customer()->set_display_name("命令行客户");
  auto customer = front.Call(kOwner, &CustomerStub::CreateCustomer, create, {"POST", "/v1/customers", "customer"});
  ASSERT_THAT(customer, IsOk());

  const std::string command = absl::StrCat("curl -s -w '\\n%{http_code}' -H 'Authorization: ", E2eBearer(kOwner),
                                           "' http://127.0.0.1:", suite_->http_port(), "/v1/", customer->name());
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  ASSERT_EQ(pclose(pipe), 0) << out;
  const size_t newline = out.rfind('\n');
  ASSERT_NE(newline, std::string::npos) << out;
  EXPECT_EQ(out.substr(newline + 1), "200") << out;
  cpb::Customer read;
  ASSERT_TRUE(gpb::util::JsonStringToMessage(out.substr(0, newline), &read).ok()) << out;
  EXPECT_EQ(read.name(), customer->name());
  EXPECT_EQ(read.display_name(), "命令行客户");
  EXPECT_EQ(read.owner(), kOwner.subject);
}

}  // namespace
}  // namespace crm
