#pragma once
// SCH-12: a manager's calendar as an iCalendar (RFC 5545) document.

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/scheduling/src/scheduling_rules.h"

namespace crm::scheduling {

struct CalendarItem {
  enum class Kind { kVisit, kTaskDue };
  Kind kind = Kind::kVisit;
  // The resource name ("visits/12", "tasks/7"): UID is uid + "@crm-suite",
  // so every re-export of the same resource keeps its UID.
  std::string uid;
  // Visits: [start, end). Tasks: start is the due time; end is ignored.
  absl::Time start;
  absl::Time end;
  std::string summary;
  std::string description;
  std::string location;
  std::optional<GeoPoint> geo;  // written only when known
  // VisitStatus or TaskState name (see ICalStatus).
  std::string status;
  absl::Time last_modified;  // omitted when unset (the Unix epoch)
};

// A VCALENDAR (PRODID "-//crm-suite//scheduling//EN", VERSION 2.0, CALSCALE
// GREGORIAN, METHOD PUBLISH, X-WR-CALNAME) with a VTIMEZONE for `tz_name`
// built from the zone's transitions over the items' span, then one VEVENT
// per item with local DTSTART/DTEND in that zone, DTSTAMP in UTC, UID,
// SUMMARY, DESCRIPTION, LOCATION, GEO, STATUS and LAST-MODIFIED. CRLF line
// ends; lines folded at 75 octets, never inside a UTF-8 sequence. An
// unknown `tz_name` renders every time in UTC (the service validates its
// zone flag at start-up, so this is a fallback, not a path).
std::string RenderCalendar(const std::vector<CalendarItem>& items, const std::string& calendar_name,
                           const std::string& tz_name, absl::Time dtstamp);

// ---- pieces, exposed for tests

// TEXT value escaping (RFC 5545 §3.3.11): backslash, semicolon, comma and
// newlines (CRLF, CR or LF → "\n"); other control characters but TAB are
// dropped.
std::string EscapeText(absl::string_view text);

// One content line (without its end) → folded lines, each ending in CRLF:
// at most 75 octets per line, continuation lines start with a space, and no
// UTF-8 sequence is split.
std::string FoldLine(absl::string_view line);

// STATUS for an item: PLANNED, DONE, TASK_OPEN, TASK_DONE → CONFIRMED;
// CANCELLED, NO_SHOW, TASK_CANCELLED → CANCELLED; the iCalendar values
// themselves pass through; anything else → TENTATIVE.
std::string ICalStatus(absl::string_view status);

}  // namespace crm::scheduling
