// Phase 4 of planning: cheaper plans. The local search takes one move at a
// time by gain per cost, so the plan it ends with can hold moves the final
// state no longer needs (an early move whose work later moves did as well),
// and for the last points of spread a large unit where a small one would
// have done. Once the targets are met, each net balancing move is undone when
// they still hold without it (the costliest first), and each remaining one is
// replaced by the cheapest single move of a smaller unit that meets them too.
// Above the targets, only moves whose undoing makes the cluster no less even
// are undone. See docs/balancing.md.
#include <algorithm>
#include <optional>

#include "balance/search.h"

namespace pvekit::balance::detail {
namespace {

// Replacement candidates (unit, target) times nodes evaluated per plan (each
// candidate is O(nodes)): keeps the pass within the plan-time budget on 50
// nodes / 10,000 guests.
constexpr size_t kReplaceWork = 100000;
// Balancing moves rebalance_cheaper() tries to trade, the costliest first:
// there a trade saves the most, and on 10 nodes / 200 guests each trial (a
// local search with swaps and chains) costs about 0.3 ms.
constexpr size_t kRebalanceTrials = 8;
// Undo and replace alternate while either changes the plan.
constexpr int kPruneRounds = 4;
// The band search runs on clusters with at most this many (unit, node)
// pairs: 10 nodes / 400 guests; above, its rounds would not fit the plan-time
// budget of large clusters.
constexpr size_t kBandPairs = 4000;
// The cheapest set and the exchange (search_trim.cpp) run on clusters with
// at most this many (unit, node) pairs: 8 nodes / 50 guests. Each evaluation
// there costs O(nodes + units); above, their budgets would take more than
// the rest of the plan (7 nodes / 300 guests: ten times as long).
constexpr size_t kSetPairs = 400;

}  // namespace

// The node balancing moved the whole unit away from (its snapshot node or
// where its last required move put it), or -1 when it was not moved for
// balancing or its members came from different nodes.
int Search::home(size_t unit) const {
  const auto& members = c_.units()[unit].members;
  int at = unit_node(unit);
  int base = s_.base[members.front()];
  if (at < 0 || base < 0 || base == at || !c_.eligible(static_cast<size_t>(base))) return -1;
  for (size_t m : members)
    if (s_.base[m] != base) return -1;
  return base;
}

// Units moved for balancing, the costliest first (ties: lower vmid).
std::vector<size_t> Search::balancing_moved() const {
  std::vector<size_t> moved;
  for (size_t u = 0; u < c_.units().size(); ++u)
    if (home(u) >= 0) moved.push_back(u);
  std::sort(moved.begin(), moved.end(), [&](size_t a, size_t b) {
    if (info_[a].gib != info_[b].gib) return info_[a].gib > info_[b].gib;
    return c_.units()[a].vmid < c_.units()[b].vmid;
  });
  return moved;
}

bool Search::undo_unneeded() {
  const bool met = !balancing_needed();
  bool changed = false;
  for (size_t u : balancing_moved()) {
    int back = home(u);
    if (back < 0 || !can_place(u, static_cast<size_t>(back))) continue;
    LoadModel trial = s_.load;
    trial.apply(unit_node(u), back, info_[u].contrib);
    bool keep = trial.imbalance() <= start_imbalance_ &&
                (met ? !needs_balancing(trial)
                     : trial.imbalance() <= s_.load.imbalance() && trial.spread() <= s_.load.spread());
    if (!keep) continue;
    move_unit(u, static_cast<size_t>(back), MoveReason::Balance, 0.0, 0.0);
    changed = true;
  }
  return changed;
}

// With the targets met: for each balancing move, the costliest first, the
// cheapest single move of a unit still at home that meets the targets in its
// place (ties: the more even result, then lower vmid and node); taken when
// it copies fewer GiB.
bool Search::replace_cheaper(size_t& budget) {
  if (balancing_needed()) return false;
  bool changed = false;
  std::vector<size_t> at_home;
  for (size_t v = 0; v < c_.units().size(); ++v) {
    const Unit& unit = c_.units()[v];
    if (!unit.movable || !unit.running || unit_node(v) < 0) continue;
    if (std::all_of(unit.members.begin(), unit.members.end(),
                    [&](size_t m) { return s_.guest_node[m] == s_.base[m]; }))
      at_home.push_back(v);
  }
  std::sort(at_home.begin(), at_home.end(), [&](size_t a, size_t b) {
    if (info_[a].gib != info_[b].gib) return info_[a].gib < info_[b].gib;
    return c_.units()[a].vmid < c_.units()[b].vmid;
  });
  for (size_t u : balancing_moved()) {
    int back = home(u), at = unit_node(u);
    if (back < 0 || !can_place(u, static_cast<size_t>(back))) continue;
    move_unit(u, static_cast<size_t>(back), MoveReason::Balance, 0.0, 0.0);
    int best_v = -1, best_t = -1;
    double best_after = 0.0;
    for (size_t v : at_home) {
      if (budget == 0 || info_[v].gib >= info_[u].gib) break;
      if (best_v >= 0 && info_[v].gib > info_[best_v].gib) break;
      int from = unit_node(v);
      for (size_t t = 0; t < c_.node_count() && budget > 0; ++t) {
        if (!c_.eligible(t) || !can_place(v, t)) continue;
        if (s_.displaced + static_cast<size_t>(std::max(0, displacement(v, static_cast<int>(t)))) >
            static_cast<size_t>(config_.balancing.max_moves))
          continue;
        --budget;
        LoadModel trial = s_.load;
        trial.apply(from, static_cast<int>(t), info_[v].contrib);
        double after = trial.imbalance();
        // The move must pay for itself where it is made, as every balancing move does.
        double gain = truncate_score(s_.load.imbalance() - after);
        if (needs_balancing(trial) || after > start_imbalance_ || gain <= 0.0 ||
            gain < move_cost(info_[v].gib, 1))
          continue;
        if (best_v < 0 || after < best_after) best_v = static_cast<int>(v), best_t = static_cast<int>(t), best_after = after;
      }
    }
    if (best_v < 0) {
      move_unit(u, static_cast<size_t>(at), MoveReason::Balance, 0.0, 0.0);
      continue;
    }
    double gain = truncate_score(s_.load.imbalance() - best_after);
    move_unit(static_cast<size_t>(best_v), static_cast<size_t>(best_t), MoveReason::Balance, gain,
              move_cost(info_[best_v].gib, 1));
    at_home.erase(std::find(at_home.begin(), at_home.end(), static_cast<size_t>(best_v)));
    changed = true;
  }
  return changed;
}

// With the targets met: each balancing move, the costliest first, is undone
// and the local search resumes with only the units that copy fewer GiB; kept
// when the targets are met again at a lower migration cost in all (GiB and
// the number of moves: trading one move for many tiny ones does not pay).
// The local search takes the move with the best gain per cost, which near
// the targets can be a unit with large local disks (its memory still pays);
// several small units often do its work for less, which replace_cheaper(),
// one unit for one, cannot find.
bool Search::rebalance_cheaper(const Search& start) {
  if (balancing_needed()) return false;
  bool changed = false;
  size_t trials = 0;
  for (size_t u : balancing_moved()) {
    int back = home(u);
    if (back < 0 || !can_place(u, static_cast<size_t>(back))) continue;
    if (trials++ == kRebalanceTrials) break;
    Search trial(*this);
    trial.move_unit(u, static_cast<size_t>(back), MoveReason::Balance, 0.0, 0.0);
    trial.gib_cap_ = info_[u].gib;
    trial.balance_pass();
    if (trial.balancing_needed() || trial.s_.load.imbalance() > start_imbalance_ ||
        trial.net_cost(start) >= net_cost(start))
      continue;
    adopt(trial);
    changed = true;
  }
  return changed;
}

// Net GiB copied from `start` to this state: each guest that ends on
// another node counts once.
double Search::net_gib(const Search& start) const {
  double total = 0.0;
  for (size_t g = 0; g < s_.guest_node.size(); ++g)
    if (s_.guest_node[g] != start.s_.guest_node[g]) total += guest_gib(g);
  return total;
}

// Migration cost of the net moves from `start`: each guest that ends on
// another node moves once.
double Search::net_cost(const Search& start) const {
  int moves = 0;
  for (size_t g = 0; g < s_.guest_node.size(); ++g) moves += s_.guest_node[g] != start.s_.guest_node[g];
  return move_cost(net_gib(start), moves);
}

// A second way to the targets, by GiB: the balanciness is a band (every
// counted node within `balanciness` points), so only load that keeps a node
// above or below a band around the mean has to move, from nodes above its
// centre to nodes below it. Each step takes the
// move that shrinks the total distance to the band the most per GiB copied
// (ties: lower vmid, then node), so small guests carry the last points.
void Search::band_pass(double offset) {
  const double half = config_.balancing.balanciness / 200.0;  // points -> fraction, each side
  auto outside = [&](double usage, double mean) {
    return std::max(0.0, usage - (mean + half)) + std::max(0.0, (mean - half) - usage);
  };
  for (size_t step = 0; step < c_.units().size() && balancing_needed(); ++step) {
    auto ranked = ranked_nodes();
    if (ranked.size() < 2) return;
    double mean = 0.0;
    for (size_t n : ranked) mean += s_.load.weighted_usage(n);
    mean = mean / static_cast<double>(ranked.size()) + offset * half;
    Candidate best;
    double best_rate = 0.0;
    for (size_t s : ranked) {
      double us = s_.load.weighted_usage(s);
      // Above the centre: a node inside the band may still fill one below it.
      if (us <= mean) break;  // ranked: most loaded first
      for (size_t u : s_.units_on[s]) {
        if (!c_.units()[u].movable || !c_.units()[u].running) continue;
        for (auto it = ranked.rbegin(); it != ranked.rend(); ++it) {
          size_t t = *it;
          double ut = s_.load.weighted_usage(t);
          if (ut >= mean) break;  // ascending: no lighter node left
          if (!can_place(u, t)) continue;
          double cut = outside(us, mean) + outside(ut, mean) -
                       outside(us - s_.load.weighted_share(s, info_[u].contrib), mean) -
                       outside(ut + s_.load.weighted_share(t, info_[u].contrib), mean);
          if (cut <= 1e-12) continue;
          double rate = truncate_score(cut / (info_[u].gib + 1e-3));
          Candidate cand{.unit = u, .partner = u, .from = static_cast<int>(s), .to = static_cast<int>(t),
                         .cost = move_cost(info_[u].gib, 1), .score = rate};
          bool wins = best.to < 0 || rate > best_rate ||
                      (rate == best_rate && (c_.units()[u].vmid < c_.units()[best.unit].vmid ||
                                             (u == best.unit && cand.to < best.to)));
          if (wins && admits(cand)) best = cand, best_rate = rate;
        }
      }
    }
    if (best.to < 0) return;
    best.gain = truncate_score(s_.load.imbalance() -
                               s_.load.imbalance_after(best.from, best.to, info_[best.unit].contrib));
    apply(best);
  }
}

// On small clusters, the band search from `start` and then the cheapest set
// of moves compete with the plan found so far: after pruning, the plan that
// meets the targets (if only one does) or copies fewer GiB is kept, and its
// costliest moves are offered in trade (rebalance_cheaper()).
void Search::cheapest(const Search& start) {
  size_t nodes = 0, units = 0;
  for (size_t n = 0; n < c_.node_count(); ++n) nodes += c_.eligible(n);
  for (size_t u = 0; u < c_.units().size(); ++u) units += c_.units()[u].movable && c_.units()[u].running;
  if (units * nodes > kBandPairs || !start.balancing_needed()) return;
  Search pruned(*this);
  pruned.prune();
  std::optional<Search> best;
  if (!pruned.balancing_needed()) best.emplace(std::move(pruned));
  // The cheapest band need not sit on the mean: a few centres are tried.
  for (double offset : {0.0, -0.5, 0.5, -1.0, 1.0}) {
    Search band(start);
    band.band_pass(offset);
    if (band.balancing_needed() || band.s_.load.imbalance() > start.s_.load.imbalance()) continue;
    band.prune();
    if (!band.stamp_set(start)) continue;
    if (!best || band.net_gib(start) < best->net_gib(start)) best.emplace(std::move(band));
  }
  // Last, the cheapest set of moves (search_trim.cpp), bounded by the best
  // plan so far: it finds the plans where several small units do the work
  // of one large one. Without a plan that meets the targets there is no
  // bound, and the budget would go to sets that reach them at any cost.
  if (!best) return;
  if (units * nodes <= kSetPairs) {
    Search window(start);
    if (window.window_set(start, best->net_gib(start))) best.emplace(std::move(window));
    Search set(start);
    if (set.cheapest_set(start, best->net_gib(start))) best.emplace(std::move(set));
    Search exchanged(*best);
    if (exchanged.exchange(start)) best.emplace(std::move(exchanged));
  }
  if (best->rebalance_cheaper(start)) best->prune();
  adopt(*best);
}

// The band search's moves pay as a set, not one by one (like a polished
// plan's): each guest's first step after `start` carries the set's gain and
// cost, later steps none, so its net move shows them. False when the set does
// not pay for itself.
bool Search::stamp_set(const Search& start) {
  double cost = 0.0;
  for (size_t g = 0; g < s_.guest_node.size(); ++g)
    if (s_.guest_node[g] != start.s_.guest_node[g]) cost += move_cost(guest_gib(g), 1);
  cost = truncate_score(cost);
  double gain = truncate_score(start.s_.load.imbalance() - s_.load.imbalance());
  if (gain <= 0.0 || gain < cost) return false;
  std::vector<bool> seen(s_.guest_node.size(), false);
  for (size_t i = start.s_.steps.size(); i < s_.steps.size(); ++i) {
    Step& step = s_.steps[i];
    bool first = !seen[step.guest];
    seen[step.guest] = true;
    step.gain = first ? gain : 0.0;
    step.cost = first ? cost : 0.0;
  }
  return true;
}

void Search::prune() {
  if (!config_.balancing.enable) return;
  size_t budget = kReplaceWork / std::max<size_t>(1, c_.node_count());
  for (int round = 0; round < kPruneRounds; ++round) {
    bool changed = undo_unneeded();
    if (!replace_cheaper(budget) && !changed) break;
  }
}

}  // namespace pvekit::balance::detail
