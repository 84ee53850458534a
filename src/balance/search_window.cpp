// The cheapest window, small clusters: a plan built node by node instead of
// move by move. With one resource balanced, the spread is within
// balanciness exactly when every counted node's usage lies in a window
// [L, L + b]; the capacity-weighted mean usage is conserved by moves, so L
// lies in [mean - b, mean]. For each of a few L there, every node above the
// window must send off at least what puts it under L + b, every node below
// it must receive, and the GiB copied depend only on which units move, not
// where. So per node, the sets of its units it could send are listed,
// cheapest for their load (a Pareto front); a choice of one set per node
// that carries enough load for the nodes that must receive is then placed
// onto the nodes by a depth-first search. A quick pass combines the fronts
// into one and places its cheapest few sets; a thorough pass, a branch and
// bound over the nodes' choices, looks below the best plan found. Where
// the cheapest plan needs 9-13 moves (6 nodes / 20 guests, 8 / 30), the
// branch and bound over single moves (search_trim.cpp) reaches only a
// fraction of its tree; this finds such plans directly, and the plan found
// bounds that search. See docs/balancing.md.
#include <algorithm>
#include <limits>

#include "balance/search.h"

namespace pvekit::balance::detail {
namespace {

// Steps of L across [mean - b, mean]: the 15 values inside are tried.
constexpr int kWindowSteps = 16;
// Per node, its units with the fewest GiB per unit of load that its send
// sets are made of (2^12 subsets at most).
constexpr size_t kWindowUnits = 12;
// Entries kept on one node's front and on the combined front of the quick pass.
constexpr size_t kFrontSize = 48;
// Combined sets placed per window in the quick pass.
constexpr size_t kWindowTries = 32;
// Choices of send sets and placement steps per plan.
constexpr size_t kWindowWork = 200000;
// Placement steps per choice of send sets.
constexpr size_t kPlaceWork = 1000;
// The window is narrowed by this (a fraction of usage) so that rounding
// never leaves the spread a hair above balanciness.
constexpr double kWindowSlack = 1e-7;

struct Item {
  size_t unit = 0;
  size_t node = 0;  // index into the counted nodes
  double load = 0.0, gib = 0.0;
};

// A set of units sent: one node's, or several nodes' together (the quick pass).
struct Option {
  double load = 0.0, gib = 0.0;
  double largest = 0.0;       // load of its largest unit
  std::vector<size_t> items;  // indices into the items
};

bool by_gib(const Option& a, const Option& b) {
  if (a.gib != b.gib) return a.gib < b.gib;
  if (a.load != b.load) return a.load > b.load;
  return a.items < b.items;
}

// The cheapest option for each load: sorted by GiB, an option is kept only
// when it carries more load than every cheaper one.
void pareto(std::vector<Option>& front) {
  std::sort(front.begin(), front.end(), by_gib);
  std::vector<Option> kept;
  for (Option& o : front)
    if (kept.empty() || o.load > kept.back().load) kept.push_back(std::move(o));
  if (kept.size() > kFrontSize) kept.resize(kFrontSize);
  front = std::move(kept);
}

}  // namespace

struct Search::Window {
  std::vector<size_t> nodes;            // counted eligible nodes
  std::vector<double> usage;            // [i]: usage of nodes[i]
  std::vector<double> share;            // [i]: usage per unit of load on nodes[i]
  std::vector<Item> items;              // movable running units, by node, cheapest per load first
  std::vector<std::vector<size_t>> on;  // [i]: items on nodes[i] (at most kWindowUnits)
  std::vector<std::vector<Option>> subsets;  // [i]: every set of on[i], by_gib
};

// Sends `pool` (indices into w.items) to nodes so that each receives between
// need[i] and room[i] load; false when the search finds no such placement
// within its work. `to` gets each item's receiving node index.
bool Search::place(const Window& w, const std::vector<size_t>& pool,
                   const std::vector<double>& need, const std::vector<double>& room,
                   std::vector<size_t>& to, size_t& work) const {
  std::vector<double> got(w.nodes.size(), 0.0);
  std::vector<double> left(pool.size() + 1, 0.0);  // load of pool[k..]
  for (size_t k = pool.size(); k-- > 0;) left[k] = left[k + 1] + w.items[pool[k]].load;
  size_t steps = kPlaceWork;
  to.assign(pool.size(), 0);
  auto missing = [&] {
    double total = 0.0;
    for (size_t i = 0; i < got.size(); ++i) total += std::max(0.0, need[i] - got[i]);
    return total;
  };
  auto dfs = [&](auto& self, size_t k) -> bool {
    if (k == pool.size()) return missing() <= 0.0;
    if (work == 0 || steps == 0 || left[k] < missing()) return false;
    --work;
    --steps;
    const Item& item = w.items[pool[k]];
    // Neediest receivers first (ties: node order), so the deficits fill early.
    std::vector<size_t> order;
    for (size_t i = 0; i < w.nodes.size(); ++i)
      if (i != item.node && got[i] + item.load <= room[i] &&
          c_.units()[item.unit].allowed.test(w.nodes[i]))
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

// Window L: the cheapest plan found that copies fewer than `best` GiB is
// applied to `out` and `best` lowered to its GiB. A depth-first search over
// the nodes, each taking one of its send sets (cheapest first), bounded by
// the cheapest sets of the nodes still to choose; at each complete choice
// that carries enough load, the units are placed onto the receivers.
void Search::window_at(const Window& w, double low, double band, bool thorough, double& best,
                       size_t& work, Search& out) const {
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
  // Each node's send sets: enough to bring it under the window (a node may
  // send more than keeps it in the window and receive other units instead:
  // a large unit out and small ones in can copy fewer GiB), the cheapest
  // for their load, by GiB.
  std::vector<std::vector<Option>> sets(count);
  for (size_t i = 0; i < count; ++i) {
    for (const Option& o : w.subsets[i]) {
      if (o.load < lo[i] || o.largest > fits[i]) continue;
      if (sets[i].empty() || o.load > sets[i].back().load) sets[i].push_back(o);
      if (sets[i].size() == kFrontSize) break;
    }
    if (sets[i].empty()) return;
  }
  double deficit = 0.0;  // load the nodes below the window must receive, at least
  for (size_t i = 0; i < count; ++i) deficit += std::max(0.0, -hi[i]);
  // For the nodes from i on: the fewest GiB and the most load they can send.
  std::vector<double> rest_gib(count + 1, 0.0), rest_load(count + 1, 0.0);
  for (size_t i = count; i-- > 0;) {
    rest_gib[i] = rest_gib[i + 1] + sets[i].front().gib;
    rest_load[i] = rest_load[i + 1] + sets[i].back().load;
  }
  // Places the units of `pool`; true when they make a plan cheaper than `best`.
  auto leaf = [&](double gib, std::vector<size_t> pool) {
    std::vector<double> sent(count, 0.0), need(count), room(count);
    std::vector<size_t> to;
    for (size_t k : pool) sent[w.items[k].node] += w.items[k].load;
    for (size_t i = 0; i < count; ++i) {
      need[i] = std::max(0.0, sent[i] - hi[i]);
      room[i] = sent[i] - lo[i];
    }
    std::stable_sort(pool.begin(), pool.end(),
                     [&](size_t a, size_t b) { return w.items[a].load > w.items[b].load; });
    if (!place(w, pool, need, room, to, work)) return false;
    Search trial(*this);
    for (size_t k = 0; k < pool.size(); ++k) {
      const Item& item = w.items[pool[k]];
      const size_t t = w.nodes[to[k]];
      Candidate cand{.unit = item.unit,
                     .partner = item.unit,
                     .from = unit_node(item.unit),
                     .to = static_cast<int>(t)};
      if (!trial.can_place(item.unit, t) || !trial.admits(cand)) return false;
      trial.move_unit(item.unit, t, MoveReason::Balance, 0.0, 0.0);
    }
    if (trial.balancing_needed()) return false;
    best = gib;
    out.adopt(trial);
    return true;
  };
  if (!thorough) {
    // The nodes' fronts combined into one front of whole sets: the first
    // few of those that carry enough load are placed, cheapest first.
    std::vector<Option> combined{Option{}};
    for (const std::vector<Option>& mine : sets) {
      std::vector<Option> next;
      for (const Option& a : combined)
        for (const Option& b : mine) {
          Option o{a.load + b.load, a.gib + b.gib, std::max(a.largest, b.largest), a.items};
          o.items.insert(o.items.end(), b.items.begin(), b.items.end());
          next.push_back(std::move(o));
        }
      pareto(next);
      combined = std::move(next);
    }
    size_t tries = 0;
    for (const Option& set : combined) {
      if (set.gib >= best || tries == kWindowTries || work == 0) break;
      if (set.load < deficit) continue;
      ++tries;
      if (leaf(set.gib, set.items)) break;
    }
    return;
  }
  std::vector<size_t> choice(count, 0);
  auto dfs = [&](auto& self, size_t i, double gib, double load) -> void {
    if (i == count) {
      std::vector<size_t> pool;
      for (size_t n = 0; n < count; ++n)
        pool.insert(pool.end(), sets[n][choice[n]].items.begin(), sets[n][choice[n]].items.end());
      if (load >= deficit) leaf(gib, std::move(pool));
      return;
    }
    for (size_t k = 0; k < sets[i].size() && work > 0; ++k) {
      const Option& o = sets[i][k];
      if (gib + o.gib + rest_gib[i + 1] >= best) break;  // by GiB: the rest cost more
      if (load + o.load + rest_load[i + 1] < deficit) continue;
      --work;
      choice[i] = k;
      self(self, i + 1, gib + o.gib, load + o.load);
    }
  };
  dfs(dfs, 0, 0.0, 0.0);
}

// This is `start` (the state before phase 2). Takes the cheapest window
// plan when it copies fewer than `bound` GiB and pays for itself.
bool Search::window_set(const Search& start, double bound) {
  const int resource = balanced_resource();
  if (resource < 0) return false;
  const size_t r = static_cast<size_t>(resource);
  Vec3 one{};
  one[r] = 1.0;
  Window w;
  double capacity = 0.0, load = 0.0;  // in units of load, over the counted nodes
  for (size_t n = 0; n < c_.node_count(); ++n) {
    const double k = s_.load.weighted_share(n, one);
    if (!s_.load.counted(n) || k <= 0.0) continue;
    if (!c_.eligible(n))
      return false;  // a counted node that cannot take part: no window holds by moves alone
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
    std::vector<Option>& subsets = w.subsets.emplace_back();
    const std::vector<size_t>& mine = w.on.back();
    for (size_t mask = 0; mask < (size_t{1} << mine.size()); ++mask) {
      Option& o = subsets.emplace_back();
      for (size_t k = 0; k < mine.size(); ++k)
        if (mask >> k & 1) {
          const Item& item = w.items[mine[k]];
          o.load += item.load;
          o.gib += item.gib;
          o.largest = std::max(o.largest, item.load);
          o.items.push_back(mine[k]);
        }
    }
    std::sort(subsets.begin(), subsets.end(), by_gib);
  }
  if (w.nodes.size() < 2) return false;
  const double band = config_.balancing.balanciness / 100.0 - kWindowSlack;
  const double mean = load / capacity;
  double best = bound - 1e-6;
  const double first = best;
  size_t work = kWindowWork;
  Search found(*this);
  // The quick pass over every window, then the thorough one below the best
  // plan found. The windows at either end of the range are left out (with
  // L = mean - b or L = mean every node would have to sit on the mean), and
  // the others are tried from the middle outwards, where plans are easiest
  // to place; no window takes more than a quarter of the work.
  for (bool thorough : {false, true})
    for (int k = 1; k < kWindowSteps && work > 0; ++k) {
      const int step = kWindowSteps / 2 + (k % 2 ? 1 : -1) * (k / 2);
      size_t share = std::min(work, kWindowWork / 4);
      work -= share;
      window_at(w, mean - band + band * step / kWindowSteps, band, thorough, best, share, found);
      work += share;
    }
  const bool any = best < first;
  if (!any || found.s_.load.imbalance() > start.s_.load.imbalance()) return false;
  adopt(found);
  return stamp_set(start);
}

}  // namespace pvekit::balance::detail
