#pragma once
// The scheduling rules (DOMAIN.md §4) as pure functions: travel between
// places and the one-place-at-a-time rule (SCH-2), visit time validation,
// the care cadence table (SCH-5), special days (SCH-6), task due dates
// (SCH-7, SCH-9), on-site service days (SCH-8) and claim months (SCH-11).
// No I/O; the clock and the time zone come in as arguments.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/status/status.h"
#include "crm/scheduling/v1/scheduling.pb.h"

namespace crm::scheduling {

namespace pb = ::crm::scheduling::v1;

// ---- places and travel (SCH-2)

struct GeoPoint {
  double lat = 0;
  double lng = 0;
  bool known = false;
};

// Great-circle (haversine) distance, earth radius 6371.0088 km.
double DistanceKm(const GeoPoint& a, const GeoPoint& b);

struct TravelSettings {
  double speed_kmh = 30;                      // average city travel speed (> 0; a flag)
  double detour_factor = 1.3;                 // road distance / straight-line distance
  absl::Duration margin = absl::Minutes(10);  // SCH-2 early-arrival margin
  double same_place_km = 0.05;                // closer than this = same place, no travel
};

// Estimated road distance: straight-line distance × detour factor; zero when
// either point is unknown.
double RoadKm(const GeoPoint& a, const GeoPoint& b, const TravelSettings& s);

// Travel time from a to b (road km / speed), rounded up to a whole minute.
// Zero when either point is unknown or they are the same place.
absl::Duration TravelTime(const GeoPoint& a, const GeoPoint& b, const TravelSettings& s);

struct Slot {
  std::string id;  // "visits/{id}"; empty for a visit not booked yet
  absl::Time start;
  absl::Time end;
  GeoPoint where;
  std::string place;
};

// The gap needed between a visit at `before` ending and one at `after`
// starting. Zero for the same place: both points known and within
// same_place_km, or (when either point is unknown) equal non-empty place
// strings. Otherwise travel time + margin; when either point is unknown the
// travel cannot be estimated, so just the margin.
absl::Duration RequiredGap(const Slot& before, const Slot& after, const TravelSettings& s);

struct Conflict {
  enum class Kind { kOverlap, kTravel };
  Kind kind = Kind::kOverlap;
  std::string with;         // the other slot's id
  absl::Duration needed;    // RequiredGap between the earlier and the later one
  absl::Duration available; // later start − earlier end (negative when they overlap)
};

// SCH-2: the first conflict between `candidate` and `others` (the same
// manager's PLANNED/DONE visits near it; a slot with the candidate's
// non-empty id is ignored). Intervals are half-open, so [9,10) and [10,11)
// do not overlap, but still need the gap when the places differ. Time is
// absolute: day boundaries and time zones do not matter. An overlap is
// reported before a travel conflict; within a kind the earliest-starting
// other slot (then input order), so the answer does not depend on the order
// the repository returns rows in.
std::optional<Conflict> FindConflict(const Slot& candidate, const std::vector<Slot>& others,
                                     const TravelSettings& s);

// The widest gap RequiredGap can ask for is unbounded in theory; the
// repository reads neighbours by order (the latest ending before, the
// earliest starting after, plus the overlapping ones), so no window constant
// is needed.

// The longest visit ValidateVisitTimes accepts (bounds the overlap read).
inline constexpr absl::Duration kMaxVisitLength = absl::Hours(24);

// INVALID_ARGUMENT (field violations): "visit.start_time" when unset
// (InfinitePast/InfiniteFuture or the Unix epoch, i.e. a missing Timestamp);
// "visit.end_time" when unset, not after the start, or more than 24 hours
// after it.
absl::Status ValidateVisitTimes(absl::Time start, absl::Time end);

// The longest checklist a visit may carry.
inline constexpr int kMaxChecklistItems = 50;

// The fields a booking or an update may set, under "visit.": purpose,
// contact (one of visit.customer's), place, location, checklist and the
// times (ValidateVisitTimes).
void ValidateVisitFields(const pb::Visit& v, Violations& errors);

// ---- care cadence (SCH-5)

// crm.customers.v1.Tier numbers: A1, A2 → "A"; B1, B2 → "B"; C → "C";
// unranked (0) or unknown → "".
std::string TierClassOf(int customers_tier);

struct CareRule {
  int64_t id = 0;
  int priority = 0;
  std::string contact_role;  // crm.customers.v1.ContactRole name; "" = any
  std::string vip_level;     // crm.customers.v1.VipLevel name; "" = any
  std::string tier_class;    // "A", "B", "C"; "" = any
  int interval_days = 0;     // 0 = no cadence
  std::string description;
};

// The seed of the policy table (defaults: the live numbers are in the
// database): GOVERNMENT 365 days; VIP DIAMOND and GOLD 60; VIP SILVER 90;
// KEY_PERSON and CONTACT of tier A and of tier B 30; MEMBER 0; anything
// else 0. Priorities 10, 20, 30 … in that order; ids 0 (the DB assigns them).
std::vector<CareRule> DefaultCareRules();

struct CareSubject {
  std::string contact_role;
  std::string vip_level;
  std::string tier_class;
};

// The first rule by ascending priority (then id, then position) whose
// non-empty fields all equal the subject's; nullptr when none. A matched rule
// with interval 0 means "no cadence". The pointer is into `rules`.
const CareRule* MatchCareRule(const std::vector<CareRule>& rules, const CareSubject& subject);

// ---- special days (SCH-6)

struct Festival {
  int year = 0;  // 0 = every year
  int month = 0;
  int day = 0;
  std::string title;

