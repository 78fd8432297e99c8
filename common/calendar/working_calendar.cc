#include "common/calendar/working_calendar.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace crm::calendar {
namespace {

// A configuration with no working day at all would make the searches below
// run forever; ten years without one is treated as "never".
constexpr int kMaxSearchDays = 3660;

bool IsWeekend(absl::CivilDay day) {
  const absl::Weekday w = absl::GetWeekday(day);
  return w == absl::Weekday::saturday || w == absl::Weekday::sunday;
}

}  // namespace

WorkingCalendar::WorkingCalendar() {
  config_.zone = *LoadBusinessZone("Asia/Shanghai");
}

absl::StatusOr<WorkingCalendar> WorkingCalendar::Create(CalendarConfig config) {
  const BusinessHours& h = config.hours;
  if (h.open_minute < 0 || h.close_minute > 24 * 60 || h.open_minute >= h.close_minute) {
    return absl::InvalidArgumentError("business hours must satisfy 00:00 <= open < close <= 24:00");
  }
  for (const absl::CivilDay& day : config.working_weekends) {
    if (config.holidays.count(day) > 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(FormatDay(day), " is both a holiday and a make-up working day"));
    }
  }
  return WorkingCalendar(std::move(config));
}

bool WorkingCalendar::IsWorkingDay(absl::CivilDay day) const {
  if (config_.holidays.count(day) > 0) return false;
  if (IsWeekend(day)) return config_.working_weekends.count(day) > 0;
  return true;
}

absl::CivilDay WorkingCalendar::AddWorkingDays(absl::CivilDay day, int n) const {
  const int step = n >= 0 ? 1 : -1;
  int remaining = n >= 0 ? n : -n;
  for (int searched = 0; remaining > 0 && searched < kMaxSearchDays; ++searched) {
    day += step;
    if (IsWorkingDay(day)) {
      --remaining;
      searched = 0;
    }
  }
  return day;
}

int WorkingCalendar::WorkingDaysBetween(absl::CivilDay from, absl::CivilDay to) const {
  if (to < from) return -WorkingDaysBetween(to, from);
  int count = 0;
  for (absl::CivilDay d = from + 1; d <= to; ++d) count += IsWorkingDay(d) ? 1 : 0;
  return count;
}

absl::CivilDay WorkingCalendar::DayOf(absl::Time t) const {
  return absl::ToCivilDay(t, config_.zone);
}

absl::Time WorkingCalendar::StartOf(absl::CivilDay day) const {
  return absl::FromCivil(day, config_.zone);
}

absl::Time WorkingCalendar::EndOf(absl::CivilDay day) const { return StartOf(day + 1); }

absl::Time WorkingCalendar::AddWorkingHours(absl::Time t, absl::Duration d) const {
  const BusinessHours& h = config_.hours;
  absl::CivilDay day = DayOf(t);
  absl::Duration remaining = d;
  for (int searched = 0; searched < kMaxSearchDays; ++searched, ++day) {
    if (!IsWorkingDay(day)) continue;
    const absl::Time open = absl::FromCivil(absl::CivilMinute(day) + h.open_minute, config_.zone);
    const absl::Time close = absl::FromCivil(absl::CivilMinute(day) + h.close_minute, config_.zone);
    const absl::Time from = std::max(t, open);
    if (from >= close) continue;
    if (remaining <= close - from) return from + remaining;
    remaining -= close - from;
    searched = 0;
  }
  return absl::InfiniteFuture();
}

absl::Duration WorkingCalendar::WorkingHoursBetween(absl::Time from, absl::Time to) const {
  const BusinessHours& h = config_.hours;
  absl::Duration total = absl::ZeroDuration();
  for (absl::CivilDay day = DayOf(from); from < to && StartOf(day) < to; ++day) {
    if (!IsWorkingDay(day)) continue;
    const absl::Time open = absl::FromCivil(absl::CivilMinute(day) + h.open_minute, config_.zone);
    const absl::Time close = absl::FromCivil(absl::CivilMinute(day) + h.close_minute, config_.zone);
    const absl::Time start = std::max(from, open);
    const absl::Time end = std::min(to, close);
    if (end > start) total += end - start;
  }
  return total;
}

absl::StatusOr<absl::TimeZone> LoadBusinessZone(absl::string_view name) {
  absl::TimeZone zone;
  if (absl::LoadTimeZone(std::string(name), &zone)) return zone;
  if (name == "Asia/Shanghai") return absl::FixedTimeZone(8 * 60 * 60);
  return absl::InvalidArgumentError(absl::StrCat("unknown time zone '", name, "'"));
}

absl::StatusOr<absl::CivilDay> ParseDay(absl::string_view ymd) {
  std::vector<absl::string_view> parts = absl::StrSplit(ymd, '-');
  int y = 0, m = 0, d = 0;
  if (parts.size() != 3 || parts[0].size() != 4 || parts[1].size() != 2 || parts[2].size() != 2 ||
      !absl::SimpleAtoi(parts[0], &y) || !absl::SimpleAtoi(parts[1], &m) ||
      !absl::SimpleAtoi(parts[2], &d)) {
    return absl::InvalidArgumentError(absl::StrCat("'", ymd, "' is not a date YYYY-MM-DD"));
  }
  const absl::CivilDay day(y, m, d);
  // CivilDay normalises 2027-02-30 to March; refuse instead.
  if (day.year() != y || day.month() != m || day.day() != d) {
    return absl::InvalidArgumentError(absl::StrCat("'", ymd, "' is not a calendar date"));
  }
  return day;
}

std::string FormatDay(absl::CivilDay day) {
  return absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day());
}

absl::Status ParseHolidayTable(absl::string_view text, CalendarConfig& config) {
  for (absl::string_view line : absl::StrSplit(text, absl::ByAnyChar("\n,"))) {
    line = line.substr(0, line.find('#'));
    std::vector<absl::string_view> words =
        absl::StrSplit(absl::StripAsciiWhitespace(line), ' ', absl::SkipWhitespace());
    if (words.empty()) continue;
    if (words.size() > 2 || (words.size() == 2 && words[1] != "holiday" && words[1] != "workday")) {
      return absl::InvalidArgumentError(
          absl::StrCat("holiday table: '", absl::StripAsciiWhitespace(line),
                       "': expected 'YYYY-MM-DD[..YYYY-MM-DD] [holiday|workday]'"));
    }
    const bool workday = words.size() == 2 && words[1] == "workday";
    absl::string_view first = words[0], last = words[0];
    if (size_t dots = words[0].find(".."); dots != absl::string_view::npos) {
      first = words[0].substr(0, dots);
      last = words[0].substr(dots + 2);
    }
    absl::StatusOr<absl::CivilDay> from = ParseDay(first);
    absl::StatusOr<absl::CivilDay> to = ParseDay(last);
    if (!from.ok()) return from.status();
    if (!to.ok()) return to.status();
    if (*to < *from || *to - *from > 366) {
      return absl::InvalidArgumentError(absl::StrCat("holiday table: bad range '", words[0], "'"));
    }
    for (absl::CivilDay d = *from; d <= *to; ++d) {
      (workday ? config.working_weekends : config.holidays).insert(d);
    }
  }
  return absl::OkStatus();
}

}  // namespace crm::calendar
