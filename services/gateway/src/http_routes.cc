#include "services/gateway/src/http_routes.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/status/grpc_status.h"
#include "common/status/status.h"
#include "google/api/annotations.pb.h"
#include "google/rpc/status.pb.h"

namespace crm::gateway {

namespace gpb = google::protobuf;
using FieldPath = std::vector<const gpb::FieldDescriptor*>;

namespace {

enum class SegmentKind { kLiteral, kStar, kDoubleStar };

struct Segment {
  SegmentKind kind;
  std::string literal;
};

struct Variable {
  std::string field_name;  // "customer.name"
  FieldPath field;
  size_t begin = 0;  // segment range bound by the variable
  size_t end = 0;
};

std::string PathName(const FieldPath& path) {
  std::vector<std::string> names;
  for (const auto* f : path) names.push_back(f->name());
  return absl::StrJoin(names, ".");
}

// Resolves "a.b.c" (proto or JSON names) below `message`; every step but the
// last must be a singular message.
absl::StatusOr<FieldPath> ResolveField(const gpb::Descriptor* message, absl::string_view dotted) {
  FieldPath path;
  const gpb::Descriptor* current = message;
  for (absl::string_view part : absl::StrSplit(dotted, '.')) {
    if (current == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("\"", dotted, "\" goes below a non-message field"));
    }
    const gpb::FieldDescriptor* f = current->FindFieldByName(std::string(part));
    for (int i = 0; f == nullptr && i < current->field_count(); ++i) {
      if (current->field(i)->json_name() == part) f = current->field(i);
    }
    if (f == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(current->full_name(), " has no field \"", std::string(part), "\""));
    }
    if (!path.empty() && path.back()->is_repeated()) {
      return absl::InvalidArgumentError(absl::StrCat("\"", dotted, "\" goes below a repeated field"));
    }
    path.push_back(f);
    current = f->cpp_type() == gpb::FieldDescriptor::CPPTYPE_MESSAGE ? f->message_type() : nullptr;
  }
  return path;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; with `plus_is_space` for query strings.
std::string Unescape(absl::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%' && i + 2 < in.size()) {
      int hi = HexDigit(in[i + 1]), lo = HexDigit(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

std::string JsonQuote(absl::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
  return out;
}

gpb::util::JsonParseOptions ParseOptions() {
  gpb::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  return options;
}

// The field named in a protobuf JSON parse error ("(customer.kind): invalid
// value ..."), or empty.
std::string FieldOfParseError(absl::string_view message) {
  size_t open = message.find('(');
  size_t close = message.find("):");
  if (open == absl::string_view::npos || close == absl::string_view::npos || close < open) return "";
  return std::string(message.substr(open + 1, close - open - 1));
}

// Sets a scalar (or appends to a repeated) field reached through `path`
// from its text form, the way grpc-gateway reads path and query values.
absl::Status SetFromText(gpb::Message& root, const FieldPath& path, const std::string& text,
                         const std::string& param) {
  gpb::Message* msg = &root;
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    msg = msg->GetReflection()->MutableMessage(msg, path[i]);
  }
  const gpb::FieldDescriptor* f = path.back();
  const gpb::Reflection* r = msg->GetReflection();
  const bool rep = f->is_repeated();
  auto bad = [&](absl::string_view what) {
    return InvalidField(param, absl::StrCat("\"", text, "\" is not ", what));
  };
  switch (f->cpp_type()) {
    case gpb::FieldDescriptor::CPPTYPE_STRING: {
      std::string value = text;
      if (f->type() == gpb::FieldDescriptor::TYPE_BYTES) {
        if (!absl::WebSafeBase64Unescape(text, &value) && !absl::Base64Unescape(text, &value)) return bad("base64");
      } else if (ValidUtf8(text) != text) {
        // A proto3 string must be UTF-8: the backend would refuse to parse the
        // whole request (INTERNAL) instead of naming this parameter.
        return bad("valid UTF-8");
      }
      rep ? r->AddString(msg, f, value) : r->SetString(msg, f, value);
      return absl::OkStatus();
    }
    case gpb::FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!absl::SimpleAtoi(text, &v)) return bad("a 32-bit integer");
      rep ? r->AddInt32(msg, f, v) : r->SetInt32(msg, f, v);
      return absl::OkStatus();
    }
    case gpb::FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!absl::SimpleAtoi(text, &v)) return bad("an integer");
      rep ? r->AddInt64(msg, f, v) : r->SetInt64(msg, f, v);
      return absl::OkStatus();
    }
    case gpb::FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (!absl::SimpleAtoi(text, &v)) return bad("an unsigned 32-bit integer");
      rep ? r->AddUInt32(msg, f, v) : r->SetUInt32(msg, f, v);
      return absl::OkStatus();
    }
    case gpb::FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!absl::SimpleAtoi(text, &v)) return bad("an unsigned integer");
      rep ? r->AddUInt64(msg, f, v) : r->SetUInt64(msg, f, v);
      return absl::OkStatus();
    }
    case gpb::FieldDescriptor::CPPTYPE_DOUBLE: {
      double v;
      if (!absl::SimpleAtod(text, &v)) return bad("a number");
      rep ? r->AddDouble(msg, f, v) : r->SetDouble(msg, f, v);
      return absl::OkStatus();
    }
    case gpb::FieldDescriptor::CPPTYPE_FLOAT: {
      float v;
      if (!absl::SimpleAtof(text, &v)) return bad("a number");
      rep ? r->AddFloat(msg, f, v) : r->SetFloat(msg, f, v);
      return absl::OkStatus();
    }
    case gpb::FieldDescriptor::CPPTYPE_BOOL: {
      bool v;
      if (text == "true" || text == "1") {
        v = true;
      } else if (text == "false" || text == "0") {
        v = false;
      } else {
        return bad("true or false");
      }
      rep ? r->AddBool(msg, f, v) : r->SetBool(msg, f, v);
      return absl::OkStatus();
    }
    case gpb::FieldDescriptor::CPPTYPE_ENUM: {
      const gpb::EnumValueDescriptor* v = f->enum_type()->FindValueByName(text);
      int number;
      if (v == nullptr && absl::SimpleAtoi(text, &number)) v = f->enum_type()->FindValueByNumber(number);
      if (v == nullptr) return bad(absl::StrCat("a value of ", f->enum_type()->name()));
      rep ? r->AddEnum(msg, f, v) : r->SetEnum(msg, f, v);
      return absl::OkStatus();
    }
    case gpb::FieldDescriptor::CPPTYPE_MESSAGE: {
      // Well-known types with a string JSON form: Timestamp, Duration,
      // FieldMask, wrappers.
      gpb::Message* sub = rep ? r->AddMessage(msg, f) : r->MutableMessage(msg, f);
      auto status = gpb::util::JsonStringToMessage(JsonQuote(text), sub, ParseOptions());
      if (!status.ok()) return bad(absl::StrCat("a ", f->message_type()->full_name()));
      return absl::OkStatus();
    }
  }
  return bad("supported");
}

