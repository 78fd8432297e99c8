#pragma once
// absl::Time <-> google.protobuf.Timestamp and crm.type.v1.Date-style values.

#include <google/protobuf/timestamp.pb.h>

#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace crm {

inline void ToProto(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
}

// Within what a Timestamp may hold (0001-01-01 … 9999-12-31 UTC, nanos
// 0 … 999999999): check request timestamps with it before they are
// compared, stored or bound to a query.
inline bool IsValidTimestamp(const google::protobuf::Timestamp& ts) {
  return ts.seconds() >= -62135596800 && ts.seconds() <= 253402300799 && ts.nanos() >= 0 &&
         ts.nanos() <= 999999999;
}

inline absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

// "YYYY-MM-DD" for DATE columns.
inline std::string FormatYmd(int year, int month, int day) {
  return absl::StrFormat("%04d-%02d-%02d", year, month, day);
}

}  // namespace crm
