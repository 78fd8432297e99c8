#pragma once
// Working-day calendar for deadlines stated in working days (OPP-6, OPP-8)
// and working hours (complaint SLAs): weekends, a holiday table and, as in
// China, make-up working days (调休) that fall on a weekend. Dates are civil
// days in the business time zone (Asia/Shanghai unless configured).

#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace crm::calendar {

// Daily business hours as minutes after midnight, [open, close).
struct BusinessHours {
  int open_minute = 9 * 60;
  int close_minute = 18 * 60;
};

struct CalendarConfig {
  absl::TimeZone zone;                         // see LoadBusinessZone
  std::set<absl::CivilDay> holidays;           // days off, weekday or not
  std::set<absl::CivilDay> working_weekends;   // make-up working days on Sat/Sun
  BusinessHours hours;
};

class WorkingCalendar {
 public:
  // A calendar with weekends only, in Asia/Shanghai, 09:00-18:00.
  WorkingCalendar();
  // INVALID_ARGUMENT when the hours are not 0 <= open < close <= 24:00 or a
  // day is both a holiday and a make-up working day.
  static absl::StatusOr<WorkingCalendar> Create(CalendarConfig config);

  bool IsWorkingDay(absl::CivilDay day) const;
  // The n-th working day after `day` (n > 0), before it (n < 0), or `day`
  // itself (n == 0). `day` need not be a working day itself: one working day
  // after a Saturday is the Monday.
  absl::CivilDay AddWorkingDays(absl::CivilDay day, int n) const;
  // Working days in (from, to]; negative when `to` is before `from`.
  int WorkingDaysBetween(absl::CivilDay from, absl::CivilDay to) const;

  // The civil day of `t` in the business time zone, and the instant a day
  // ends (midnight at the start of the next day).
  absl::CivilDay DayOf(absl::Time t) const;
  absl::Time EndOf(absl::CivilDay day) const;
  absl::Time StartOf(absl::CivilDay day) const;

  // `t` plus `d` counted only inside business hours of working days (an SLA
  // of 8 working hours raised on Friday 17:00 ends Monday 16:00).
  absl::Time AddWorkingHours(absl::Time t, absl::Duration d) const;
  // Business hours of working days inside [from, to): the inverse of
  // AddWorkingHours (zero when `to` is not after `from`).
  absl::Duration WorkingHoursBetween(absl::Time from, absl::Time to) const;

  const absl::TimeZone& zone() const { return config_.zone; }
  const CalendarConfig& config() const { return config_; }

 private:
  explicit WorkingCalendar(CalendarConfig config) : config_(std::move(config)) {}
  CalendarConfig config_;
};

// Loads an IANA zone. "Asia/Shanghai" falls back to a fixed UTC+8 when the
// system has no tzdata (China has had no daylight saving since 1991).
absl::StatusOr<absl::TimeZone> LoadBusinessZone(absl::string_view name);

// Parses a holiday table: one entry per line or separated by commas,
//   2027-10-01..2027-10-07 holiday     # National Day
//   2027-09-26 workday                 # make-up working day (Sunday)
// The kind defaults to "holiday"; '#' starts a comment. Adds to `config`.
absl::Status ParseHolidayTable(absl::string_view text, CalendarConfig& config);

// "2027-10-01" → CivilDay; INVALID_ARGUMENT otherwise.
absl::StatusOr<absl::CivilDay> ParseDay(absl::string_view ymd);
std::string FormatDay(absl::CivilDay day);

}  // namespace crm::calendar