std::vector<std::pair<std::string, std::string>> ParseQuery(absl::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    size_t eq = pair.find('=');
    std::string key = Unescape(pair.substr(0, eq), true);
    std::string value = eq == absl::string_view::npos ? "" : Unescape(pair.substr(eq + 1), true);
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

}  // namespace

struct HttpRoutes::CompiledRoute {
  std::string http_method;  // "GET", ...
  std::string template_text;
  std::vector<Segment> segments;
  std::string verb;  // custom verb after ':' ("archive"), or empty
  std::vector<Variable> variables;
  std::string body;  // "", "*" or a field name
  const gpb::FieldDescriptor* body_field = nullptr;
  const gpb::MethodDescriptor* method = nullptr;
  std::string grpc_method;

  // The variable values when `parts` (the decoded path segments) match.
  std::optional<std::vector<std::string>> Match(const std::vector<std::string>& parts) const {
    const bool tail = !segments.empty() && segments.back().kind == SegmentKind::kDoubleStar;
    if (tail ? parts.size() < segments.size() - 1 : parts.size() != segments.size()) return std::nullopt;
    for (size_t i = 0; i < segments.size(); ++i) {
      const Segment& s = segments[i];
      if (s.kind == SegmentKind::kDoubleStar) break;
      if (s.kind == SegmentKind::kLiteral && parts[i] != s.literal) return std::nullopt;
      if (s.kind == SegmentKind::kStar && parts[i].empty()) return std::nullopt;
    }
    std::vector<std::string> values;
    for (const Variable& v : variables) {
      size_t end = v.end == segments.size() && tail ? parts.size() : v.end;
      std::vector<absl::string_view> bound(parts.begin() + v.begin, parts.begin() + end);
      values.push_back(absl::StrJoin(bound, "/"));
    }
    return values;
  }
};