  friend bool operator==(const Festival&, const Festival&) = default;
};

// Parses "MM-DD=Title;YYYY-MM-DD=Title;…" (a flag). Whitespace around items,
// dates and titles is ignored and so are empty items; an empty spec gives an
// empty list. INVALID_ARGUMENT naming the bad item otherwise (MM-DD may be
// 02-29; a dated item must be a real date).
absl::StatusOr<std::vector<Festival>> ParseFestivals(absl::string_view spec);

// The next date on or after `today` with that month/day (Feb 29 falls on
// Feb 28 in non-leap years) if it is at most `days_ahead` days away;
// nullopt otherwise or for an impossible month/day.
std::optional<absl::CivilDay> NextOccurrence(int month, int day, absl::CivilDay today,
                                             int days_ahead);

// ---- task due dates (SCH-9, SCH-7)

// 00:00 in `tz` of the first day of the month after the one `t` falls in
// (local time): "by the end of the month" as an exclusive instant.
absl::Time EndOfMonth(absl::Time t, absl::TimeZone tz);

// URGENT_CARD_SERVICE 2 h, URGENT_GOODS 6 h, every other kind zero.
absl::Duration UrgentDeadline(pb::TaskKind kind);

// ---- on-site service days (SCH-8)

struct OnSiteRules {
  absl::Duration min_length = absl::Hours(2);
  int window_start_minute = 600;  // 10:00 local
  int window_end_minute = 960;    // 16:00 local
  int max_per_month = 2;
};

// In order: INVALID_ARGUMENT naming visit.start_time (before the window) or
// visit.end_time (another local day, after the window, shorter than
// min_length); FAILED_PRECONDITION unless the customer is tier A or B or a
// high-value C; FAILED_PRECONDITION when `already_this_month` (the
// customer's other, not cancelled ON_SITE_SERVICE visits in that local
// calendar month) has reached max_per_month.
absl::Status CheckOnSiteDay(absl::Time start, absl::Time end, absl::TimeZone tz,
                            const std::string& tier_class, bool high_value, int already_this_month,
                            const OnSiteRules& rules);

// ---- expense claims (SCH-11)

// "2026-11" → that month; INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<absl::CivilMonth> ParseMonth(absl::string_view month, absl::string_view field);
// The inverse: "2026-11".
std::string FormatMonth(absl::CivilMonth month);

}  // namespace crm::scheduling
