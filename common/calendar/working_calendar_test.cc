#include "common/calendar/working_calendar.h"

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace crm::calendar {
namespace {

using ::crm::testing::IsOk;
using ::crm::testing::StatusIs;

// 2027-10: Fri 1st .. Thu 7th National Day, Sat 9th a make-up working day.
WorkingCalendar NationalDay2027() {
  CalendarConfig config;
  config.zone = *LoadBusinessZone("Asia/Shanghai");
  EXPECT_THAT(ParseHolidayTable("2027-10-01..2027-10-07 holiday  # National Day\n"
                                "2027-10-09 workday\n",
                                config),
              IsOk());
  return *WorkingCalendar::Create(config);
}

TEST(WorkingCalendarTest, WeekendsAreNotWorkingDays) {
  WorkingCalendar cal;
  EXPECT_TRUE(cal.IsWorkingDay(absl::CivilDay(2027, 3, 5)));    // Friday
  EXPECT_FALSE(cal.IsWorkingDay(absl::CivilDay(2027, 3, 6)));   // Saturday
  EXPECT_FALSE(cal.IsWorkingDay(absl::CivilDay(2027, 3, 7)));   // Sunday
  EXPECT_TRUE(cal.IsWorkingDay(absl::CivilDay(2027, 3, 8)));    // Monday
}

TEST(WorkingCalendarTest, AddWorkingDaysSkipsTheWeekend) {
  WorkingCalendar cal;
  EXPECT_EQ(cal.AddWorkingDays(absl::CivilDay(2027, 3, 4), 2), absl::CivilDay(2027, 3, 8));  // Thu → Mon
  EXPECT_EQ(cal.AddWorkingDays(absl::CivilDay(2027, 3, 5), 1), absl::CivilDay(2027, 3, 8));  // Fri → Mon
  EXPECT_EQ(cal.AddWorkingDays(absl::CivilDay(2027, 3, 6), 1), absl::CivilDay(2027, 3, 8));  // Sat → Mon
  EXPECT_EQ(cal.AddWorkingDays(absl::CivilDay(2027, 3, 1), 10), absl::CivilDay(2027, 3, 15));
  EXPECT_EQ(cal.AddWorkingDays(absl::CivilDay(2027, 3, 5), 0), absl::CivilDay(2027, 3, 5));
  EXPECT_EQ(cal.AddWorkingDays(absl::CivilDay(2027, 3, 8), -2), absl::CivilDay(2027, 3, 4));
}

TEST(WorkingCalendarTest, HolidaysAndMakeUpDays) {
  WorkingCalendar cal = NationalDay2027();
  EXPECT_FALSE(cal.IsWorkingDay(absl::CivilDay(2027, 10, 4)));  // Monday in the holiday
  EXPECT_TRUE(cal.IsWorkingDay(absl::CivilDay(2027, 10, 9)));   // make-up Saturday
  EXPECT_FALSE(cal.IsWorkingDay(absl::CivilDay(2027, 10, 10))); // ordinary Sunday
  // Thursday 30 Sep + 2 working days: 8 Oct (Fri) then 9 Oct (make-up Sat).
  EXPECT_EQ(cal.AddWorkingDays(absl::CivilDay(2027, 9, 30), 1), absl::CivilDay(2027, 10, 8));
  EXPECT_EQ(cal.AddWorkingDays(absl::CivilDay(2027, 9, 30), 2), absl::CivilDay(2027, 10, 9));
  EXPECT_EQ(cal.AddWorkingDays(absl::CivilDay(2027, 9, 30), 3), absl::CivilDay(2027, 10, 11));
  EXPECT_EQ(cal.AddWorkingDays(absl::CivilDay(2027, 10, 8), -1), absl::CivilDay(2027, 9, 30));
}

TEST(WorkingCalendarTest, WorkingDaysBetween) {
  WorkingCalendar cal = NationalDay2027();
  EXPECT_EQ(cal.WorkingDaysBetween(absl::CivilDay(2027, 9, 30), absl::CivilDay(2027, 10, 11)), 3);
  EXPECT_EQ(cal.WorkingDaysBetween(absl::CivilDay(2027, 10, 11), absl::CivilDay(2027, 9, 30)), -3);
  EXPECT_EQ(cal.WorkingDaysBetween(absl::CivilDay(2027, 3, 5), absl::CivilDay(2027, 3, 5)), 0);
}

TEST(WorkingCalendarTest, DaysAreInTheBusinessZone) {
  WorkingCalendar cal;
  // 2027-03-05T17:30Z is Saturday 01:30 in Shanghai.
  const absl::Time t = absl::FromCivil(absl::CivilSecond(2027, 3, 5, 17, 30, 0), absl::UTCTimeZone());
  EXPECT_EQ(cal.DayOf(t), absl::CivilDay(2027, 3, 6));
  EXPECT_EQ(cal.EndOf(absl::CivilDay(2027, 3, 6)),
            absl::FromCivil(absl::CivilSecond(2027, 3, 6, 16, 0, 0), absl::UTCTimeZone()));
}

TEST(WorkingCalendarTest, AddWorkingHoursCrossesNightsAndWeekends) {
  WorkingCalendar cal;
  const absl::TimeZone z = cal.zone();
  auto at = [&](int d, int h, int m) { return absl::FromCivil(absl::CivilMinute(2027, 3, d, h, m), z); };
  EXPECT_EQ(cal.AddWorkingHours(at(5, 17, 0), absl::Hours(8)), at(8, 16, 0));  // Fri → Mon
  EXPECT_EQ(cal.AddWorkingHours(at(6, 12, 0), absl::Hours(1)), at(8, 10, 0));  // from Saturday
  EXPECT_EQ(cal.AddWorkingHours(at(8, 7, 0), absl::Hours(9)), at(8, 18, 0));   // before opening
  EXPECT_EQ(cal.AddWorkingHours(at(8, 20, 0), absl::Minutes(30)), at(9, 9, 30));
  EXPECT_EQ(cal.AddWorkingHours(at(8, 10, 0), absl::ZeroDuration()), at(8, 10, 0));
}

TEST(WorkingCalendarTest, WorkingHoursBetweenIsTheInverseOfAddWorkingHours) {
  WorkingCalendar cal;
  const absl::TimeZone z = cal.zone();
  auto at = [&](int d, int h, int m) { return absl::FromCivil(absl::CivilMinute(2027, 3, d, h, m), z); };
  EXPECT_EQ(cal.WorkingHoursBetween(at(5, 17, 0), at(8, 16, 0)), absl::Hours(8));  // Fri → Mon
  EXPECT_EQ(cal.WorkingHoursBetween(at(6, 12, 0), at(7, 23, 0)), absl::ZeroDuration());  // weekend
  EXPECT_EQ(cal.WorkingHoursBetween(at(8, 7, 0), at(8, 20, 0)), absl::Hours(9));
  EXPECT_EQ(cal.WorkingHoursBetween(at(8, 10, 0), at(8, 9, 0)), absl::ZeroDuration());
  for (absl::Duration d : {absl::Minutes(1), absl::Hours(9), absl::Hours(40)}) {
    EXPECT_EQ(cal.WorkingHoursBetween(at(5, 11, 15), cal.AddWorkingHours(at(5, 11, 15), d)), d);
  }
}

TEST(WorkingCalendarTest, ConfigurableHoursAndZone) {
  CalendarConfig config;
  config.zone = *LoadBusinessZone("Europe/Berlin");
  config.hours = {8 * 60, 12 * 60};
  WorkingCalendar cal = *WorkingCalendar::Create(config);
  const absl::Time fri = absl::FromCivil(absl::CivilMinute(2027, 3, 5, 11, 0), config.zone);
  EXPECT_EQ(cal.AddWorkingHours(fri, absl::Hours(2)),
            absl::FromCivil(absl::CivilMinute(2027, 3, 8, 9, 0), config.zone));
}

TEST(WorkingCalendarTest, RefusesBadConfiguration) {
  CalendarConfig config;
  config.zone = absl::UTCTimeZone();
  config.hours = {18 * 60, 9 * 60};
  EXPECT_THAT(WorkingCalendar::Create(config), StatusIs(absl::StatusCode::kInvalidArgument));
  config.hours = {};
  config.holidays.insert(absl::CivilDay(2027, 10, 9));
  config.working_weekends.insert(absl::CivilDay(2027, 10, 9));
  EXPECT_THAT(WorkingCalendar::Create(config), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(LoadBusinessZone("Mars/Olympus"), StatusIs(absl::StatusCode::kInvalidArgument));
  CalendarConfig table;
  EXPECT_THAT(ParseHolidayTable("2027-02-30", table), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseHolidayTable("2027-10-01 party", table),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseHolidayTable("2027-10-07..2027-10-01", table),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseHolidayTable("2027-01-01, 2027-02-05..2027-02-06 # new year\n\n", table), IsOk());
  EXPECT_EQ(table.holidays.size(), 3u);
}

TEST(WorkingCalendarTest, NoWorkingDayAtAllDoesNotHang) {
  CalendarConfig config;
  config.zone = absl::UTCTimeZone();
  ASSERT_THAT(ParseHolidayTable("2027-01-01..2027-12-31", config), IsOk());
  ASSERT_THAT(ParseHolidayTable("2028-01-01..2028-12-31", config), IsOk());
  WorkingCalendar cal = *WorkingCalendar::Create(config);
  EXPECT_EQ(cal.AddWorkingDays(absl::CivilDay(2026, 12, 31), 1), absl::CivilDay(2029, 1, 1));
}

}  // namespace
}  // namespace crm::calendar
