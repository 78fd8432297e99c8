#pragma once
// Reporting periods (SCH-10 work plans, GW-4 dashboards): a week from a
// Monday, a month, a quarter or a year, as a half-open range of civil days.
// Shared so that the scheduling service's summaries and the gateway's
// dashboards cut a period the same way.

#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"

namespace crm::calendar {

enum class Period { kWeek, kMonth, kQuarter, kYear };

// [first day, day after the last) of the period starting on `start`;
// INVALID_ARGUMENT (message only; callers name the field) when `start` is
// not a first day of such a period.
absl::StatusOr<std::pair<absl::CivilDay, absl::CivilDay>> PeriodRange(Period period, absl::CivilDay start);

// The period of kind `period` that contains `day` (for "the current month").
absl::CivilDay PeriodStartContaining(Period period, absl::CivilDay day);

}  // namespace crm::calendar
