#include "services/scheduling/src/scheduling_rules.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status/status.h"
#include "common/status/status_macros.h"
#include "common/util/proto_time.h"
#include "common/util/resource_name.h"

namespace crm::scheduling {
namespace {

constexpr double kEarthRadiusKm = 6371.0088;
constexpr double kPi = 3.14159265358979323846;

double Radians(double degrees) { return degrees * kPi / 180.0; }

bool SamePlace(const Slot& a, const Slot& b, const TravelSettings& s) {
  if (a.where.known && b.where.known) return DistanceKm(a.where, b.where) < s.same_place_km;
  return !a.place.empty() && a.place == b.place;
}

bool IsUnset(absl::Time t) {
  return t == absl::InfinitePast() || t == absl::InfiniteFuture() || t == absl::UnixEpoch();
}

// Exactly `n` ASCII digits.
bool Digits(absl::string_view s, size_t n, int* out) {
  if (s.size() != n) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return absl::SimpleAtoi(s, out);
}

int DaysInMonth(int year, int month) {
  const absl::CivilDay first(year, month, 1);
  return static_cast<int>(absl::CivilDay(absl::CivilMonth(first) + 1) - first);
}

bool IsLeap(int year) { return DaysInMonth(year, 2) == 29; }

int SecondOfDay(const absl::CivilSecond& cs) {
  return cs.hour() * 3600 + cs.minute() * 60 + cs.second();
}

std::string Clock(int minute_of_day) {
  return absl::StrFormat("%02d:%02d", minute_of_day / 60, minute_of_day % 60);
}

void ValidateLocation(const pb::Visit& v, const std::string& prefix, Violations& errors) {
  if (!v.has_location()) return;
  const double lat = v.location().latitude();
  const double lng = v.location().longitude();
  if (!(lat >= -90 && lat <= 90)) errors.Add(prefix + "location.latitude", "between -90 and 90");
  if (!(lng >= -180 && lng <= 180)) errors.Add(prefix + "location.longitude", "between -180 and 180");
}

}  // namespace

// ---------------------------------------------------------------- travel

double DistanceKm(const GeoPoint& a, const GeoPoint& b) {
  const double dlat = Radians(b.lat - a.lat);
  const double dlng = Radians(b.lng - a.lng);
  const double h = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(Radians(a.lat)) * std::cos(Radians(b.lat)) * std::sin(dlng / 2) *
                       std::sin(dlng / 2);
  return 2 * kEarthRadiusKm * std::asin(std::min(1.0, std::sqrt(h)));
}

double RoadKm(const GeoPoint& a, const GeoPoint& b, const TravelSettings& s) {
  if (!a.known || !b.known) return 0;
  return DistanceKm(a, b) * s.detour_factor;
}

absl::Duration TravelTime(const GeoPoint& a, const GeoPoint& b, const TravelSettings& s) {
  if (!a.known || !b.known) return absl::ZeroDuration();
  const double km = DistanceKm(a, b);
  if (km < s.same_place_km) return absl::ZeroDuration();
  const double minutes = km * s.detour_factor / s.speed_kmh * 60.0;
  // The tolerance keeps an exact whole minute computed as 10.000000001 at 10.
  return absl::Minutes(std::ceil(minutes - 1e-9));
}

absl::Duration RequiredGap(const Slot& before, const Slot& after, const TravelSettings& s) {
  if (SamePlace(before, after, s)) return absl::ZeroDuration();
  return TravelTime(before.where, after.where, s) + s.margin;
}

std::optional<Conflict> FindConflict(const Slot& candidate, const std::vector<Slot>& others,
                                     const TravelSettings& s) {
  // Best so far by (kind, other's start, position).
  std::optional<std::tuple<int, absl::Time, size_t>> best_key;
  std::optional<Conflict> best;
  for (size_t i = 0; i < others.size(); ++i) {
    const Slot& other = others[i];
    if (!candidate.id.empty() && other.id == candidate.id) continue;
    const bool other_first = other.start < candidate.start ||
                             (other.start == candidate.start && other.end < candidate.end);
    const Slot& earlier = other_first ? other : candidate;
    const Slot& later = other_first ? candidate : other;
    Conflict c;
    c.with = other.id;
    c.needed = RequiredGap(earlier, later, s);
    c.available = later.start - earlier.end;
    if (other.start < candidate.end && candidate.start < other.end) {
      c.kind = Conflict::Kind::kOverlap;
    } else if (c.available < c.needed) {
      c.kind = Conflict::Kind::kTravel;
    } else {
      continue;
    }
    const auto key = std::make_tuple(c.kind == Conflict::Kind::kOverlap ? 0 : 1, other.start, i);
    if (!best_key || key < *best_key) {
      best_key = key;
      best = std::move(c);
    }
  }
  return best;
}

absl::Status ValidateVisitTimes(absl::Time start, absl::Time end) {
  Violations v;
  if (IsUnset(start)) v.Add("visit.start_time", "required");
  if (IsUnset(end)) {
    v.Add("visit.end_time", "required");
  } else if (!IsUnset(start)) {
    if (end <= start) {
      v.Add("visit.end_time", "must be after visit.start_time");
    } else if (end - start > kMaxVisitLength) {
      v.Add("visit.end_time", "a visit lasts at most 24 hours");
    }
  }
  return v.ToStatus();
}

void ValidateVisitFields(const pb::Visit& v, Violations& errors) {
  if (v.purpose() == pb::VISIT_PURPOSE_UNSPECIFIED || !pb::VisitPurpose_IsValid(v.purpose())) {
    errors.Add("visit.purpose", "one of ON_SITE_SERVICE, GIFT, COURTESY, OFFER, EVENT_INVITATION, NEGOTIATION, "
                                "REVISIT, PROPOSAL");
  }
  if (!v.contact().empty()) {
    auto ids = ParseResourceName(v.contact(), {"customers", "contacts"}, "visit.contact");
    if (!ids.ok()) {
      errors.Add("visit.contact", "expected customers/{id}/contacts/{id}");
    } else if (absl::StrCat("customers/", (*ids)[0]) != v.customer()) {
      errors.Add("visit.contact", "must be a contact of visit.customer");
    }
  }
  CheckText(v.place(), "visit.place", 500, false, errors);
  ValidateLocation(v, "visit.", errors);
  if (v.checklist_size() > kMaxChecklistItems) {
    errors.Add("visit.checklist", absl::StrCat("at most ", kMaxChecklistItems, " items"));
  }
  for (int i = 0; i < v.checklist_size(); ++i) {
    CheckText(v.checklist(i).text(), absl::StrCat("visit.checklist[", i, "].text"), 500, true, errors);
  }
  // Out-of-range timestamps would reach the DATETIME columns (year 10000)
  // or be stored as given (negative nanos).
  if (!IsValidTimestamp(v.start_time()) || !IsValidTimestamp(v.end_time())) {
    errors.Add(IsValidTimestamp(v.start_time()) ? "visit.end_time" : "visit.start_time", "not a valid time");
  } else if (absl::Status s = ValidateVisitTimes(FromProto(v.start_time()), FromProto(v.end_time())); !s.ok()) {
    for (FieldViolation& f : FieldViolations(s)) errors.Add(std::move(f.field), std::move(f.description));
  }
}

// ---------------------------------------------------------------- care

std::string TierClassOf(int customers_tier) {
  switch (customers_tier) {
    case 1:
    case 2:
      return "A";
    case 3:
    case 4:
      return "B";
    case 5:
      return "C";
    default:
      return "";
  }
}

std::vector<CareRule> DefaultCareRules() {
  struct Row {
    const char* role;
    const char* vip;
    const char* tier;
    int days;
    const char* description;
  };
  static constexpr Row kRows[] = {
      {"GOVERNMENT", "", "", 365, "government key people: at least once a year"},
      {"", "DIAMOND", "", 60, "VIP diamond: at least every 2 months"},
      {"", "GOLD", "", 60, "VIP gold: at least every 2 months"},
      {"", "SILVER", "", 90, "VIP silver: at least every 3 months"},
      {"KEY_PERSON", "", "A", 30, "tier A key persons: monthly"},
      {"CONTACT", "", "A", 30, "tier A contacts: monthly"},
      {"KEY_PERSON", "", "B", 30, "tier B key persons: monthly"},
      {"CONTACT", "", "B", 30, "tier B contacts: monthly"},
      {"MEMBER", "", "", 0, "members: no cadence"},
      {"", "", "", 0, "everyone else: no cadence"},
  };
  std::vector<CareRule> rules;
  int priority = 10;
  for (const Row& row : kRows) {
    CareRule r;
    r.priority = priority;
    priority += 10;
    r.contact_role = row.role;
    r.vip_level = row.vip;
    r.tier_class = row.tier;
    r.interval_days = row.days;
    r.description = row.description;
    rules.push_back(std::move(r));
  }
  return rules;
}

const CareRule* MatchCareRule(const std::vector<CareRule>& rules, const CareSubject& subject) {
  const CareRule* best = nullptr;
  for (const CareRule& r : rules) {
    if (!r.contact_role.empty() && r.contact_role != subject.contact_role) continue;
    if (!r.vip_level.empty() && r.vip_level != subject.vip_level) continue;
    if (!r.tier_class.empty() && r.tier_class != subject.tier_class) continue;
    if (best == nullptr || std::tie(r.priority, r.id) < std::tie(best->priority, best->id)) {
      best = &r;
    }
  }
  return best;
}

// ---------------------------------------------------------------- special days

absl::StatusOr<std::vector<Festival>> ParseFestivals(absl::string_view spec) {
  std::vector<Festival> out;
  for (absl::string_view raw : absl::StrSplit(spec, ';')) {
    const absl::string_view item = absl::StripAsciiWhitespace(raw);
    if (item.empty()) continue;
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("festival \"", item, "\": ", why, " (want MM-DD=Title or YYYY-MM-DD=Title)"));
    };
    const size_t eq = item.find('=');
    if (eq == absl::string_view::npos) return bad("missing '='");
    const absl::string_view date = absl::StripAsciiWhitespace(item.substr(0, eq));
    const absl::string_view title = absl::StripAsciiWhitespace(item.substr(eq + 1));
    if (title.empty()) return bad("empty title");
    std::vector<absl::string_view> parts = absl::StrSplit(date, '-');
    Festival f;
    f.title = std::string(title);
    bool ok = false;
    if (parts.size() == 2) {
      ok = Digits(parts[0], 2, &f.month) && Digits(parts[1], 2, &f.day);
    } else if (parts.size() == 3) {
      ok = Digits(parts[0], 4, &f.year) && f.year > 0 && Digits(parts[1], 2, &f.month) &&
           Digits(parts[2], 2, &f.day);
    }
    if (!ok) return bad("bad date");
    if (f.month < 1 || f.month > 12) return bad("no such month");
    // A yearly day may be Feb 29 (it falls on Feb 28 in other years).
    const int max_day = DaysInMonth(f.year == 0 ? 2000 : f.year, f.month);
    if (f.day < 1 || f.day > max_day) return bad("no such day");
    out.push_back(std::move(f));
  }
  return out;
}

