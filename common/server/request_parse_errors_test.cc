#include "common/server/request_parse_errors.h"

#include <google/protobuf/api.pb.h>
#include <google/protobuf/type.pb.h>
#include <gtest/gtest.h>

#include <string>

#include "common/status/status.h"

namespace crm::server {
namespace {

using google::protobuf::Api;

// `api` serialized, with the bytes of `marker` (a string field's value)
// replaced by an overlong encoding of '/', which no UTF-8 decoder accepts.
std::string WithInvalidUtf8(const Api& api, const std::string& marker) {
  std::string bytes = api.SerializeAsString();
  size_t at = bytes.find(marker);
  EXPECT_NE(at, std::string::npos);
  for (size_t i = 0; i < marker.size(); i += 2) {
    bytes[at + i] = static_cast<char>(0xC0);
    if (i + 1 < marker.size()) bytes[at + i + 1] = static_cast<char>(0xAF);
  }
  return bytes;
}

TEST(RequestParseErrorsTest, RecordsTheFieldWhoseUtf8FailedTheParseOnce) {
  CaptureRequestParseErrors();
  Api api;
  api.set_name("ok");
  api.mutable_source_context()->set_file_name("xxxx");
  Api parsed;
  EXPECT_FALSE(parsed.ParseFromString(WithInvalidUtf8(api, "xxxx")));
  EXPECT_EQ(TakeInvalidUtf8Field(), "google.protobuf.SourceContext.file_name");
  EXPECT_EQ(TakeInvalidUtf8Field(), "") << "taken once";
  EXPECT_TRUE(parsed.ParseFromString(api.SerializeAsString()));
  EXPECT_EQ(TakeInvalidUtf8Field(), "");
}

TEST(RequestParseErrorsTest, StreamEndStatusNamesThePathAndTheMessage) {
  CaptureRequestParseErrors();
  Api api;
  api.add_methods()->set_request_type_url("yyyy");
  Api parsed;
  EXPECT_FALSE(parsed.ParseFromString(WithInvalidUtf8(api, "yyyy")));
  absl::Status status = StreamEndStatus(*Api::descriptor(), 7);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(FieldViolations(status).size(), 1u);
  EXPECT_EQ(FieldViolations(status)[0].field, "methods.request_type_url");
  EXPECT_NE(FieldViolations(status)[0].description.find("message 7"), std::string::npos);
  EXPECT_TRUE(StreamEndStatus(*Api::descriptor(), 8).ok()) << "a stream that just ended";
}

TEST(RequestParseErrorsTest, FieldPathIsTheShortestFromTheRoot) {
  const auto& api = *Api::descriptor();
  EXPECT_EQ(FieldPathFrom(api, "google.protobuf.Api.name"), "name");
  EXPECT_EQ(FieldPathFrom(api, "google.protobuf.SourceContext.file_name"), "source_context.file_name");
  // Option is reachable as Api.options and as Api.methods.options.
  EXPECT_EQ(FieldPathFrom(api, "google.protobuf.Option.name"), "options.name");
  EXPECT_EQ(FieldPathFrom(api, "google.protobuf.Field.json_name"), "json_name")
      << "unreachable: the field's own name";
}

}  // namespace
}  // namespace crm::server
