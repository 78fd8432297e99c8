#include "services/scheduling/src/day_planner.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <numeric>
#include <utility>

namespace crm::scheduling {
namespace {

// Differences in km below this are noise from summing in another order.
constexpr double kKmEpsilon = 1e-9;

// The planning problem with everything the search asks for precomputed.
// Nodes: candidates 0..n-1, fixed visits n..n+f-1 (in time order), and the
// home n+f when there is one. A route is a sequence of nodes that holds
// every fixed visit in time order; proposed visits sit between them.
class Model {
 public:
  explicit Model(const PlanInput& in)
      : in_(in),
        n_(static_cast<int>(in.candidates.size())),
        f_(static_cast<int>(in.fixed.size())),
        home_(in.home.has_value() ? n_ + f_ : -1) {
    fixed_order_.resize(f_);
    std::iota(fixed_order_.begin(), fixed_order_.end(), 0);
    std::stable_sort(fixed_order_.begin(), fixed_order_.end(), [&](int a, int b) {
      const FixedVisit& x = in.fixed[a];
      const FixedVisit& y = in.fixed[b];
      return std::tie(x.start, x.end) < std::tie(y.start, y.end);
    });
    const int size = n_ + f_ + (home_ >= 0 ? 1 : 0);
    slots_.resize(size);
    for (int c = 0; c < n_; ++c) slots_[c].where = in.candidates[c].where;
    for (int j = 0; j < f_; ++j) {
      const FixedVisit& fv = in.fixed[fixed_order_[j]];
      Slot& s = slots_[n_ + j];
      s.id = fv.visit;
      s.where = fv.where;
      s.start = fv.start;
      s.end = fv.end;
    }
    if (home_ >= 0) slots_[home_].where = *in.home;
    size_ = size;
    gap_.resize(size * size);
    travel_.resize(size * size);
    km_.resize(size * size);
    for (int a = 0; a < size; ++a) {
      for (int b = 0; b < size; ++b) {
        gap_[a * size + b] = RequiredGap(slots_[a], slots_[b], in.travel);
        travel_[a * size + b] = TravelTime(slots_[a].where, slots_[b].where, in.travel);
        km_[a * size + b] = RoadKm(slots_[a].where, slots_[b].where, in.travel);
      }
    }
    // lo/hi: the window a candidate's visit must fit in when it sits after
    // the first k fixed visits, keeping the gap to every one of them.
    lo_.assign((f_ + 1) * n_, in.day_start);
    hi_.assign((f_ + 1) * n_, in.day_end);
    for (int k = 0; k <= f_; ++k) {
      for (int c = 0; c < n_; ++c) {
        absl::Time lo = in.day_start;
        absl::Time hi = in.day_end;
        for (int j = 0; j < k; ++j) lo = std::max(lo, slots_[n_ + j].end + Gap(n_ + j, c));
        for (int j = k; j < f_; ++j) hi = std::min(hi, slots_[n_ + j].start - Gap(c, n_ + j));
        lo_[k * n_ + c] = lo;
        hi_[k * n_ + c] = hi;
      }
    }
  }

  int n() const { return n_; }
  int f() const { return f_; }
  bool IsFixed(int node) const { return node >= n_; }
  const Slot& slot(int node) const { return slots_[node]; }
  absl::Duration Gap(int a, int b) const { return gap_[a * size_ + b]; }

  // Road km from `prev` (-1: the day's start, i.e. home or nowhere) to `node`.
  double Leg(int prev, int node) const {
    if (prev < 0) return home_ >= 0 ? km_[home_ * size_ + node] : 0;
    return km_[prev * size_ + node];
  }
  double LegHome(int last) const {
    return (home_ >= 0 && last >= 0) ? km_[last * size_ + home_] : 0;
  }
  absl::Duration Travel(int prev, int node) const {
    if (prev < 0) return home_ >= 0 ? travel_[home_ * size_ + node] : absl::ZeroDuration();
    return travel_[prev * size_ + node];
  }
  absl::Duration TravelHome(int last) const {
    return (home_ >= 0 && last >= 0) ? travel_[last * size_ + home_] : absl::ZeroDuration();
  }
  absl::Duration GapFromStart(int node) const {
    return home_ >= 0 ? gap_[home_ * size_ + node] : absl::ZeroDuration();
  }

