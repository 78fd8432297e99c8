#include "common/db/sql.h"

#include <gtest/gtest.h>

#include "absl/time/civil_time.h"

namespace crm::db {
namespace {

constexpr char kColumns[] = "id, kind,display_name ,  version";
static_assert(ColumnIndex(kColumns, "id") == 1);
static_assert(ColumnIndex(kColumns, "kind") == 2);
static_assert(ColumnIndex(kColumns, "display_name") == 3);
static_assert(ColumnIndex(kColumns, "version") == 4);

absl::Time Utc(int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

TEST(ParseDateTimeTest, ReadsWhatFormatDateTimeWrites) {
  const absl::Time t = Utc(2026, 11, 24, 3, 4, 5) + absl::Microseconds(123456);
  EXPECT_EQ(FormatDateTime(t), "2026-11-24 03:04:05.123456");
  EXPECT_EQ(ParseDateTime(FormatDateTime(t)), t);
}

TEST(ParseDateTimeTest, ReadsWholeSecondsAndShortFractions) {
  EXPECT_EQ(ParseDateTime("1999-12-31 23:59:59"), Utc(1999, 12, 31, 23, 59, 59));
  EXPECT_EQ(ParseDateTime("2024-02-29 00:00:00.5"), Utc(2024, 2, 29, 0, 0, 0) + absl::Milliseconds(500));
  EXPECT_EQ(ParseDateTime("2024-02-29 00:00:00.000001"), Utc(2024, 2, 29, 0, 0, 0) + absl::Microseconds(1));
}

TEST(ParseDateTimeTest, RefusesAnythingElse) {
  for (const char* text : {"", "2026-11-24", "2026-11-24T03:04:05", "2026-11-24 03:04:5", "2026/11/24 03:04:05",
                           "2026-13-01 00:00:00", "2025-02-29 00:00:00", "2026-11-24 24:00:00",
                           "2026-11-24 03:04:05.", "2026-11-24 03:04:05.1234567", "2026-11-24 03:04:05x",
                           "2026-11-24 03:04:05.12a", "+026-11-24 03:04:05"}) {
    EXPECT_EQ(ParseDateTime(text), absl::InfinitePast()) << text;
  }
}

}  // namespace
}  // namespace crm::db
