#pragma once
// Helpers shared by the scheduling service's use-case files; not an API.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/calendar/proto_date.h"
#include "common/db/idempotency.h"
#include "common/status/status.h"
#include "common/util/page_token.h"
#include "crm/type/v1/types.pb.h"

namespace crm::scheduling::internal {

inline absl::Status CheckRequestId(const std::string& request_id, const std::string& field = "request_id") {
  if (request_id.empty()) return absl::OkStatus();
  if (absl::Status s = db::ValidateRequestId(request_id); !s.ok()) {
    return InvalidField(field, std::string(s.message()));
  }
  return absl::OkStatus();
}

inline int64_t CursorOf(const std::string& cursor) {
  int64_t id = 0;
  (void)absl::SimpleAtoi(cursor, &id);
  return id;
}

// The id of a name "<collection>/<id>" this service produced (already
// validated), 0 when it is not one.
inline int64_t IdOf(const std::string& name) {
  int64_t id = 0;
  (void)absl::SimpleAtoi(absl::string_view(name).substr(name.rfind('/') + 1), &id);
  return id;
}

using calendar::DayOf;
using calendar::SetDate;

inline std::string DayKey(absl::CivilDay day) {
  return absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day());
}

// Pages a list read with one extra row: trims it and sets the next token.
template <typename Rows, typename Response>
void FinishPage(Rows& rows, int page_size, const PageTokenCodec& tokens, const std::string& query,
                Response& resp) {
  const bool more = static_cast<int>(rows.size()) > page_size;
  if (more) rows.pop_back();
  if (more && !rows.empty()) resp.set_next_page_token(tokens.Encode(query, absl::StrCat(rows.back().id)));
}

}  // namespace crm::scheduling::internal