  // The earliest start of candidate `c` after the first `k` fixed visits,
  // following `prev` (-1: nothing yet that day) that ends at `prev_end`;
  // nullopt when its visit cannot end in time.
  std::optional<absl::Time> StartAfter(int c, int k, int prev, absl::Time prev_end) const {
    absl::Time start = lo_[k * n_ + c];
    if (prev < 0) {
      start = std::max(start, in_.day_start + GapFromStart(c));
    } else if (!IsFixed(prev)) {
      start = std::max(start, prev_end + Gap(prev, c));
    }  // after a fixed visit, lo_ already holds its gap
    if (start + in_.visit_length > hi_[k * n_ + c]) return std::nullopt;
    return start;
  }

  absl::Duration visit_length() const { return in_.visit_length; }

  // Route quality; `feasible` false leaves the rest meaningless.
  struct Score {
    bool feasible = false;
    int count = 0;
    double km = 0;
  };

  Score Evaluate(const std::vector<int>& route) const {
    Score score;
    int prev = -1;
    int k = 0;
    absl::Time prev_end = in_.day_start;
    for (int node : route) {
      score.km += Leg(prev, node);
      if (IsFixed(node)) {
        k = node - n_ + 1;
        prev_end = slots_[node].end;
      } else {
        std::optional<absl::Time> start = StartAfter(node, k, prev, prev_end);
        if (!start) return score;
        prev_end = *start + in_.visit_length;
        ++score.count;
      }
      prev = node;
    }
    score.km += LegHome(prev);
    score.feasible = true;
    return score;
  }

  DayPlanResult Build(const std::vector<int>& route, const char* algorithm) const {
    DayPlanResult result;
    result.algorithm = algorithm;
    std::vector<bool> used(n_, false);
    int prev = -1;
    int k = 0;
    absl::Time prev_end = in_.day_start;
    for (int node : route) {
      Stop stop;
      stop.where = slots_[node].where;
      if (IsFixed(node)) {
        const FixedVisit& fv = in_.fixed[fixed_order_[node - n_]];
        stop.customer = fv.customer;
        stop.visit = fv.visit;
        stop.fixed = true;
        stop.start = fv.start;
        stop.end = fv.end;
        k = node - n_ + 1;
      } else {
        used[node] = true;
        stop.customer = in_.candidates[node].customer;
        // Feasible by construction: both searches only keep feasible routes.
        stop.start = StartAfter(node, k, prev, prev_end).value_or(prev_end);
        stop.end = stop.start + in_.visit_length;
      }
      stop.travel = Travel(prev, node);
      stop.travel_km = Leg(prev, node);
      // The day's first stop: leave home just in time to keep the margin.
      stop.arrive = prev < 0 ? stop.start - (GapFromStart(node) - stop.travel) : prev_end + stop.travel;
      result.travel_km += stop.travel_km;
      result.travel_time += stop.travel;
      prev = node;
      prev_end = stop.end;
      result.stops.push_back(std::move(stop));
    }
    result.travel_km += LegHome(prev);
    result.travel_time += TravelHome(prev);
    for (int c = 0; c < n_; ++c) {
      if (!used[c]) result.unscheduled.push_back(in_.candidates[c].customer);
    }
    return result;
  }

  std::vector<int> FixedRoute() const {
    std::vector<int> route(f_);
    std::iota(route.begin(), route.end(), n_);
    return route;
  }

 private:
  const PlanInput& in_;
  int n_;
  int f_;
  int home_;
  int size_ = 0;
  std::vector<int> fixed_order_;
  std::vector<Slot> slots_;
  std::vector<absl::Duration> gap_;
  std::vector<absl::Duration> travel_;
  std::vector<double> km_;
  std::vector<absl::Time> lo_;
  std::vector<absl::Time> hi_;
};

bool Better(const Model::Score& a, const Model::Score& b) {
  if (!a.feasible) return false;
  if (!b.feasible) return true;
  if (a.count != b.count) return a.count > b.count;
  return a.km < b.km - kKmEpsilon;
}

// ---------------------------------------------------------------- exact

// Held-Karp over (set of candidates visited, fixed visits passed, last
// node). Finish time and km both matter for what can follow, so each state
// keeps the Pareto front of its labels: a label that finishes no earlier
// and travels no less than another one can never lead to a better plan.
class ExactPlanner {
 public:
  explicit ExactPlanner(const Model& m) : m_(m), by_set_(size_t{1} << m.n()) {}

