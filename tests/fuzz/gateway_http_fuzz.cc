// Fuzz target over the gateway's HTTP/JSON transcoder
// (services/gateway/src/http_routes.*): route matching, the JSON body into
// the request message, path and query values into its fields, and the JSON
// written back (replies and errors). Input: "<METHOD> <path>[?<query>]" on
// the first line, the body after it.
//
// Checked: a request is refused only with NOT_FOUND (no route) or
// INVALID_ARGUMENT naming the field; an error reply is valid UTF-8 JSON; a
// routed request survives the wire format the backend parses (proto3 strings
// must be valid UTF-8) and its JSON reads back.

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/util/json_util.h>

#include <memory>
#include <string>
#include <string_view>

#include "crm/complaints/v1/complaints.pb.h"
#include "crm/customers/v1/customers.pb.h"
#include "crm/gateway/v1/gateway.pb.h"
#include "crm/opportunities/v1/opportunities.pb.h"
#include "crm/scheduling/v1/scheduling.pb.h"
#include "services/gateway/src/http_routes.h"
#include "tests/fuzz/fuzz_support.h"

namespace crm::gateway {
namespace {

namespace gpb = ::google::protobuf;
using fuzz::CheckRefusal;

// The routes crm-gateway serves (services/gateway/src/main.cc).
const HttpRoutes& Routes() {
  static const HttpRoutes* const routes = [] {
    auto compiled = HttpRoutes::ForServices({
        customers::v1::Customer::descriptor()->file()->FindServiceByName("CustomerService"),
        opportunities::v1::Opportunity::descriptor()->file()->FindServiceByName("OpportunityService"),
        complaints::v1::Complaint::descriptor()->file()->FindServiceByName("ComplaintService"),
        scheduling::v1::Visit::descriptor()->file()->FindServiceByName("SchedulingService"),
        gateway::v1::Customer360::descriptor()->file()->FindServiceByName("GatewayService"),
    });
    if (!compiled.ok()) fuzz::Fail("routes", compiled.status().ToString());
    return compiled->release();
  }();
  return *routes;
}

bool ValidUtf8(const std::string& text) {
  return gpb::internal::IsStructurallyValidUTF8(text.data(), static_cast<int>(text.size()));
}

void CheckJson(const std::string& json, const std::string& what) {
  CRM_FUZZ_CHECK(ValidUtf8(json), what + ": " + json);
  gpb::Value value;
  CRM_FUZZ_CHECK(gpb::util::JsonStringToMessage(json, &value).ok(), what + ": " + json);
}

void Transcode(std::string_view method, std::string_view path, std::string_view query, std::string_view body) {
  absl::StatusOr<RoutedCall> call = Routes().Route(method, path, query, body);
  if (!call.ok()) {
    CheckRefusal(call.status(), {absl::StatusCode::kNotFound, absl::StatusCode::kInvalidArgument});
    const JsonReply reply = ErrorReply(call.status());
    CRM_FUZZ_CHECK(reply.http_status == 400 || reply.http_status == 404, std::to_string(reply.http_status));
    CheckJson(reply.body, "error reply");
    return;
  }
  const gpb::Message& request = *call->request;
  // What the backend receives: it refuses a message that does not parse.
  std::string wire;
  CRM_FUZZ_CHECK(request.SerializeToString(&wire), call->grpc_method);
  std::unique_ptr<gpb::Message> received(request.New());
  CRM_FUZZ_CHECK(received->ParseFromString(wire),
                 call->grpc_method + ": the backend cannot parse " + request.ShortDebugString());
  // The request as JSON (what the gateway logs and replies are made of).
  const std::string json = MessageToJson(request);
  CheckJson(json, call->grpc_method);
  // It reads back as the same type. (Not always into an equal message: the
  // JSON form of a FieldMask cannot carry every path, e.g. "a/b"; such masks
  // are refused by the service, so that is no gateway bug.)
  std::unique_ptr<gpb::Message> back(request.New());
  CRM_FUZZ_CHECK(gpb::util::JsonStringToMessage(json, back.get()).ok(), json);
}

}  // namespace
}  // namespace crm::gateway

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  crm::fuzz::QuietProtobufLogs();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t line_end = std::min(input.find('\n'), input.size());
  const std::string_view line = input.substr(0, line_end);
  const std::string_view body = line_end < input.size() ? input.substr(line_end + 1) : std::string_view();
  const size_t space = line.find(' ');
  if (space == std::string_view::npos) return -1;  // not a request line: not kept in the corpus
  const std::string_view target = line.substr(space + 1);
  const size_t question = std::min(target.find('?'), target.size());
  const std::string_view query = question < target.size() ? target.substr(question + 1) : std::string_view();
  crm::gateway::Transcode(line.substr(0, space), target.substr(0, question), query, body);
  return 0;
}
