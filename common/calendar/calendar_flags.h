#pragma once
// The business calendar of a service binary from its flags (or CRM_*
// environment variables): --time_zone, --holiday_file, --holidays. Every
// service with working-day or working-hour deadlines links this, so the
// flags mean the same everywhere.

#include "common/calendar/working_calendar.h"

namespace crm::calendar {

// After flag parsing. A bad zone, an unreadable file or a bad holiday entry
// exits with a message naming the flag (config::Die).
WorkingCalendar CalendarFromFlagsOrDie();

}  // namespace crm::calendar