  std::vector<int> Solve() {
    const int n = m_.n();
    const int f = m_.f();
    arena_.push_back({absl::InfinitePast(), 0, -1, -1});
    by_set_[0][{0, -1}].push_back(0);
    // Every fixed visit is always reachable by the k + 1 transitions, so a
    // complete route exists and `best` is set.
    int best = 0;
    int best_count = -1;
    double best_km = 0;
    for (uint32_t set = 0; set < by_set_.size(); ++set) {
      const int count = __builtin_popcount(set);
      // std::map iteration also visits the (k + 1) states added below.
      for (auto& [key, labels] : by_set_[set]) {
        const auto [k, last] = key;
        const std::vector<int> snapshot = labels;
        for (int id : snapshot) {
          const Label label = arena_[id];
          if (k < f) {
            const int node = n + k;
            Insert(set, {k + 1, node},
                   {m_.slot(node).end, label.km + m_.Leg(last, node), node, id});
          }
          for (int c = 0; c < n; ++c) {
            if (set & (1u << c)) continue;
            std::optional<absl::Time> start = m_.StartAfter(c, k, last, label.end);
            if (!start) continue;
            Insert(set | (1u << c), {k, c},
                   {*start + m_.visit_length(), label.km + m_.Leg(last, c), c, id});
          }
          if (k == f) {
            const double km = label.km + m_.LegHome(last);
            if (count > best_count || (count == best_count && km < best_km - kKmEpsilon)) {
              best = id;
              best_count = count;
              best_km = km;
            }
          }
        }
      }
      by_set_[set].clear();  // never read again; frees the memory early
    }
    std::vector<int> route;
    for (int id = best; arena_[id].node >= 0; id = arena_[id].parent) {
      route.push_back(arena_[id].node);
    }
    std::reverse(route.begin(), route.end());
    return route;
  }

 private:
  struct Label {
    absl::Time end;  // when the last visit ends
    double km = 0;
    int node = -1;    // the last node; -1 for the day's start
    int parent = -1;  // arena index
  };

  void Insert(uint32_t set, std::pair<int, int> key, const Label& label) {
    std::vector<int>& front = by_set_[set][key];
    for (int id : front) {
      const Label& other = arena_[id];
      if (other.end <= label.end && other.km <= label.km + kKmEpsilon) return;
    }
    front.erase(std::remove_if(front.begin(), front.end(),
                               [&](int id) {
                                 const Label& other = arena_[id];
                                 return label.end <= other.end && label.km <= other.km + kKmEpsilon;
                               }),
                front.end());
    front.push_back(static_cast<int>(arena_.size()));
    arena_.push_back(label);
  }

  const Model& m_;
  std::vector<Label> arena_;
  // Per set: (fixed visits passed, last node) → Pareto front (arena ids).
  std::vector<std::map<std::pair<int, int>, std::vector<int>>> by_set_;
};

// ---------------------------------------------------------------- heuristic

class HeuristicPlanner {
 public:
  // How many of the best distinct starting routes the local search polishes.
  static constexpr size_t kPolished = 16;

  explicit HeuristicPlanner(const Model& m) : m_(m) {}

