#include "services/scheduling/src/ical.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"

namespace crm::scheduling {
namespace {

constexpr size_t kMaxLineOctets = 75;
// A task is shown as a short event at its due time. A VEVENT rather than a
// VTODO with DUE because the clients that subscribe to a feed (Google
// Calendar, Outlook, most phone calendars) ignore VTODO entirely; a
// transparent 15-minute event shows up everywhere without blocking time.
constexpr absl::Duration kTaskLength = absl::Minutes(15);

absl::Time FloorToSecond(absl::Time t) { return absl::FromUnixSeconds(absl::ToUnixSeconds(t)); }

std::string Basic(const absl::CivilSecond& cs) {
  return absl::StrFormat("%04d%02d%02dT%02d%02d%02d", cs.year(), cs.month(), cs.day(), cs.hour(),
                         cs.minute(), cs.second());
}

std::string Utc(absl::Time t) {
  return absl::StrCat(Basic(absl::UTCTimeZone().At(FloorToSecond(t)).cs), "Z");
}

// "+0800", "-0500", "+053328" (seconds only when there are some).
std::string Offset(int seconds) {
  const char sign = seconds < 0 ? '-' : '+';
  const int abs = std::abs(seconds);
  std::string out = absl::StrFormat("%c%02d%02d", sign, abs / 3600, abs / 60 % 60);
  if (abs % 60 != 0) absl::StrAppendFormat(&out, "%02d", abs % 60);
  return out;
}

// A parameter value: quoted when it holds a character that ends one.
std::string ParamValue(absl::string_view value) {
  std::string clean;
  for (char c : value) {
    if (c != '"') clean.push_back(c);
  }
  if (clean.find_first_of(":;,") == std::string::npos) return clean;
  return absl::StrCat("\"", clean, "\"");
}

class Writer {
 public:
  void Line(absl::string_view line) { out_ += FoldLine(line); }
  void Text(absl::string_view name, absl::string_view value) {
    Line(absl::StrCat(name, ":", EscapeText(value)));
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

struct Observance {
  absl::CivilSecond start;  // local time in the offset before it
  int offset_from = 0;
  int offset_to = 0;
  bool daylight = false;
  std::string abbr;
};

// The observances in force from `from` to `to`: the one already in force at
// `from` (from its onset) and every change up to `to`, each as a one-off
// sub-component. Zones without changes (UTC) give one STANDARD.
std::vector<Observance> Observances(absl::TimeZone tz, absl::Time from, absl::Time to) {
  std::vector<Observance> out;
  auto add = [&](const absl::TimeZone::CivilTransition& tr) {
    const absl::Time at = tz.At(tr.to).trans;
    const absl::TimeZone::CivilInfo after = tz.At(at);
    out.push_back({tr.from, tz.At(at - absl::Seconds(1)).offset, after.offset, after.is_dst,
                   std::string(after.zone_abbr)});
    return at;
  };
  absl::TimeZone::CivilTransition tr;
  absl::Time cursor;
  if (tz.PrevTransition(from + absl::Seconds(1), &tr)) {
    cursor = add(tr);
  } else {
    const absl::TimeZone::CivilInfo info = tz.At(from);
    out.push_back({absl::CivilSecond(1970, 1, 1), info.offset, info.offset, info.is_dst,
                   std::string(info.zone_abbr)});
    cursor = absl::InfinitePast();
  }
  while (tz.NextTransition(cursor, &tr)) {
    const absl::Time at = tz.At(tr.to).trans;
    if (at > to) break;
    if (at <= cursor) break;  // defensive: never loop on a zone database oddity
    cursor = add(tr);
  }
  return out;
}

void WriteTimeZone(Writer& w, const std::string& tz_name, absl::TimeZone tz, absl::Time from,
                   absl::Time to) {
  w.Line("BEGIN:VTIMEZONE");
  w.Line(absl::StrCat("TZID:", tz_name));
  for (const Observance& o : Observances(tz, from, to)) {
    const char* kind = o.daylight ? "DAYLIGHT" : "STANDARD";
    w.Line(absl::StrCat("BEGIN:", kind));
    w.Line(absl::StrCat("DTSTART:", Basic(o.start)));
    w.Line(absl::StrCat("TZOFFSETFROM:", Offset(o.offset_from)));
    w.Line(absl::StrCat("TZOFFSETTO:", Offset(o.offset_to)));
    if (!o.abbr.empty()) w.Text("TZNAME", o.abbr);
    w.Line(absl::StrCat("END:", kind));
  }
  w.Line("END:VTIMEZONE");
}

}  // namespace

std::string EscapeText(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case ';':
        out += "\\;";
        break;
      case ',':
        out += "\\,";
        break;
      case '\r':
        if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
        out += "\\n";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        // RFC 5545 TEXT allows no control characters but TAB.
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) break;
        out.push_back(c);
    }
  }
  return out;
}