namespace {

using CompiledRoute = HttpRoutes::CompiledRoute;

absl::Status ParseSegments(absl::string_view text, std::vector<Segment>& out) {
  for (absl::string_view part : absl::StrSplit(text, '/')) {
    if (part == "*") {
      out.push_back({SegmentKind::kStar, ""});
    } else if (part == "**") {
      out.push_back({SegmentKind::kDoubleStar, ""});
    } else if (part.empty() || part.find_first_of("{}*=:") != absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("bad segment \"", part, "\""));
    } else {
      out.push_back({SegmentKind::kLiteral, std::string(part)});
    }
  }
  return absl::OkStatus();
}

// "/v1/{name=customers/*}:archive" → segments, variables and verb.
absl::Status CompileTemplate(absl::string_view text, const gpb::Descriptor* input, CompiledRoute& route) {
  auto error = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("path template \"", text, "\": ", why));
  };
  if (text.empty() || text[0] != '/') return error("must start with '/'");
  absl::string_view rest = text.substr(1);
  size_t last_close = rest.rfind('}');
  size_t colon = rest.rfind(':');
  size_t last_slash = rest.rfind('/');
  if (colon != absl::string_view::npos && (last_close == absl::string_view::npos || colon > last_close) &&
      (last_slash == absl::string_view::npos || colon > last_slash)) {
    route.verb = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
  }
  while (!rest.empty()) {
    if (rest[0] == '{') {
      size_t close = rest.find('}');
      if (close == absl::string_view::npos) return error("unclosed '{'");
      absl::string_view inner = rest.substr(1, close - 1);
      size_t eq = inner.find('=');
      Variable var;
      var.field_name = std::string(inner.substr(0, eq));
      auto field = ResolveField(input, var.field_name);
      if (!field.ok()) return error(field.status().message());
      if (field->back()->is_repeated() ||
          field->back()->cpp_type() == gpb::FieldDescriptor::CPPTYPE_MESSAGE) {
        return error("a variable must name a singular scalar field");
      }
      var.field = *std::move(field);
      var.begin = route.segments.size();
      if (absl::Status s = ParseSegments(eq == absl::string_view::npos ? "*" : inner.substr(eq + 1),
                                         route.segments);
          !s.ok()) {
        return error(s.message());
      }
      var.end = route.segments.size();
      route.variables.push_back(std::move(var));
      rest = rest.substr(close + 1);
    } else {
      size_t stop = rest.find('/');
      if (absl::Status s = ParseSegments(rest.substr(0, stop), route.segments); !s.ok()) {
        return error(s.message());
      }
      rest = stop == absl::string_view::npos ? absl::string_view() : rest.substr(stop);
    }
    if (!rest.empty()) {
      if (rest[0] != '/') return error("expected '/' after a variable");
      rest = rest.substr(1);
      if (rest.empty()) return error("trailing '/'");
    }
  }
  for (size_t i = 0; i + 1 < route.segments.size(); ++i) {
    if (route.segments[i].kind == SegmentKind::kDoubleStar) return error("'**' must be last");
  }
  return absl::OkStatus();
}

