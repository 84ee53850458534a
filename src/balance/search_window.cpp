// The cheapest window, small clusters: a plan built node by node instead of
// move by move. With one resource balanced, the spread is within
// balanciness exactly when every counted node's usage lies in a window
// [L, L + b]; the capacity-weighted mean usage is conserved by moves, so L
// lies in [mean - b, mean]. For each of a few L there, every node above the
// window must send off load between what puts it under L + b and what would
// drop it below L, every node below it must receive, and the GiB copied
// depend only on which units move, not where. So per node, the sets of its
// units it could send are listed, cheapest for their load (a Pareto front),
// the nodes' fronts are combined into the cheapest sets that carry enough
// load for the nodes that must receive, and the units of each such set, in
// cost order, are placed onto the receiving nodes by a depth-first search.
// Where the cheapest plan needs 10-13 moves (6 nodes / 20 guests, 8 / 30),
// the branch and bound (search_trim.cpp) reaches only a fraction of its
// tree; this finds such plans directly and hands it a tight bound. See
// docs/balancing.md.
#include <algorithm>
#include <limits>

#include "balance/search.h"

namespace pvekit::balance::detail {
namespace {

// Values of L tried across [mean - b, mean].
constexpr int kWindowSteps = 16;
// Per node, its units with the fewest GiB per unit of load that its send
// sets are made of (2^12 subsets at most).
constexpr size_t kWindowUnits = 12;
// Entries kept on one node's front and on the combined front.
constexpr size_t kFrontSize = 48;
// Combined sets tried for placement per L, cheapest first.
constexpr size_t kWindowTries = 32;
// Placement steps per set tried.
constexpr size_t kPlaceWork = 1000;
// The window is narrowed by this (a fraction of usage) so that rounding
// never leaves the spread a hair above balanciness.
constexpr double kWindowSlack = 1e-7;

struct Item {
  size_t unit = 0;
  size_t node = 0;  // index into the counted nodes
  double load = 0.0, gib = 0.0;
};

// A set of units one node sends, or a combination of such sets.
struct Option {
  double load = 0.0, gib = 0.0;
  std::vector<size_t> items;  // indices into the items
};

// The cheapest option for each load: sorted by GiB, an option is kept only
// when it carries more load than every cheaper one.
void pareto(std::vector<Option>& front) {
  std::sort(front.begin(), front.end(), [](const Option& a, const Option& b) {
    if (a.gib != b.gib) return a.gib < b.gib;
    if (a.load != b.load) return a.load > b.load;
    return a.items < b.items;
  });
  std::vector<Option> kept;
  for (Option& o : front)
    if (kept.empty() || o.load > kept.back().load) kept.push_back(std::move(o));
  if (kept.size() > kFrontSize) kept.resize(kFrontSize);
  front = std::move(kept);
}

}  // namespace

struct Search::Window {
  std::vector<size_t> nodes;   // counted eligible nodes
  std::vector<double> usage;   // [i]: usage of nodes[i]
  std::vector<double> share;   // [i]: usage per unit of load on nodes[i]
  std::vector<Item> items;     // movable running units, by node, cheapest per load first
  std::vector<std::vector<size_t>> on;  // [i]: items on nodes[i] (at most kWindowUnits)
};

// Sends `pool` (indices into w.items) to nodes so that each receives between
// need[i] and room[i] load; false when the search finds no such placement
// within its work. `to` gets each item's receiving node index.
bool Search::place(const Window& w, const std::vector<size_t>& pool, const std::vector<double>& need,
                   const std::vector<double>& room, std::vector<size_t>& to) const {
  std::vector<double> got(w.nodes.size(), 0.0);
  std::vector<double> left(pool.size() + 1, 0.0);  // load of pool[k..]
  for (size_t k = pool.size(); k-- > 0;) left[k] = left[k + 1] + w.items[pool[k]].load;
  size_t work = kPlaceWork;
  to.assign(pool.size(), 0);
  auto missing = [&] {
    double total = 0.0;
    for (size_t i = 0; i < got.size(); ++i) total += std::max(0.0, need[i] - got[i]);
    return total;
  };
  auto dfs = [&](auto& self, size_t k) -> bool {
    if (k == pool.size()) return missing() <= 0.0;
    if (work == 0 || left[k] < missing()) return false;
    --work;
    const Item& item = w.items[pool[k]];
    // Neediest receivers first (ties: node order), so the deficits fill early.
    std::vector<size_t> order;
    for (size_t i = 0; i < w.nodes.size(); ++i)
      if (i != item.node && got[i] + item.load <= room[i] && c_.units()[item.unit].allowed.test(w.nodes[i]))
        order.push_back(i);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return need[a] - got[a] > need[b] - got[b]; });
    for (size_t i : order) {
      got[i] += item.load;
      to[k] = i;
      if (self(self, k + 1)) return true;
      got[i] -= item.load;
    }
    return false;
  };
  return dfs(dfs, 0);
}

