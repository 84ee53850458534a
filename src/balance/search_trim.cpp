// The cheapest set of moves, small clusters: a bounded branch and bound for
// the set of balancing moves from the state before phase 2 that meets the
// targets with the fewest GiB copied. The local search, polishing and the
// band search each build a plan one move at a time; where two or three small
// guests can do the work of one large one, none of them finds it (4 nodes /
// 12 guests: 117.7 GiB moved where 10.5 would do). See docs/balancing.md.
//
// Branching: while the targets are not met, the most loaded counted node
// must lose a unit or the least loaded one gain one (for one resource this
// is exact: the spread shrinks only when one of its ends moves), so the
// children are every move of a unit still at home off the most loaded node
// and onto the least loaded one, cheapest first. Each unit moves at most
// once, straight from its node to its final one, so a path is a set of net
// moves and its cost their GiB. Bounds: the best set found so far (at first
// the plan the other phases found), and, when one resource is balanced, the
// load that has to cross the band of width `balanciness` times the fewest
// GiB any unit copies per byte of that load.
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "balance/search.h"

namespace pvekit::balance::detail {
namespace {

// Moves evaluated per plan: keeps the search within a few ms on the
// clusters it runs on (cheapest(): up to 4,000 (unit, node) pairs).
constexpr size_t kSetWork = 20000;
// Net balancing moves in one set.
constexpr size_t kSetDepth = 8;
// A set must be cheaper by more than rounding noise (GiB).
constexpr double kSetEpsilon = 1e-6;

}  // namespace

struct Search::SetSearch {
  double best = std::numeric_limits<double>::infinity();  // GiB of the best set so far
  std::vector<std::pair<size_t, size_t>> path, found;      // (unit, node), in an order that fits
  std::vector<bool> moved;                                 // [unit]: on the path
  std::set<std::vector<std::pair<size_t, size_t>>> seen;  // sets visited, sorted
  size_t work = kSetWork;
  int resource = -1;  // the one balanced resource, or -1 (no band bound)
  double per_load = 0.0;  // fewest GiB copied per unit of its load
};

// GiB still to move, at least: with one resource r balanced, the spread is
// within balanciness only when every counted node's usage lies in a window
// [L, L + b]. Load above the window has to leave its node and load below it
// has to arrive, so at least max(out(L), in(L)) load moves for the best L;
// out falls and in rises with L, so the best L is where they cross,
// bracketed by bisection, and the bound is taken at the bracket's safe ends.
double Search::gib_bound(const SetSearch& set) const {
  if (set.resource < 0 || set.per_load <= 0.0) return 0.0;
  Vec3 one{};
  one[static_cast<size_t>(set.resource)] = 1.0;
  std::vector<std::pair<double, double>> nodes;  // (usage, usage per unit of load)
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (size_t n = 0; n < c_.node_count(); ++n) {
    double k = s_.load.weighted_share(n, one);
    if (!s_.load.counted(n) || k <= 0.0) continue;
    double u = s_.load.weighted_usage(n);
    nodes.emplace_back(u, k);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
  }
  const double band = config_.balancing.balanciness / 100.0 * (1.0 + 1e-9);
  hi -= band;
  if (nodes.empty() || hi <= lo) return 0.0;
  auto out = [&](double l) {
    double total = 0.0;
    for (auto [u, k] : nodes) total += std::max(0.0, u - l - band) / k;
    return total;
  };
  auto in = [&](double l) {
    double total = 0.0;
    for (auto [u, k] : nodes) total += std::max(0.0, l - u) / k;
    return total;
  };
  for (int i = 0; i < 40; ++i) {
    double mid = (lo + hi) / 2;
    (out(mid) >= in(mid) ? lo : hi) = mid;
  }
  return set.per_load * std::max(out(hi), in(lo));
}

void Search::set_search(SetSearch& set, double cost) {
  if (!balancing_needed()) {
    if (s_.load.imbalance() <= start_imbalance_ && cost < set.best - kSetEpsilon) {
      set.best = cost;
      set.found = set.path;
    }
    return;
  }
  if (set.path.size() == kSetDepth || set.work == 0) return;
  const auto ranked = ranked_nodes();
  if (ranked.size() < 2) return;
  const size_t top = ranked.front(), bottom = ranked.back();
  std::vector<Candidate> children;
  auto add = [&](size_t u, size_t t) {
    const Unit& unit = c_.units()[u];
    if (set.moved[u] || !unit.movable || !unit.running || cost + info_[u].gib >= set.best - kSetEpsilon) return;
    Candidate cand{.unit = u, .partner = u, .from = unit_node(u), .to = static_cast<int>(t)};
    if (c_.eligible(t) && can_place(u, t) && admits(cand)) children.push_back(cand);
  };
  for (size_t u : s_.units_on[top])
    for (size_t t = 0; t < c_.node_count(); ++t) add(u, t);
  for (size_t n : ranked)
    if (n != top && n != bottom)
      for (size_t u : s_.units_on[n]) add(u, bottom);
  std::sort(children.begin(), children.end(), [&](const Candidate& a, const Candidate& b) {
    if (info_[a.unit].gib != info_[b.unit].gib) return info_[a.unit].gib < info_[b.unit].gib;
    if (c_.units()[a.unit].vmid != c_.units()[b.unit].vmid) return c_.units()[a.unit].vmid < c_.units()[b.unit].vmid;
    return a.to < b.to;
  });
  for (const Candidate& child : children) {
    const double after = cost + info_[child.unit].gib;
    if (set.work == 0 || after >= set.best - kSetEpsilon) break;  // cheapest first
    --set.work;
    set.path.emplace_back(child.unit, static_cast<size_t>(child.to));
    auto key = set.path;
    std::sort(key.begin(), key.end());
    if (set.seen.insert(std::move(key)).second) {
      const size_t mark = s_.steps.size();
      move_unit(child.unit, static_cast<size_t>(child.to), MoveReason::Balance, 0.0, 0.0);
      set.moved[child.unit] = true;
      if (after + gib_bound(set) < set.best - kSetEpsilon) set_search(set, after);
      set.moved[child.unit] = false;
      // Back where it was: the two steps cancel, so dropping them keeps the
      // steps the history of the placement.
      move_unit(child.unit, static_cast<size_t>(child.from), MoveReason::Balance, 0.0, 0.0);
      s_.steps.resize(mark);
    }
    set.path.pop_back();
  }
}

// This is `start` (the state before phase 2). Adopts the cheapest set found
// when it copies fewer than `bound` GiB and pays for itself as a set.
bool Search::cheapest_set(const Search& start, double bound) {
  SetSearch set;
  set.best = bound;
  set.moved.assign(c_.units().size(), false);
  const Weights& w = config_.balancing.weights;
  const Vec3 weights{w.memory, w.cpu, w.disk};
  if (std::count_if(weights.begin(), weights.end(), [](double x) { return x > 0.0; }) == 1) {
    set.resource = static_cast<int>(std::find_if(weights.begin(), weights.end(), [](double x) { return x > 0.0; }) -
                                    weights.begin());
    set.per_load = std::numeric_limits<double>::infinity();
    for (size_t u = 0; u < c_.units().size(); ++u) {
      double load = info_[u].contrib[static_cast<size_t>(set.resource)];
      if (c_.units()[u].movable && c_.units()[u].running && load > 0.0)
        set.per_load = std::min(set.per_load, info_[u].gib / load);
    }
    if (!std::isfinite(set.per_load)) set.per_load = 0.0;
  }
  Search scratch(*this);
  scratch.set_search(set, 0.0);
  if (set.found.empty()) return false;
  for (auto [u, t] : set.found) move_unit(u, t, MoveReason::Balance, 0.0, 0.0);
  return !balancing_needed() && stamp_set(start);
}

}  // namespace pvekit::balance::detail
