#pragma once
// SCH-3: the day plan. Given the visits already booked for a day (fixed) and
// the customers the manager would like to see (candidates), proposes which
// candidates to visit and in what order so that (1) as many as possible fit
// and (2) the total travel is smallest. Travel is proportional to distance,
// so the second goal groups customers of the same area on the same day, and
// when not all fit, the densest group wins.
//
// Timing follows SCH-2 exactly (RequiredGap): between a stop and the next
// one there must be the travel time plus the early-arrival margin (zero at
// the same place). A proposed visit starts no earlier than day_start (plus
// the travel from home and the margin when it is the day's first stop and a
// home is given) and ends by day_end; it keeps the gap to every fixed visit
// before and after it. Fixed visits keep their times whatever they are.
//
// Up to kExactLimit candidates the plan is optimal (dynamic programming over
// subsets, Held-Karp style, with Pareto labels on (finish time, km) per
// (set, last stop, fixed visits passed)); beyond that a heuristic
// (cheapest insertion and nearest neighbour started from every candidate;
// the best few of those routes then get relocation, 2-opt, exchange,
// swap-in and insertion passes that keep every plan feasible).
// Deterministic: ties go to the candidate earlier in the input.

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/scheduling/src/scheduling_rules.h"

namespace crm::scheduling {

struct Candidate {
  std::string customer;  // "customers/{id}"
  GeoPoint where;
};

struct FixedVisit {
  std::string visit;  // "visits/{id}"
  std::string customer;
  GeoPoint where;
  absl::Time start;
  absl::Time end;
};

struct PlanInput {
  absl::Time day_start;
  absl::Time day_end;
  absl::Duration visit_length = absl::Hours(1);
  std::optional<GeoPoint> home;  // where the day starts and ends
  std::vector<FixedVisit> fixed;
  std::vector<Candidate> candidates;
  TravelSettings travel;
};

struct Stop {
  std::string customer;
  std::string visit;  // fixed stops only
  bool fixed = false;
  GeoPoint where;
  // Leaving the previous stop at its end (or home just in time for the
  // margin), the manager arrives at `arrive`.
  absl::Time arrive;
  absl::Time start;
  absl::Time end;
  absl::Duration travel;  // from the previous stop (or home)
  double travel_km = 0;   // estimated road km from the previous stop (or home)
};

struct DayPlanResult {
  std::vector<Stop> stops;               // every fixed visit and the proposed ones, in time order
  std::vector<std::string> unscheduled;  // candidates that did not fit, in input order
  double travel_km = 0;                  // including home → first and last → home
  absl::Duration travel_time;            // likewise
  std::string algorithm;                 // "exact" or "heuristic"
};

inline constexpr int kExactLimit = 12;

// The exact planner up to kExactLimit candidates, the heuristic beyond.
DayPlanResult PlanDay(const PlanInput& input);

// Each algorithm on its own (tests compare them). PlanDayExact hands more
// than kExactLimit candidates to the heuristic.
DayPlanResult PlanDayExact(const PlanInput& input);
DayPlanResult PlanDayHeuristic(const PlanInput& input);

}  // namespace crm::scheduling