std::string FoldLine(absl::string_view line) {
  std::string out;
  size_t pos = 0;
  size_t limit = kMaxLineOctets;  // continuation lines lose one octet to the space
  while (line.size() - pos > limit) {
    size_t cut = pos + limit;
    // Back up to the start of a UTF-8 sequence (never a 10xxxxxx byte).
    while (cut > pos && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
    if (cut == pos) cut = pos + limit;  // not UTF-8 at all: cut where the limit says
    out.append(line.data() + pos, cut - pos);
    out += "\r\n ";
    pos = cut;
    limit = kMaxLineOctets - 1;
  }
  out.append(line.data() + pos, line.size() - pos);
  out += "\r\n";
  return out;
}

std::string ICalStatus(absl::string_view status) {
  if (status == "PLANNED" || status == "DONE" || status == "TASK_OPEN" || status == "TASK_DONE" ||
      status == "CONFIRMED") {
    return "CONFIRMED";
  }
  if (status == "CANCELLED" || status == "NO_SHOW" || status == "TASK_CANCELLED") {
    return "CANCELLED";
  }
  return "TENTATIVE";
}

std::string RenderCalendar(const std::vector<CalendarItem>& items, const std::string& calendar_name,
                           const std::string& tz_name, absl::Time dtstamp) {
  absl::TimeZone tz;
  const bool zoned = absl::LoadTimeZone(tz_name, &tz);
  auto end_of = [](const CalendarItem& item) {
    return item.kind == CalendarItem::Kind::kTaskDue ? item.start + kTaskLength : item.end;
  };
  // Local time with TZID, except in the hour that repeats when DST ends:
  // RFC 5545 reads an ambiguous local time as its first pass, but clients
  // differ (Python's icalendar with pytz takes the second), so a time in
  // that hour is written in UTC, which every client reads the same way.
  auto when = [&](absl::string_view name, absl::Time t) {
    t = FloorToSecond(t);
    if (!zoned) return absl::StrCat(name, ":", Utc(t));
    const absl::CivilSecond local = tz.At(t).cs;
    if (tz.At(local).kind == absl::TimeZone::TimeInfo::REPEATED) {
      return absl::StrCat(name, ":", Utc(t));
    }
    return absl::StrCat(name, ";TZID=", ParamValue(tz_name), ":", Basic(local));
  };

  Writer w;
  w.Line("BEGIN:VCALENDAR");
  w.Line("PRODID:-//crm-suite//scheduling//EN");
  w.Line("VERSION:2.0");
  w.Line("CALSCALE:GREGORIAN");
  w.Line("METHOD:PUBLISH");
  w.Text("X-WR-CALNAME", calendar_name);
  if (zoned) {
    w.Text("X-WR-TIMEZONE", tz_name);
    absl::Time from = dtstamp;
    absl::Time to = dtstamp;
    if (!items.empty()) {
      from = absl::InfiniteFuture();
      to = absl::InfinitePast();
      for (const CalendarItem& item : items) {
        from = std::min(from, item.start);
        to = std::max(to, end_of(item));
      }
    }
    WriteTimeZone(w, tz_name, tz, from, to);
  }
  const std::string stamp = Utc(dtstamp);
  for (const CalendarItem& item : items) {
    const bool task = item.kind == CalendarItem::Kind::kTaskDue;
    w.Line("BEGIN:VEVENT");
    w.Text("UID", absl::StrCat(item.uid, "@crm-suite"));
    w.Line(absl::StrCat("DTSTAMP:", stamp));
    w.Line(when("DTSTART", item.start));
    w.Line(when("DTEND", end_of(item)));
    w.Text("SUMMARY", item.summary);
    if (!item.description.empty()) w.Text("DESCRIPTION", item.description);
    if (!item.location.empty()) w.Text("LOCATION", item.location);
    if (item.geo.has_value() && item.geo->known) {
      w.Line(absl::StrFormat("GEO:%.6f;%.6f", item.geo->lat, item.geo->lng));
    }
    w.Line(absl::StrCat("STATUS:", ICalStatus(item.status)));
    w.Line(task ? "TRANSP:TRANSPARENT" : "TRANSP:OPAQUE");
    w.Line(task ? "CATEGORIES:TASK" : "CATEGORIES:VISIT");
    if (item.last_modified != absl::UnixEpoch() && item.last_modified != absl::InfinitePast() &&
        item.last_modified != absl::InfiniteFuture()) {
      w.Line(absl::StrCat("LAST-MODIFIED:", Utc(item.last_modified)));
    }
    w.Line("END:VEVENT");
  }
  w.Line("END:VCALENDAR");
  return w.Take();
}

}  // namespace crm::scheduling
