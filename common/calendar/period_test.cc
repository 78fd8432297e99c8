#include "common/calendar/period.h"

#include <gtest/gtest.h>

namespace crm::calendar {
namespace {

TEST(PeriodRange, CutsEachKindFromItsFirstDay) {
  using D = absl::CivilDay;
  EXPECT_EQ(*PeriodRange(Period::kWeek, D(2026, 11, 23)), std::make_pair(D(2026, 11, 23), D(2026, 11, 30)));
  EXPECT_EQ(*PeriodRange(Period::kMonth, D(2026, 2, 1)), std::make_pair(D(2026, 2, 1), D(2026, 3, 1)));
  EXPECT_EQ(*PeriodRange(Period::kQuarter, D(2026, 10, 1)), std::make_pair(D(2026, 10, 1), D(2027, 1, 1)));
  EXPECT_EQ(*PeriodRange(Period::kYear, D(2028, 1, 1)), std::make_pair(D(2028, 1, 1), D(2029, 1, 1)));
}

TEST(PeriodRange, RefusesADayThatStartsNoSuchPeriod) {
  using D = absl::CivilDay;
  EXPECT_EQ(PeriodRange(Period::kWeek, D(2026, 11, 24)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PeriodRange(Period::kMonth, D(2026, 11, 2)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PeriodRange(Period::kQuarter, D(2026, 2, 1)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PeriodRange(Period::kYear, D(2026, 7, 1)).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PeriodStartContaining, FindsTheFirstDay) {
  using D = absl::CivilDay;
  EXPECT_EQ(PeriodStartContaining(Period::kWeek, D(2026, 11, 29)), D(2026, 11, 23));  // a Sunday
  EXPECT_EQ(PeriodStartContaining(Period::kWeek, D(2026, 11, 23)), D(2026, 11, 23));  // the Monday itself
  EXPECT_EQ(PeriodStartContaining(Period::kMonth, D(2026, 11, 23)), D(2026, 11, 1));
  EXPECT_EQ(PeriodStartContaining(Period::kQuarter, D(2026, 12, 31)), D(2026, 10, 1));
  EXPECT_EQ(PeriodStartContaining(Period::kYear, D(2026, 11, 23)), D(2026, 1, 1));
}

}  // namespace
}  // namespace crm::calendar