  std::vector<int> Solve() {
    // Several starting routes: the plain cheapest insertion, and cheapest
    // insertion and nearest neighbour grown from every candidate, so a
    // dense group anywhere in the input gets its chance to be the day. The
    // local search, the costly part, then polishes the best few of them.
    std::vector<std::vector<int>> starts;
    starts.push_back(CheapestInsertion(-1));
    starts.push_back(NearestNeighbour(-1));
    for (int seed = 0; seed < m_.n(); ++seed) {
      starts.push_back(CheapestInsertion(seed));
      starts.push_back(NearestNeighbour(seed));
    }
    std::vector<std::pair<Model::Score, size_t>> ranked;
    for (size_t i = 0; i < starts.size(); ++i) ranked.push_back({m_.Evaluate(starts[i]), i});
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return Better(a.first, b.first); });
    std::vector<int> best_route = m_.FixedRoute();
    Model::Score best = m_.Evaluate(best_route);
    std::vector<std::vector<int>> polished;
    for (const auto& [score, index] : ranked) {
      if (polished.size() == kPolished) break;
      std::vector<int>& route = starts[index];
      if (std::find(polished.begin(), polished.end(), route) != polished.end()) continue;
      polished.push_back(route);
      Improve(route);
      const Model::Score s = m_.Evaluate(route);
      if (Better(s, best)) {
        best = s;
        best_route = route;
      }
    }
    return best_route;
  }

 private:
  std::vector<bool> Used(const std::vector<int>& route) const {
    std::vector<bool> used(m_.n(), false);
    for (int node : route) {
      if (!m_.IsFixed(node)) used[node] = true;
    }
    return used;
  }

  // The cheapest feasible position for `c` in `route` (its score in
  // `score`), or -1.
  int BestPosition(const std::vector<int>& route, int c, Model::Score* score) const {
    int best_pos = -1;
    std::vector<int> trial = route;
    trial.insert(trial.begin(), c);
    for (size_t pos = 0; pos <= route.size(); ++pos) {
      if (pos > 0) std::swap(trial[pos - 1], trial[pos]);
      const Model::Score s = m_.Evaluate(trial);
      if (s.feasible && (best_pos < 0 || s.km < score->km - kKmEpsilon)) {
        best_pos = static_cast<int>(pos);
        *score = s;
      }
    }
    return best_pos;
  }

  // Adds the candidate whose cheapest position adds the fewest km, until
  // none fits.
  bool InsertCheapest(std::vector<int>& route) const {
    std::vector<bool> used = Used(route);
    int best_c = -1;
    int best_pos = -1;
    Model::Score best;
    for (int c = 0; c < m_.n(); ++c) {
      if (used[c]) continue;
      Model::Score s;
      const int pos = BestPosition(route, c, &s);
      if (pos >= 0 && (best_c < 0 || s.km < best.km - kKmEpsilon)) {
        best_c = c;
        best_pos = pos;
        best = s;
      }
    }
    if (best_c < 0) return false;
    route.insert(route.begin() + best_pos, best_c);
    return true;
  }

  std::vector<int> CheapestInsertion(int seed) const {
    std::vector<int> route = m_.FixedRoute();
    if (seed >= 0) {
      Model::Score s;
      const int pos = BestPosition(route, seed, &s);
      if (pos < 0) return route;
      route.insert(route.begin() + pos, seed);
    }
    while (InsertCheapest(route)) {
    }
    return route;
  }

  // Walks forward in time: the nearest candidate that still fits before the
  // next fixed visit, else past that fixed visit; `seed` first if it fits.
  std::vector<int> NearestNeighbour(int seed) const {
    std::vector<int> route;
    std::vector<bool> used(m_.n(), false);
    int next_fixed = 0;
    auto fits = [&](int c) {
      std::vector<int> trial = route;
      trial.push_back(c);
      for (int j = next_fixed; j < m_.f(); ++j) trial.push_back(m_.n() + j);
      return m_.Evaluate(trial).feasible;
    };
    if (seed >= 0 && fits(seed)) {
      route.push_back(seed);
      used[seed] = true;
    }
    while (true) {
      const int last = route.empty() ? -1 : route.back();
      int best_c = -1;
      for (int c = 0; c < m_.n(); ++c) {
        if (used[c] || !fits(c)) continue;
        if (best_c < 0 || m_.Leg(last, c) < m_.Leg(last, best_c) - kKmEpsilon) best_c = c;
      }
      if (best_c >= 0) {
        route.push_back(best_c);
        used[best_c] = true;
      } else if (next_fixed < m_.f()) {
        route.push_back(m_.n() + next_fixed++);
      } else {
        break;
      }
    }
    return route;
  }

