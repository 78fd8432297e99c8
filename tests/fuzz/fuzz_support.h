#pragma once
// What every fuzz target checks. A finding must stop the process: libFuzzer
// saves the input that did it, and the replay build (replay_main.cc) fails
// its test on the checked-in copy.

#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>

#include <google/protobuf/message.h>
#include <google/protobuf/stubs/logging.h>

#include "absl/status/status.h"
#include "common/status/status.h"

namespace crm::fuzz {

[[noreturn]] inline void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz check failed: %s: %s\n", what, detail.c_str());
  std::abort();
}

#define CRM_FUZZ_CHECK(condition, detail) \
  do {                                    \
    if (!(condition)) ::crm::fuzz::Fail(#condition, (detail)); \
  } while (0)

// Bad input is refused with one of `allowed` (INVALID_ARGUMENT unless said
// otherwise), never another code; INVALID_ARGUMENT names every offending
// field (DESIGN.md: a google.rpc.BadRequest field violation).
inline void CheckRefusal(const absl::Status& status,
                         std::initializer_list<absl::StatusCode> allowed = {absl::StatusCode::kInvalidArgument}) {
  if (status.ok()) return;
  bool expected = false;
  for (absl::StatusCode code : allowed) expected = expected || status.code() == code;
  CRM_FUZZ_CHECK(expected, status.ToString());
  if (status.code() != absl::StatusCode::kInvalidArgument) return;
  const std::vector<FieldViolation> violations = FieldViolations(status);
  CRM_FUZZ_CHECK(!violations.empty(), status.ToString());
  for (const FieldViolation& v : violations) {
    CRM_FUZZ_CHECK(!v.field.empty() && !v.description.empty(), status.ToString());
  }
}

// Protobuf's log lines (e.g. "invalid UTF-8 data" for fuzzed strings) are
// expected by the thousand; writing them only slows the fuzzer down.
inline void QuietProtobufLogs() {
  static const bool quiet = (google::protobuf::SetLogHandler(nullptr), true);
  (void)quiet;
}

// Fuzz bytes as a message in the protobuf wire format; false for bytes that
// are not one (the gRPC server would refuse them before any handler runs).
inline bool ParseInput(const uint8_t* data, size_t size, google::protobuf::Message& message) {
  QuietProtobufLogs();
  return message.ParseFromArray(data, static_cast<int>(size));
}

}  // namespace crm::fuzz
