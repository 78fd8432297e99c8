#include "services/scheduling/src/ical.h"

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::scheduling {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

absl::Time Utc(int y, int mo, int d, int h, int mi = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), absl::UTCTimeZone());
}

// The physical lines of a document (without their CRLF); fails on a bare LF.
std::vector<std::string> Lines(const std::string& ics) {
  EXPECT_TRUE(absl::EndsWith(ics, "\r\n"));
  std::vector<std::string> lines = absl::StrSplit(ics, "\r\n");
  lines.pop_back();
  for (const std::string& line : lines) EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  return lines;
}

// RFC 5545 §3.1 unfolding: a CRLF followed by a space or tab disappears.
std::string Unfold(const std::string& folded) {
  return absl::StrReplaceAll(folded, {{"\r\n ", ""}, {"\r\n\t", ""}});
}

bool ValidUtf8(absl::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = s[i];
    int extra = 0;
    if (c < 0x80) {
      extra = 0;
    } else if ((c >> 5) == 6) {
      extra = 1;
    } else if ((c >> 4) == 14) {
      extra = 2;
    } else if ((c >> 3) == 30) {
      extra = 3;
    } else {
      return false;
    }
    if (i + extra >= s.size() && extra > 0) return false;
    for (int k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

// Every property line of a rendered calendar, unfolded.
std::vector<std::string> ContentLines(const std::string& ics) {
  std::vector<std::string> lines = absl::StrSplit(Unfold(ics), "\r\n");
  lines.pop_back();
  return lines;
}

CalendarItem Visit(std::string uid, absl::Time start, absl::Time end, std::string summary) {
  CalendarItem item;
  item.kind = CalendarItem::Kind::kVisit;
  item.uid = std::move(uid);
  item.start = start;
  item.end = end;
  item.summary = std::move(summary);
  item.status = "PLANNED";
  return item;
}

// ---------------------------------------------------------------- text

TEST(EscapeText, SpecialCharacters) {
  EXPECT_EQ(EscapeText(R"(a\b;c,d)"), R"(a\\b\;c\,d)");
  EXPECT_EQ(EscapeText("line 1\nline 2\r\nline 3\rline 4"), R"(line 1\nline 2\nline 3\nline 4)");
  EXPECT_EQ(EscapeText("tab\there"), "tab\there");
  EXPECT_EQ(EscapeText(std::string("bell\a and nul\0 gone", 19)), "bell and nul gone");
  EXPECT_EQ(EscapeText("冒号:和\"引号\"不转义"), "冒号:和\"引号\"不转义");
  EXPECT_EQ(EscapeText(""), "");
}

TEST(FoldLine, ShortLinesStayWhole) {
  EXPECT_EQ(FoldLine("SUMMARY:hi"), "SUMMARY:hi\r\n");
  const std::string exactly75(75, 'x');
  EXPECT_EQ(FoldLine(exactly75), exactly75 + "\r\n");
  const std::string seventy6(76, 'x');
  EXPECT_EQ(FoldLine(seventy6), std::string(75, 'x') + "\r\n x\r\n");
}

TEST(FoldLine, LongChineseTextNeverSplitsACharacter) {
  std::string text = "DESCRIPTION:";
  for (int i = 0; i < 40; ++i) text += "客户经理走访，讨论了合同续签；";  // 3-octet characters
  text += "😀 end";  // and a 4-octet one
  const std::string folded = FoldLine(text);
  const std::vector<std::string> lines = Lines(folded);
  ASSERT_GT(lines.size(), 10u);
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_LE(lines[i].size(), 75u) << i;
    EXPECT_TRUE(ValidUtf8(lines[i])) << "line " << i << " splits a UTF-8 sequence";
    if (i > 0) {
      EXPECT_EQ(lines[i][0], ' ');
    }
  }
  // Lines are filled, not cut short needlessly: every one but the last is
  // within 3 octets of the limit.
  for (size_t i = 0; i + 1 < lines.size(); ++i) EXPECT_GE(lines[i].size(), 72u) << i;
  EXPECT_EQ(Unfold(folded), text + "\r\n");
}

TEST(ICalStatus, Mapping) {
  EXPECT_EQ(ICalStatus("PLANNED"), "CONFIRMED");
  EXPECT_EQ(ICalStatus("DONE"), "CONFIRMED");
  EXPECT_EQ(ICalStatus("CANCELLED"), "CANCELLED");
  EXPECT_EQ(ICalStatus("NO_SHOW"), "CANCELLED");
  EXPECT_EQ(ICalStatus("TASK_OPEN"), "CONFIRMED");
  EXPECT_EQ(ICalStatus("TASK_CANCELLED"), "CANCELLED");
  EXPECT_EQ(ICalStatus(""), "TENTATIVE");
  EXPECT_EQ(ICalStatus("TENTATIVE"), "TENTATIVE");
}

// ---------------------------------------------------------------- documents

TEST(RenderCalendar, HeaderAndEvent) {
  CalendarItem v = Visit("visits/12", Utc(2026, 11, 2, 1), Utc(2026, 11, 2, 2, 30), "拜访, 张总; 续约");
  v.description = "带合同\n带礼品";
  v.location = "北京市朝阳区建国路 88 号";
  v.geo = GeoPoint{39.9042, 116.4074, true};
  v.last_modified = Utc(2026, 10, 30, 8);
  const std::string ics = RenderCalendar({v}, "张三的日程", "Asia/Shanghai", Utc(2026, 11, 1, 0));
  Lines(ics);
  const std::vector<std::string> lines = ContentLines(ics);
  auto has = [&](const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  };
  EXPECT_EQ(lines.front(), "BEGIN:VCALENDAR");
  EXPECT_EQ(lines.back(), "END:VCALENDAR");
  for (const char* line :
       {"PRODID:-//crm-suite//scheduling//EN", "VERSION:2.0", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
        "X-WR-CALNAME:张三的日程", "BEGIN:VTIMEZONE", "TZID:Asia/Shanghai", "BEGIN:VEVENT",
        "UID:visits/12@crm-suite", "DTSTAMP:20261101T000000Z",
        "DTSTART;TZID=Asia/Shanghai:20261102T090000", "DTEND;TZID=Asia/Shanghai:20261102T103000",
        R"(SUMMARY:拜访\, 张总\; 续约)", R"(DESCRIPTION:带合同\n带礼品)",
        "LOCATION:北京市朝阳区建国路 88 号", "GEO:39.904200;116.407400", "STATUS:CONFIRMED",
        "TRANSP:OPAQUE", "LAST-MODIFIED:20261030T080000Z", "END:VEVENT"}) {
    EXPECT_TRUE(has(line)) << "missing " << line << "\n" << ics;
  }
}

TEST(RenderCalendar, UidIsStableAcrossExports) {
  CalendarItem v = Visit("visits/12", Utc(2026, 11, 2, 1), Utc(2026, 11, 2, 2), "first");
  const std::string a = RenderCalendar({v}, "cal", "Asia/Shanghai", Utc(2026, 11, 1, 0));
  v.summary = "renamed";
  v.start += absl::Hours(3);
  v.end += absl::Hours(3);
  const std::string b = RenderCalendar({v}, "cal", "Asia/Shanghai", Utc(2026, 11, 5, 0));
  EXPECT_THAT(a, HasSubstr("\r\nUID:visits/12@crm-suite\r\n"));
  EXPECT_THAT(b, HasSubstr("\r\nUID:visits/12@crm-suite\r\n"));
  EXPECT_THAT(b, HasSubstr("DTSTAMP:20261105T000000Z"));
}

TEST(RenderCalendar, ShanghaiHasOneStandardObservance) {
  const std::string ics = RenderCalendar({Visit("visits/1", Utc(2026, 1, 5, 1), Utc(2026, 1, 5, 2), "x"),
                                          Visit("visits/2", Utc(2026, 7, 5, 1), Utc(2026, 7, 5, 2), "y")},
                                         "cal", "Asia/Shanghai", Utc(2026, 1, 1, 0));
  const std::string unfolded = Unfold(ics);
  EXPECT_THAT(unfolded, Not(HasSubstr("BEGIN:DAYLIGHT")));
  const std::vector<std::string> parts = absl::StrSplit(unfolded, "BEGIN:STANDARD");
  EXPECT_EQ(parts.size(), 2u) << "exactly one STANDARD";
  EXPECT_THAT(unfolded, HasSubstr("TZOFFSETTO:+0800\r\n"));
  EXPECT_THAT(unfolded, HasSubstr("DTSTART;TZID=Asia/Shanghai:20260705T090000"));
}

TEST(RenderCalendar, NewYorkAcrossTheSpringTransition) {
  // 2026-02-20 to 2026-04-10: EST from the Nov 2025 change, EDT from Mar 8.
  const std::string ics =
      RenderCalendar({Visit("visits/1", Utc(2026, 2, 20, 14), Utc(2026, 2, 20, 15), "winter"),
                      Visit("visits/2", Utc(2026, 3, 15, 13), Utc(2026, 3, 15, 14), "spring"),
                      Visit("visits/3", Utc(2026, 4, 10, 13), Utc(2026, 4, 10, 14), "april")},
                     "cal", "America/New_York", Utc(2026, 2, 1, 0));
  const std::string u = Unfold(ics);
  EXPECT_THAT(u, HasSubstr("BEGIN:STANDARD\r\nDTSTART:20251102T020000\r\nTZOFFSETFROM:-0400\r\n"
                           "TZOFFSETTO:-0500\r\nTZNAME:EST\r\nEND:STANDARD\r\n"));
  EXPECT_THAT(u, HasSubstr("BEGIN:DAYLIGHT\r\nDTSTART:20260308T020000\r\nTZOFFSETFROM:-0500\r\n"
                           "TZOFFSETTO:-0400\r\nTZNAME:EDT\r\nEND:DAYLIGHT\r\n"));
  EXPECT_THAT(u, Not(HasSubstr("20261101T020000")));  // the autumn change is past the span
  EXPECT_THAT(u, HasSubstr("DTSTART;TZID=America/New_York:20260220T090000"));  // 14:00Z = 09:00 EST
  EXPECT_THAT(u, HasSubstr("DTSTART;TZID=America/New_York:20260315T090000"));  // 13:00Z = 09:00 EDT
}

TEST(RenderCalendar, TheRepeatedHourIsWrittenInUtc) {
  // 2026-11-01 01:30 happens twice in New York: 05:30Z (EDT) and 06:30Z (EST).
  const std::string ics =
      RenderCalendar({Visit("visits/1", Utc(2026, 11, 1, 5, 30), Utc(2026, 11, 1, 6, 30), "first pass"),
                      Visit("visits/2", Utc(2026, 11, 1, 6, 30), Utc(2026, 11, 1, 7, 30), "second pass"),
                      Visit("visits/3", Utc(2026, 11, 1, 4, 30), Utc(2026, 11, 1, 5), "before")},
                     "cal", "America/New_York", Utc(2026, 10, 1, 0));
  const std::string u = Unfold(ics);
  EXPECT_THAT(u, HasSubstr("DTSTART:20261101T053000Z"));
  EXPECT_THAT(u, HasSubstr("DTEND:20261101T063000Z"));
  EXPECT_THAT(u, HasSubstr("DTSTART:20261101T063000Z"));
  EXPECT_THAT(u, HasSubstr("DTEND;TZID=America/New_York:20261101T023000"));
  // 00:30 EDT and 01:00 (the repeated hour starts at 01:00 local).
  EXPECT_THAT(u, HasSubstr("DTSTART;TZID=America/New_York:20261101T003000"));
  EXPECT_THAT(u, HasSubstr("DTEND:20261101T050000Z"));
  EXPECT_THAT(u, Not(HasSubstr("TZID=America/New_York:20261101T01")));
}

TEST(RenderCalendar, TasksAreShortTransparentEvents) {
  CalendarItem task;
  task.kind = CalendarItem::Kind::kTaskDue;
  task.uid = "tasks/7";
  task.start = Utc(2026, 11, 30, 16);
  task.summary = "回访投诉 complaints/3";
  task.status = "TASK_OPEN";
  task.geo = GeoPoint{};  // unknown: no GEO
  const std::string u = Unfold(RenderCalendar({task}, "cal", "Asia/Shanghai", Utc(2026, 11, 1, 0)));
  EXPECT_THAT(u, HasSubstr("DTSTART;TZID=Asia/Shanghai:20261201T000000"));
  EXPECT_THAT(u, HasSubstr("DTEND;TZID=Asia/Shanghai:20261201T001500"));
  EXPECT_THAT(u, HasSubstr("TRANSP:TRANSPARENT"));
  EXPECT_THAT(u, HasSubstr("UID:tasks/7@crm-suite"));
  EXPECT_THAT(u, Not(HasSubstr("GEO:")));
  EXPECT_THAT(u, Not(HasSubstr("LAST-MODIFIED")));
  EXPECT_THAT(u, Not(HasSubstr("DESCRIPTION")));
}

TEST(RenderCalendar, UnknownZoneFallsBackToUtc) {
  const std::string u = Unfold(RenderCalendar({Visit("visits/1", Utc(2026, 11, 2, 1), Utc(2026, 11, 2, 2), "x")},
                                              "cal", "Nowhere/Atlantis", Utc(2026, 11, 1, 0)));
  EXPECT_THAT(u, Not(HasSubstr("VTIMEZONE")));
  EXPECT_THAT(u, HasSubstr("DTSTART:20261102T010000Z"));
  EXPECT_THAT(u, HasSubstr("DTEND:20261102T020000Z"));
}

TEST(RenderCalendar, EmptyCalendarIsStillValid) {
  const std::string u = Unfold(RenderCalendar({}, "空", "Asia/Shanghai", Utc(2026, 11, 1, 0)));
  EXPECT_THAT(u, HasSubstr("BEGIN:VTIMEZONE"));
  EXPECT_THAT(u, Not(HasSubstr("BEGIN:VEVENT")));
  EXPECT_THAT(u, HasSubstr("END:VCALENDAR\r\n"));
}

// ---------------------------------------------------------------- independent parser

std::string Json(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else {
          out.push_back(c);
        }
    }
  }
  return out + "\"";
}