  // Local search until no move helps: insert one more candidate; move a run
  // of up to three proposed visits elsewhere (either way round); reverse a
  // run of proposed visits (2-opt); exchange two proposed visits; replace a
  // proposed visit by an unscheduled candidate. Every accepted route is
  // feasible and strictly better, so this ends.
  void Improve(std::vector<int>& route) const {
    Model::Score current = m_.Evaluate(route);
    auto accept = [&](std::vector<int>& trial) {
      const Model::Score s = m_.Evaluate(trial);
      if (!Better(s, current)) return false;
      current = s;
      route.swap(trial);
      return true;
    };
    bool improved = true;
    while (improved) {
      improved = false;
      while (InsertCheapest(route)) improved = true;
      current = m_.Evaluate(route);
      const size_t size = route.size();
      // Relocation (or-opt) of runs of 1..3 proposed visits.
      for (size_t len = 1; len <= 3 && !improved; ++len) {
        for (size_t i = 0; i + len <= size && !improved; ++i) {
          if (!AllProposed(route, i, i + len)) continue;
          std::vector<int> run(route.begin() + i, route.begin() + i + len);
          std::vector<int> rest = route;
          rest.erase(rest.begin() + i, rest.begin() + i + len);
          for (bool reversed : {false, true}) {
            if (reversed && len == 1) continue;
            if (reversed) std::reverse(run.begin(), run.end());
            for (size_t pos = 0; pos <= rest.size() && !improved; ++pos) {
              if (pos == i && !reversed) continue;
              std::vector<int> trial = rest;
              trial.insert(trial.begin() + pos, run.begin(), run.end());
              improved = accept(trial);
            }
            if (improved) break;
          }
        }
      }
      // 2-opt within runs of proposed visits.
      for (size_t i = 0; i < size && !improved; ++i) {
        for (size_t j = i + 2; j <= size && !improved; ++j) {
          if (!AllProposed(route, i, j)) break;
          std::vector<int> trial = route;
          std::reverse(trial.begin() + i, trial.begin() + j);
          improved = accept(trial);
        }
      }
      // Exchange of two proposed visits anywhere (also across fixed ones).
      for (size_t i = 0; i < size && !improved; ++i) {
        if (m_.IsFixed(route[i])) continue;
        for (size_t j = i + 1; j < size && !improved; ++j) {
          if (m_.IsFixed(route[j])) continue;
          std::vector<int> trial = route;
          std::swap(trial[i], trial[j]);
          improved = accept(trial);
        }
      }
      // Swap-in: drop a proposed visit, add an unscheduled one where it is cheapest.
      if (!improved) {
        const std::vector<bool> used = Used(route);
        for (size_t i = 0; i < size && !improved; ++i) {
          if (m_.IsFixed(route[i])) continue;
          std::vector<int> rest = route;
          rest.erase(rest.begin() + i);
          for (int u = 0; u < m_.n() && !improved; ++u) {
            if (used[u]) continue;
            Model::Score s;
            const int pos = BestPosition(rest, u, &s);
            if (pos < 0) continue;
            std::vector<int> trial = rest;
            trial.insert(trial.begin() + pos, u);
            improved = accept(trial);
          }
        }
      }
    }
  }

  bool AllProposed(const std::vector<int>& route, size_t from, size_t to) const {
    for (size_t i = from; i < to; ++i) {
      if (m_.IsFixed(route[i])) return false;
    }
    return true;
  }

  const Model& m_;
};

}  // namespace

DayPlanResult PlanDayExact(const PlanInput& input) {
  if (input.candidates.size() > static_cast<size_t>(kExactLimit)) return PlanDayHeuristic(input);
  const Model model(input);
  return model.Build(ExactPlanner(model).Solve(), "exact");
}

DayPlanResult PlanDayHeuristic(const PlanInput& input) {
  const Model model(input);
  return model.Build(HeuristicPlanner(model).Solve(), "heuristic");
}

DayPlanResult PlanDay(const PlanInput& input) {
  return input.candidates.size() <= static_cast<size_t>(kExactLimit) ? PlanDayExact(input)
                                                                        : PlanDayHeuristic(input);
}

}  // namespace crm::scheduling