absl::Status AddRule(const gpb::MethodDescriptor* method, const google::api::HttpRule& rule,
                     std::vector<std::unique_ptr<CompiledRoute>>& routes) {
  auto route = std::make_unique<CompiledRoute>();
  route->method = method;
  route->grpc_method = absl::StrCat("/", method->service()->full_name(), "/", method->name());
  switch (rule.pattern_case()) {
    case google::api::HttpRule::kGet: route->http_method = "GET"; route->template_text = rule.get(); break;
    case google::api::HttpRule::kPut: route->http_method = "PUT"; route->template_text = rule.put(); break;
    case google::api::HttpRule::kPost: route->http_method = "POST"; route->template_text = rule.post(); break;
    case google::api::HttpRule::kDelete:
      route->http_method = "DELETE";
      route->template_text = rule.delete_();
      break;
    case google::api::HttpRule::kPatch:
      route->http_method = "PATCH";
      route->template_text = rule.patch();
      break;
    case google::api::HttpRule::kCustom:
      route->http_method = absl::AsciiStrToUpper(rule.custom().kind());
      route->template_text = rule.custom().path();
      break;
    case google::api::HttpRule::PATTERN_NOT_SET:
      return absl::InvalidArgumentError(absl::StrCat(method->full_name(), ": HTTP rule without a pattern"));
  }
  if (absl::Status s = CompileTemplate(route->template_text, method->input_type(), *route); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(method->full_name(), ": ", s.message()));
  }
  route->body = rule.body();
  if (!route->body.empty() && route->body != "*") {
    route->body_field = method->input_type()->FindFieldByName(route->body);
    if (route->body_field == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(method->full_name(), ": body names no field \"", route->body, "\""));
    }
  }
  routes.push_back(std::move(route));
  for (const auto& extra : rule.additional_bindings()) {
    if (absl::Status s = AddRule(method, extra, routes); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

HttpRoutes::~HttpRoutes() = default;

absl::StatusOr<std::unique_ptr<HttpRoutes>> HttpRoutes::ForServices(
    const std::vector<const gpb::ServiceDescriptor*>& services) {
  std::unique_ptr<HttpRoutes> routes(new HttpRoutes());
  for (const gpb::ServiceDescriptor* service : services) {
    for (int i = 0; i < service->method_count(); ++i) {
      const gpb::MethodDescriptor* method = service->method(i);
      if (method->client_streaming() || method->server_streaming()) continue;
      if (!method->options().HasExtension(google::api::http)) continue;
      if (absl::Status s = AddRule(method, method->options().GetExtension(google::api::http), routes->routes_);
          !s.ok()) {
        return s;
      }
    }
  }
  // Routes with a custom verb first, so "/v1/customers/1:archive" is never
  // taken for a customer named "1:archive".
  std::stable_sort(routes->routes_.begin(), routes->routes_.end(),
                   [](const auto& a, const auto& b) { return !a->verb.empty() && b->verb.empty(); });
  return routes;
}

absl::StatusOr<RoutedCall> HttpRoutes::Route(std::string_view http_method_in, std::string_view path_in,
                                             std::string_view query_in, std::string_view body_in) const {
  const absl::string_view http_method(http_method_in.data(), http_method_in.size());
  const absl::string_view path(path_in.data(), path_in.size());
  const absl::string_view query(query_in.data(), query_in.size());
  const absl::string_view body(body_in.data(), body_in.size());
  if (path.empty() || path[0] != '/') return absl::NotFoundError("no route for this path");
  absl::string_view stripped = path.substr(1);
  size_t last_slash = stripped.rfind('/');
  size_t colon = stripped.rfind(':');
  absl::string_view verb;
  if (colon != absl::string_view::npos && (last_slash == absl::string_view::npos || colon > last_slash)) {
    verb = stripped.substr(colon + 1);
  }
  for (const auto& route : routes_) {
    if (route->http_method != http_method) continue;
    absl::string_view route_path = stripped;
    if (!route->verb.empty()) {
      if (verb != route->verb) continue;
      route_path = stripped.substr(0, colon);
    }
    std::vector<std::string> parts;
    for (absl::string_view part : absl::StrSplit(route_path, '/')) parts.push_back(Unescape(part, false));
    std::optional<std::vector<std::string>> values = route->Match(parts);
    if (!values) continue;

    RoutedCall call;
    call.method = route->method;
    call.grpc_method = route->grpc_method;
    call.request.reset(
        gpb::MessageFactory::generated_factory()->GetPrototype(route->method->input_type())->New());
    if (!route->body.empty()) {
      std::string json(body.empty() ? absl::string_view("{}") : body);
      gpb::Message* target = call.request.get();
      std::string prefix;
      if (route->body_field != nullptr) {
        prefix = route->body_field->name();
        if (route->body_field->cpp_type() == gpb::FieldDescriptor::CPPTYPE_MESSAGE &&
            !route->body_field->is_repeated()) {
          target = call.request->GetReflection()->MutableMessage(call.request.get(), route->body_field);
        } else {
          json = absl::StrCat("{", JsonQuote(route->body_field->json_name()), ":", json, "}");
          prefix.clear();
        }
      }
      auto parsed = gpb::util::JsonStringToMessage(json, target, ParseOptions());
      if (!parsed.ok()) {
        // Protobuf quotes the input cut at a byte count, which can split a
        // character: InvalidField makes the text valid UTF-8 again.
        const std::string message(parsed.message());
        std::string field = FieldOfParseError(message);
        if (!prefix.empty()) field = field.empty() ? prefix : absl::StrCat(prefix, ".", field);
        return InvalidField(field.empty() ? "body" : field, absl::StrCat("invalid JSON: ", message));
      }
    }
    for (size_t i = 0; i < route->variables.size(); ++i) {
      const Variable& var = route->variables[i];
      gpb::Message* msg = call.request.get();
      // A value from the body is overwritten: the path wins.
      if (absl::Status s = SetFromText(*msg, var.field, (*values)[i], var.field_name); !s.ok()) return s;
    }
    if (route->body != "*") {
      for (const auto& [key, value] : ParseQuery(query)) {
        if (key.empty()) return InvalidField("query", "a parameter without a name");
        auto field = ResolveField(route->method->input_type(), key);
        if (!field.ok()) return InvalidField(key, "no such field");
        if ((*field)[0] == route->body_field) {
          return InvalidField(key, "set in the body, not in the query");
        }
        if (field->back()->is_map() ||
            (field->back()->cpp_type() == gpb::FieldDescriptor::CPPTYPE_MESSAGE &&
             field->back()->message_type()->file()->name().rfind("google/protobuf/", 0) != 0)) {
          return InvalidField(key, "not a scalar field");
        }
        bool bound = false;
        for (const Variable& var : route->variables) bound = bound || PathName(var.field) == PathName(*field);
        if (bound) continue;  // the path value wins
        if (absl::Status s = SetFromText(*call.request, *field, value, key); !s.ok()) return s;
      }
    }
    return call;
  }
  return absl::NotFoundError(absl::StrCat("no route for ", http_method, " ", path));
}

namespace {

gpb::Value StringValue(absl::string_view s) {
  gpb::Value v;
  v.set_string_value(std::string(s));
  return v;
}

gpb::Struct& Obj(gpb::Struct& parent, const std::string& key) {
  return *(*parent.mutable_fields())[key].mutable_struct_value();
}

void Set(gpb::Struct& parent, const std::string& key, absl::string_view value) {
  (*parent.mutable_fields())[key].set_string_value(std::string(value));
}

std::string SchemaRef(const gpb::Descriptor* message) {
  return absl::StrCat("#/components/schemas/", message->full_name());
}

// OpenAPI schemas of the messages reached from the routes, by full name.
class SchemaBuilder {
 public:
  explicit SchemaBuilder(gpb::Struct& schemas) : schemas_(schemas) {}

  gpb::Struct MessageRef(const gpb::Descriptor* message) {
    gpb::Struct out;
    if (!WellKnown(message, out)) {
      Add(message);
      Set(out, "$ref", SchemaRef(message));
    }
    return out;
  }

  gpb::Struct Field(const gpb::FieldDescriptor* f) {
    if (f->is_map()) {
      gpb::Struct out;
      Set(out, "type", "object");
      *Obj(out, "additionalProperties").mutable_fields() = Single(f->message_type()->map_value()).fields();
      return out;
    }
    if (f->is_repeated()) {
      gpb::Struct out;
      Set(out, "type", "array");
      Obj(out, "items") = Single(f);
      return out;
    }
    return Single(f);
  }

 private:
  gpb::Struct Single(const gpb::FieldDescriptor* f) {
    gpb::Struct out;
    switch (f->type()) {
      case gpb::FieldDescriptor::TYPE_STRING: Set(out, "type", "string"); break;
      case gpb::FieldDescriptor::TYPE_BYTES: Set(out, "type", "string"); Set(out, "format", "byte"); break;
      case gpb::FieldDescriptor::TYPE_BOOL: Set(out, "type", "boolean"); break;
      case gpb::FieldDescriptor::TYPE_DOUBLE: Set(out, "type", "number"); Set(out, "format", "double"); break;
      case gpb::FieldDescriptor::TYPE_FLOAT: Set(out, "type", "number"); Set(out, "format", "float"); break;
      case gpb::FieldDescriptor::TYPE_INT32:
      case gpb::FieldDescriptor::TYPE_SINT32:
      case gpb::FieldDescriptor::TYPE_SFIXED32:
        Set(out, "type", "integer");
        Set(out, "format", "int32");
        break;
      case gpb::FieldDescriptor::TYPE_UINT32:
      case gpb::FieldDescriptor::TYPE_FIXED32:
        Set(out, "type", "integer");
        Set(out, "format", "int64");
        break;
      case gpb::FieldDescriptor::TYPE_INT64:
      case gpb::FieldDescriptor::TYPE_SINT64:
      case gpb::FieldDescriptor::TYPE_SFIXED64:
      case gpb::FieldDescriptor::TYPE_UINT64:
      case gpb::FieldDescriptor::TYPE_FIXED64:
        // The JSON mapping writes 64-bit integers as strings.
        Set(out, "type", "string");
        Set(out, "format", "int64");
        break;
      case gpb::FieldDescriptor::TYPE_ENUM: {
        Set(out, "type", "string");
        gpb::ListValue* values = (*out.mutable_fields())["enum"].mutable_list_value();
        for (int i = 0; i < f->enum_type()->value_count(); ++i) {
          *values->add_values() = StringValue(f->enum_type()->value(i)->name());
        }
        break;
      }
      case gpb::FieldDescriptor::TYPE_MESSAGE:
      case gpb::FieldDescriptor::TYPE_GROUP:
        return MessageRef(f->message_type());
    }
    return out;
  }

  // The JSON forms of the well-known types (protobuf JSON mapping).
  static bool WellKnown(const gpb::Descriptor* m, gpb::Struct& out) {
    const std::string& name = m->full_name();
    if (name == "google.protobuf.Timestamp") {
      Set(out, "type", "string");
      Set(out, "format", "date-time");
    } else if (name == "google.protobuf.Duration" || name == "google.protobuf.FieldMask") {
      Set(out, "type", "string");
    } else if (name == "google.protobuf.Struct" || name == "google.protobuf.Empty" ||
               name == "google.protobuf.Any") {
      Set(out, "type", "object");
    } else if (name == "google.protobuf.Value" || name == "google.protobuf.ListValue") {
      // any JSON value: an empty schema
    } else if (name == "google.protobuf.StringValue" || name == "google.protobuf.BytesValue") {
      Set(out, "type", "string");
    } else if (name == "google.protobuf.BoolValue") {
      Set(out, "type", "boolean");
    } else if (name == "google.protobuf.DoubleValue" || name == "google.protobuf.FloatValue") {
      Set(out, "type", "number");
    } else if (name == "google.protobuf.Int32Value" || name == "google.protobuf.UInt32Value") {
      Set(out, "type", "integer");
    } else if (name == "google.protobuf.Int64Value" || name == "google.protobuf.UInt64Value") {
      Set(out, "type", "string");
      Set(out, "format", "int64");
    } else {
      return false;
    }
    return true;
  }

  void Add(const gpb::Descriptor* message) {
    if (schemas_.fields().contains(message->full_name())) return;
    gpb::Struct& schema = Obj(schemas_, message->full_name());  // placed first: recursion stops here
    Set(schema, "type", "object");
    gpb::Struct properties;
    for (int i = 0; i < message->field_count(); ++i) {
      const gpb::FieldDescriptor* f = message->field(i);
      gpb::Struct field = Field(f);
      Obj(properties, f->json_name()) = std::move(field);
    }
    // `schema` may have moved while the recursion added schemas: look again.
    *Obj(Obj(schemas_, message->full_name()), "properties").mutable_fields() = properties.fields();
  }

  gpb::Struct& schemas_;
};

// "/v1/{name=customers/*/contacts/*}:x" → "/v1/customers/{customer}/contacts/{contact}:x"
// and one path parameter per wildcard, named after the collection before it.
struct OpenApiPath {
  std::string path;
  std::vector<std::string> parameters;
};

std::string Singular(absl::string_view collection) {
  std::string s(collection);
  if (s.size() > 1 && s.back() == 's') s.pop_back();
  return s.empty() ? "id" : s;
}

OpenApiPath ToOpenApiPath(const CompiledRoute& route) {
  OpenApiPath out;
  std::vector<std::string> parts;
  for (size_t i = 0; i < route.segments.size(); ++i) {
    const Segment& s = route.segments[i];
    if (s.kind == SegmentKind::kLiteral) {
      parts.push_back(s.literal);
      continue;
    }
    std::string name = i > 0 && route.segments[i - 1].kind == SegmentKind::kLiteral
                           ? Singular(route.segments[i - 1].literal)
                           : "path";
    std::string unique = name;
    for (int n = 2; std::find(out.parameters.begin(), out.parameters.end(), unique) != out.parameters.end(); ++n) {
      unique = absl::StrCat(name, n);
    }
    out.parameters.push_back(unique);
    parts.push_back(absl::StrCat("{", unique, "}"));
  }
  out.path = absl::StrCat("/", absl::StrJoin(parts, "/"), route.verb.empty() ? "" : ":", route.verb);
  return out;
}

std::string TemplateOf(const Variable& var, const CompiledRoute& route, const OpenApiPath& path) {
  std::vector<std::string> parts;
  size_t param = 0;
  for (size_t i = 0; i < var.end; ++i) {
    const Segment& s = route.segments[i];
    std::string text = s.kind == SegmentKind::kLiteral ? s.literal : absl::StrCat("{", path.parameters[param], "}");
    if (s.kind != SegmentKind::kLiteral) ++param;
    if (i >= var.begin) parts.push_back(text);
  }
  return absl::StrJoin(parts, "/");
}

}  // namespace

std::string HttpRoutes::RenderOpenApi() const {
  gpb::Struct doc;
  Set(doc, "openapi", "3.0.3");
  gpb::Struct& info = Obj(doc, "info");
  Set(info, "title", "CRM suite HTTP/JSON API (through crm-gateway)");
  Set(info, "version", "v1");
  Set(info, "description",
      "Generated from the google.api.http options of the service protos. Bodies and replies use the "
      "protobuf JSON mapping; errors are {code, status, message, details}.");
  gpb::Struct& components = Obj(doc, "components");
  gpb::Struct& bearer = Obj(Obj(components, "securitySchemes"), "bearer");
  Set(bearer, "type", "http");
  Set(bearer, "scheme", "bearer");
  Set(bearer, "bearerFormat", "JWT");
  gpb::Struct security_entry;
  (*security_entry.mutable_fields())["bearer"].mutable_list_value();
  *(*doc.mutable_fields())["security"].mutable_list_value()->add_values()->mutable_struct_value() =
      security_entry;

  gpb::Struct schemas;
  {
    gpb::Struct& error = Obj(schemas, "Error");
    Set(error, "type", "object");
    gpb::Struct& props = Obj(error, "properties");
    Set(Obj(props, "code"), "type", "integer");
    Set(Obj(props, "status"), "type", "string");
    Set(Obj(props, "message"), "type", "string");
    gpb::Struct& details = Obj(props, "details");
    Set(details, "type", "array");
    Set(Obj(details, "items"), "type", "object");
  }
  SchemaBuilder builder(schemas);
  gpb::Struct paths;
  for (const auto& route : routes_) {
    const gpb::MethodDescriptor* method = route->method;
    OpenApiPath path = ToOpenApiPath(*route);
    gpb::Struct operation;
    Set(operation, "operationId", absl::StrCat(method->service()->name(), "_", method->name()));
    Set(operation, "summary", method->full_name());
    *(*operation.mutable_fields())["tags"].mutable_list_value()->add_values() =
        StringValue(method->service()->full_name());
    gpb::ListValue* parameters = (*operation.mutable_fields())["parameters"].mutable_list_value();
    size_t param = 0;
    std::set<std::string> bound;
    for (const Variable& var : route->variables) {
      bound.insert(PathName(var.field));
      std::string field_template = TemplateOf(var, *route, path);
      for (size_t i = var.begin; i < var.end; ++i) {
        if (route->segments[i].kind == SegmentKind::kLiteral) continue;
        gpb::Struct p;
        Set(p, "name", path.parameters[param++]);
        Set(p, "in", "path");
        (*p.mutable_fields())["required"].set_bool_value(true);
        Set(p, "description", absl::StrCat("`", var.field_name, "` is \"", field_template, "\""));
        Set(Obj(p, "schema"), "type", "string");
        *parameters->add_values()->mutable_struct_value() = std::move(p);
      }
    }
    if (route->body != "*") {
      const gpb::Descriptor* input = method->input_type();
      for (int i = 0; i < input->field_count(); ++i) {
        const gpb::FieldDescriptor* f = input->field(i);
        if (f == route->body_field || bound.count(f->name()) || f->is_map()) continue;
        if (f->cpp_type() == gpb::FieldDescriptor::CPPTYPE_MESSAGE &&
            f->message_type()->file()->name().rfind("google/protobuf/", 0) != 0) {
          continue;  // nested messages travel in bodies only
        }
        gpb::Struct p;
        Set(p, "name", f->json_name());
        Set(p, "in", "query");
        Obj(p, "schema") = builder.Field(f);
        *parameters->add_values()->mutable_struct_value() = std::move(p);
      }
    }
    if (!route->body.empty()) {
      gpb::Struct& body = Obj(operation, "requestBody");
      (*body.mutable_fields())["required"].set_bool_value(true);
      Obj(Obj(Obj(body, "content"), "application/json"), "schema") =
          route->body_field != nullptr ? builder.Field(route->body_field) : builder.MessageRef(method->input_type());
    }
    gpb::Struct& responses = Obj(operation, "responses");
    gpb::Struct& ok = Obj(responses, "200");
    Set(ok, "description", "OK");
    Obj(Obj(Obj(ok, "content"), "application/json"), "schema") = builder.MessageRef(method->output_type());
    gpb::Struct& error = Obj(responses, "default");
    Set(error, "description", "An error: the gRPC code, its name, a message and details.");
    Set(Obj(Obj(Obj(error, "content"), "application/json"), "schema"), "$ref", "#/components/schemas/Error");
    Obj(Obj(paths, path.path), absl::AsciiStrToLower(route->http_method)) = std::move(operation);
  }
  *Obj(doc, "paths").mutable_fields() = paths.fields();
  *Obj(components, "schemas").mutable_fields() = schemas.fields();
  return MessageToJson(doc);
}

std::string MessageToJson(const gpb::Message& message) {
  gpb::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string out;
  auto status = gpb::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) return "{}";
  return out;
}

int HttpStatusForCode(grpc::StatusCode code) {
  switch (code) {
    case grpc::OK: return 200;
    case grpc::CANCELLED: return 499;
    case grpc::UNKNOWN: return 500;
    case grpc::INVALID_ARGUMENT: return 400;
    case grpc::DEADLINE_EXCEEDED: return 504;
    case grpc::NOT_FOUND: return 404;
    case grpc::ALREADY_EXISTS: return 409;
    case grpc::PERMISSION_DENIED: return 403;
    case grpc::UNAUTHENTICATED: return 401;
    case grpc::RESOURCE_EXHAUSTED: return 429;
    case grpc::FAILED_PRECONDITION: return 400;
    case grpc::ABORTED: return 409;
    case grpc::OUT_OF_RANGE: return 400;
    case grpc::UNIMPLEMENTED: return 501;
    case grpc::INTERNAL: return 500;
    case grpc::UNAVAILABLE: return 503;
    case grpc::DATA_LOSS: return 500;
    default: return 500;
  }
}


JsonReply ErrorReply(const grpc::Status& status) {
  gpb::Struct error;
  auto& fields = *error.mutable_fields();
  fields["code"].set_number_value(static_cast<int>(status.error_code()));
  fields["status"].set_string_value(absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())));
  // Messages may quote the request (an unrouted path): JSON must be UTF-8.
  fields["message"].set_string_value(ValidUtf8(status.error_message()));
  gpb::ListValue* details = fields["details"].mutable_list_value();
  google::rpc::Status rpc_status;
  if (!status.error_details().empty() && rpc_status.ParseFromString(status.error_details())) {
    for (const gpb::Any& any : rpc_status.details()) {
      std::string json;
      gpb::Value detail;
      if (!gpb::util::MessageToJsonString(any, &json).ok() ||
          !gpb::util::JsonStringToMessage(json, &detail).ok()) {
        (*detail.mutable_struct_value()->mutable_fields())["@type"].set_string_value(any.type_url());
      }
      *details->add_values() = std::move(detail);
    }
  }
  return {HttpStatusForCode(status.error_code()), MessageToJson(error)};
}

JsonReply ErrorReply(const absl::Status& status) { return ErrorReply(ToGrpcStatus(status)); }

}  // namespace crm::gateway
