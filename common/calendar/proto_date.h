#pragma once
// crm.type.v1.Date ↔ absl::CivilDay, one way for every service and the
// gateway.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "common/status/status.h"
#include "crm/type/v1/types.pb.h"

namespace crm::calendar {

// INVALID_ARGUMENT naming `field` for an impossible date (absl would
// normalise 2026-02-30 to March 2).
inline absl::StatusOr<absl::CivilDay> DayOf(const type::v1::Date& d, const std::string& field) {
  const absl::CivilDay day(d.year(), d.month(), d.day());
  if (d.year() < 1900 || d.year() > 9999 || day.month() != d.month() || day.day() != d.day() ||
      day.year() != d.year()) {
    return InvalidField(field, "not a valid date");
  }
  return day;
}

inline void SetDate(absl::CivilDay day, type::v1::Date* out) {
  out->set_year(static_cast<int32_t>(day.year()));
  out->set_month(day.month());
  out->set_day(day.day());
}

}  // namespace crm::calendar
