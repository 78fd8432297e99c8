#include "common/calendar/calendar_flags.h"

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/auth/secret_file.h"
#include "common/config/config.h"

ABSL_FLAG(std::string, time_zone, "Asia/Shanghai", "business time zone for working days and working hours");
ABSL_FLAG(std::string, holiday_file, "",
          "holiday table: lines 'YYYY-MM-DD[..YYYY-MM-DD] [holiday|workday]' (see common/calendar)");
ABSL_FLAG(std::string, holidays, "", "holiday table entries inline, comma separated");

namespace crm::calendar {

WorkingCalendar CalendarFromFlagsOrDie() {
  CalendarConfig config;
  auto zone = LoadBusinessZone(absl::GetFlag(FLAGS_time_zone));
  if (!zone.ok()) config::Die(absl::StrCat("--time_zone: ", zone.status().message()));
  config.zone = *zone;
  if (const std::string path = absl::GetFlag(FLAGS_holiday_file); !path.empty()) {
    auto text = auth::ReadSecretFile(path);
    if (!text.ok()) config::Die(absl::StrCat("--holiday_file: ", text.status().message()));
    if (absl::Status s = ParseHolidayTable(*text, config); !s.ok()) {
      config::Die(absl::StrCat("--holiday_file: ", s.message()));
    }
  }
  if (absl::Status s = ParseHolidayTable(absl::GetFlag(FLAGS_holidays), config); !s.ok()) {
    config::Die(absl::StrCat("--holidays: ", s.message()));
  }
  auto calendar = WorkingCalendar::Create(std::move(config));
  if (!calendar.ok()) config::Die(calendar.status().message());
  return *calendar;
}

}  // namespace crm::calendar
