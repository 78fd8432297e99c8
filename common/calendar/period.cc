#include "common/calendar/period.h"

#include "absl/status/status.h"

namespace crm::calendar {

absl::StatusOr<std::pair<absl::CivilDay, absl::CivilDay>> PeriodRange(Period period, absl::CivilDay start) {
  switch (period) {
    case Period::kWeek:
      if (absl::GetWeekday(start) != absl::Weekday::monday) {
        return absl::InvalidArgumentError("a week starts on a Monday");
      }
      return std::make_pair(start, start + 7);
    case Period::kMonth:
      if (start.day() != 1) return absl::InvalidArgumentError("a month starts on its 1st");
      return std::make_pair(start, absl::CivilDay(absl::CivilMonth(start) + 1));
    case Period::kQuarter:
      if (start.day() != 1 || (start.month() - 1) % 3 != 0) {
        return absl::InvalidArgumentError("a quarter starts on Jan 1, Apr 1, Jul 1 or Oct 1");
      }
      return std::make_pair(start, absl::CivilDay(absl::CivilMonth(start) + 3));
    case Period::kYear:
      if (start.day() != 1 || start.month() != 1) return absl::InvalidArgumentError("a year starts on Jan 1");
      return std::make_pair(start, absl::CivilDay(absl::CivilYear(start) + 1));
  }
  return absl::InvalidArgumentError("unknown period");
}

absl::CivilDay PeriodStartContaining(Period period, absl::CivilDay day) {
  switch (period) {
    case Period::kWeek:
      return absl::PrevWeekday(day + 1, absl::Weekday::monday);
    case Period::kMonth:
      return absl::CivilDay(absl::CivilMonth(day));
    case Period::kQuarter:
      return absl::CivilDay(day.year(), day.month() - (day.month() - 1) % 3, 1);
    case Period::kYear:
      return absl::CivilDay(absl::CivilYear(day));
  }
  return day;
}

}  // namespace crm::calendar