std::string UtcText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// Writes the calendar and its expectations and runs check_ics.py on them.
// `wrong_summary` replaces the first event's expected summary.
int CheckWithPython(const std::vector<CalendarItem>& items, const std::string& name, const std::string& tz,
                    const std::string& stem, const std::string& wrong_summary = "") {
  const std::string ics = RenderCalendar(items, name, tz, Utc(2026, 1, 1, 0));
  const std::string base = absl::StrCat(::testing::TempDir(), "/", stem);
  std::ofstream(base + ".ics", std::ios::binary) << ics;
  std::string json = absl::StrCat("{\"calendar_name\": ", Json(name), ", \"tzid\": ", Json(tz), ", \"events\": [");
  for (size_t i = 0; i < items.size(); ++i) {
    const CalendarItem& item = items[i];
    // Text as the parser should give it back: only control characters other
    // than TAB and line ends are dropped, and every line end reads as LF.
    auto expected_text = [](const std::string& s) {
      std::string out = absl::StrReplaceAll(s, {{"\r\n", "\n"}, {"\r", "\n"}});
      out.erase(std::remove_if(out.begin(), out.end(),
                               [](char c) { return (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') || c == 0x7f; }),
                out.end());
      return out;
    };
    const absl::Time end =
        item.kind == CalendarItem::Kind::kTaskDue ? item.start + absl::Minutes(15) : item.end;
    absl::StrAppend(&json, i ? ", " : "", "{\"uid\": ", Json(item.uid + "@crm-suite"),
                    ", \"summary\": ",
                    Json(i == 0 && !wrong_summary.empty() ? wrong_summary : expected_text(item.summary)),
                    ", \"description\": ", Json(expected_text(item.description)),
                    ", \"location\": ", Json(expected_text(item.location)), ", \"start\": ",
                    Json(UtcText(item.start)), ", \"end\": ", Json(UtcText(end)), ", \"status\": ",
                    Json(ICalStatus(item.status)), ", \"geo\": ",
                    item.geo && item.geo->known ? absl::StrFormat("[%.6f, %.6f]", item.geo->lat, item.geo->lng)
                                                : std::string("null"),
                    "}");
  }
  json += "]}\n";
  std::ofstream(base + ".json", std::ios::binary) << json;
  const std::string command = absl::StrCat(CRM_ICS_PYTHON, " ", CRM_SOURCE_DIR,
                                           "/services/scheduling/test/check_ics.py ", base, ".ics ", base, ".json");
  const int rc = std::system(command.c_str());
  return rc == -1 ? -1 : WEXITSTATUS(rc);
}

std::vector<CalendarItem> TrickyItems() {
  std::vector<CalendarItem> items;
  CalendarItem a = Visit("visits/101", Utc(2026, 3, 8, 6, 30), Utc(2026, 3, 8, 8), "签约, 会谈; 反斜杠 \\ 结束");
  std::string long_text;
  for (int i = 0; i < 12; ++i) long_text += "客户经理走访（驻点服务），讨论了合同续签、付款；";
  a.description = long_text + "\n第二行\r\n第三行 with \"quotes\" and a tab\t.";
  a.location = "上海市浦东新区世纪大道 100 号, 35F; 会议室 \\A";
  a.geo = GeoPoint{31.2304, 121.4737, true};
  a.status = "PLANNED";
  a.last_modified = Utc(2026, 3, 1, 2);
  items.push_back(a);
  CalendarItem b = Visit("visits/102", Utc(2026, 3, 9, 14), Utc(2026, 3, 9, 15), "Cancelled 😀 visit");
  b.status = "CANCELLED";
  items.push_back(b);
  CalendarItem c;
  c.kind = CalendarItem::Kind::kTaskDue;
  c.uid = "tasks/55";
  c.start = Utc(2026, 11, 1, 5, 45);  // New York's repeated hour (first pass)
  c.summary = "到期: 投诉回访";
  c.status = "TASK_OPEN";
  items.push_back(c);
  CalendarItem d = Visit("visits/103", Utc(2026, 11, 1, 6, 30), Utc(2026, 11, 1, 7, 30), "second pass of 01:30");
  d.status = "DONE";
  items.push_back(d);
  return items;
}

TEST(RenderCalendar, IndependentParserReadsBackShanghai) {
  EXPECT_EQ(CheckWithPython(TrickyItems(), "张三, 客户经理; 日程", "Asia/Shanghai", "crm_ics_shanghai"), 0);
}

TEST(RenderCalendar, IndependentParserReadsBackNewYork) {
  EXPECT_EQ(CheckWithPython(TrickyItems(), "NY \\ calendar", "America/New_York", "crm_ics_new_york"), 0);
}

TEST(RenderCalendar, IndependentParserCatchesAWrongExpectation) {
  // The checker is not a rubber stamp: one changed summary fails it.
  std::cout << "(a check_ics failure about visits/101 is expected next)\n" << std::flush;
  EXPECT_EQ(CheckWithPython(TrickyItems(), "cal", "Asia/Shanghai", "crm_ics_wrong", "签约, 会谈; 反斜杠 / 结束"), 1);
}

}  // namespace
}  // namespace crm::scheduling