// The cheapest plan of window L found, applied to a copy of this state; its
// GiB, or infinity when none was found (or none fits).
double Search::window_at(const Window& w, double low, double band, Search& out) const {
  const size_t count = w.nodes.size();
  std::vector<double> lo(count), hi(count);  // net load each node sends: within [lo, hi]
  for (size_t i = 0; i < count; ++i) {
    lo[i] = (w.usage[i] - low - band) / w.share[i];
    hi[i] = (w.usage[i] - low) / w.share[i];
  }
  // A unit too large for every other node's room stays where it is.
  std::vector<double> fits(count, 0.0);  // [i]: the largest room on a node other than i
  for (size_t i = 0; i < count; ++i)
    for (size_t j = 0; j < count; ++j)
      if (j != i) fits[i] = std::max(fits[i], -lo[j]);
  // Each node's front of send sets with a load within [max(lo, 0), hi].
  std::vector<Option> combined{Option{}};
  for (size_t i = 0; i < count; ++i) {
    std::vector<Option> front;
    std::vector<size_t> mine;
    for (size_t k : w.on[i])
      if (w.items[k].load <= fits[i]) mine.push_back(k);
    for (size_t mask = 0; mask < (size_t{1} << mine.size()); ++mask) {
      Option o;
      for (size_t k = 0; k < mine.size(); ++k)
        if (mask >> k & 1) {
          o.load += w.items[mine[k]].load;
          o.gib += w.items[mine[k]].gib;
          o.items.push_back(mine[k]);
        }
      // A node above the window sends enough to come under it; any node may
      // send more than keeps it in the window and receive other units
      // instead (a large unit out, small ones in, can copy fewer GiB).
      if (o.load >= lo[i]) front.push_back(std::move(o));
    }
    if (front.empty()) return std::numeric_limits<double>::infinity();
    pareto(front);
    std::vector<Option> next;
    for (const Option& a : combined)
      for (const Option& b : front) {
        Option o{a.load + b.load, a.gib + b.gib, a.items};
        o.items.insert(o.items.end(), b.items.begin(), b.items.end());
        next.push_back(std::move(o));
      }
    pareto(next);
    combined = std::move(next);
  }
  // combined is by GiB: the first sets that can be placed win.
  double deficit = 0.0;
  for (size_t i = 0; i < count; ++i) deficit += std::max(0.0, -hi[i]);
  size_t tries = 0;
  for (const Option& set : combined) {
    if (set.load < deficit) continue;
    if (tries++ == kWindowTries) break;
    std::vector<double> sent(count, 0.0), need(count), room(count);
    for (size_t k : set.items) sent[w.items[k].node] += w.items[k].load;
    for (size_t i = 0; i < count; ++i) {
      need[i] = std::max(0.0, sent[i] - hi[i]);
      room[i] = sent[i] - lo[i];
    }
    std::vector<size_t> pool = set.items, to;
    std::stable_sort(pool.begin(), pool.end(),
                     [&](size_t a, size_t b) { return w.items[a].load > w.items[b].load; });
    if (!place(w, pool, need, room, to)) continue;
    Search trial(*this);
    bool fits = true;
    for (size_t k = 0; k < pool.size() && fits; ++k) {
      const Item& item = w.items[pool[k]];
      const size_t t = w.nodes[to[k]];
      Candidate cand{.unit = item.unit, .partner = item.unit, .from = unit_node(item.unit), .to = static_cast<int>(t)};
      fits = trial.can_place(item.unit, t) && trial.admits(cand);
      if (fits) trial.move_unit(item.unit, t, MoveReason::Balance, 0.0, 0.0);
    }
    if (!fits || trial.balancing_needed()) continue;
    out.adopt(trial);
    return set.gib;
  }
  return std::numeric_limits<double>::infinity();
}

// This is `start` (the state before phase 2). Takes the cheapest window
// plan when it copies fewer than `bound` GiB and pays for itself.
bool Search::window_set(const Search& start, double bound) {
  const Weights& wt = config_.balancing.weights;
  const Vec3 weights{wt.memory, wt.cpu, wt.disk};
  if (std::count_if(weights.begin(), weights.end(), [](double x) { return x > 0.0; }) != 1) return false;
  const size_t r = static_cast<size_t>(
      std::find_if(weights.begin(), weights.end(), [](double x) { return x > 0.0; }) - weights.begin());
  Vec3 one{};
  one[r] = 1.0;
  Window w;
  double capacity = 0.0, load = 0.0;  // in units of load, over the counted nodes
  for (size_t n = 0; n < c_.node_count(); ++n) {
    const double k = s_.load.weighted_share(n, one);
    if (!s_.load.counted(n) || k <= 0.0) continue;
    if (!c_.eligible(n)) return false;  // a counted node that cannot take part: no window holds by moves alone
    const size_t i = w.nodes.size();
    w.nodes.push_back(n);
    w.usage.push_back(s_.load.weighted_usage(n));
    w.share.push_back(k);
    capacity += 1.0 / k;
    load += w.usage.back() / k;
    std::vector<Item> free;
    for (size_t u : s_.units_on[n]) {
      const Unit& unit = c_.units()[u];
      if (unit.movable && unit.running && info_[u].contrib[r] > 0.0)
        free.push_back({u, i, info_[u].contrib[r], info_[u].gib});
    }
    std::stable_sort(free.begin(), free.end(),
                     [](const Item& a, const Item& b) { return a.gib * b.load < b.gib * a.load; });
    if (free.size() > kWindowUnits) free.resize(kWindowUnits);
    w.on.emplace_back();
    for (const Item& item : free) {
      w.on.back().push_back(w.items.size());
      w.items.push_back(item);
    }
  }
  if (w.nodes.size() < 2) return false;
  const double band = config_.balancing.balanciness / 100.0 - kWindowSlack;
  const double mean = load / capacity;
  double best = bound - 1e-6;
  Search found(*this);
  bool any = false;
  for (int step = 0; step <= kWindowSteps; ++step) {
    const double low = mean - band + band * step / kWindowSteps;
    Search trial(*this);
    const double gib = window_at(w, low, band, trial);
    if (gib < best) {
      best = gib;
      found.adopt(trial);
      any = true;
    }
  }
  if (!any || found.s_.load.imbalance() > start.s_.load.imbalance()) return false;
  adopt(found);
  return stamp_set(start);
}

}  // namespace pvekit::balance::detail