std::optional<absl::CivilDay> NextOccurrence(int month, int day, absl::CivilDay today,
                                             int days_ahead) {
  if (days_ahead < 0 || month < 1 || month > 12 || day < 1 || day > DaysInMonth(2000, month)) {
    return std::nullopt;
  }
  // Every year has an occurrence (Feb 29 → Feb 28), so this year's or next.
  for (int64_t year : {today.year(), today.year() + 1}) {
    const int y = static_cast<int>(year);
    const int d = (month == 2 && day == 29 && !IsLeap(y)) ? 28 : day;
    const absl::CivilDay date(y, month, d);
    if (date < today) continue;
    if (date - today <= days_ahead) return date;
    return std::nullopt;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- tasks

absl::Time EndOfMonth(absl::Time t, absl::TimeZone tz) {
  const absl::CivilMonth next = absl::CivilMonth(tz.At(t).cs) + 1;
  return absl::FromCivil(absl::CivilSecond(next), tz);
}

absl::Duration UrgentDeadline(pb::TaskKind kind) {
  switch (kind) {
    case pb::URGENT_CARD_SERVICE:
      return absl::Hours(2);
    case pb::URGENT_GOODS:
      return absl::Hours(6);
    default:
      return absl::ZeroDuration();
  }
}

// ---------------------------------------------------------------- on-site days

absl::Status CheckOnSiteDay(absl::Time start, absl::Time end, absl::TimeZone tz,
                            const std::string& tier_class, bool high_value, int already_this_month,
                            const OnSiteRules& rules) {
  const absl::CivilSecond local_start = tz.At(start).cs;
  const absl::CivilSecond local_end = tz.At(end).cs;
  Violations v;
  const std::string window =
      absl::StrCat(Clock(rules.window_start_minute), "–", Clock(rules.window_end_minute));
  if (SecondOfDay(local_start) < rules.window_start_minute * 60) {
    v.Add("visit.start_time", absl::StrCat("an on-site service day starts within ", window));
  }
  if (absl::CivilDay(local_end) != absl::CivilDay(local_start)) {
    v.Add("visit.end_time", "an on-site service day ends on the day it starts");
  } else if (SecondOfDay(local_end) > rules.window_end_minute * 60) {
    v.Add("visit.end_time", absl::StrCat("an on-site service day ends within ", window));
  }
  if (end - start < rules.min_length) {
    v.Add("visit.end_time", absl::StrCat("an on-site service day lasts at least ",
                                         absl::FormatDuration(rules.min_length)));
  }
  RETURN_IF_ERROR(v.ToStatus());
  if (!(tier_class == "A" || tier_class == "B" || (tier_class == "C" && high_value))) {
    return absl::FailedPreconditionError(
        "on-site service days are for tier A and B customers and high-value tier C customers");
  }
  if (already_this_month >= rules.max_per_month) {
    return absl::FailedPreconditionError(
        absl::StrCat("the customer already has ", already_this_month,
                     " on-site service days this month (at most ", rules.max_per_month, ")"));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------- months

absl::StatusOr<absl::CivilMonth> ParseMonth(absl::string_view month, absl::string_view field) {
  std::vector<absl::string_view> parts = absl::StrSplit(month, '-');
  int year = 0;
  int mon = 0;
  if (parts.size() != 2 || !Digits(parts[0], 4, &year) || !Digits(parts[1], 2, &mon) ||
      year == 0 || mon < 1 || mon > 12) {
    return InvalidField(std::string(field),
                        absl::StrCat("\"", month, "\" is not a month like 2026-11"));
  }
  return absl::CivilMonth(year, mon);
}

std::string FormatMonth(absl::CivilMonth month) {
  return absl::StrFormat("%04d-%02d", month.year(), month.month());
}

}  // namespace crm::scheduling
