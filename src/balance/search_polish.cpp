// Polishing for small clusters: an iterated local search on top of phase 2.
// On a handful of nodes and guests the best-improvement search, even with
// swaps and chains, can stop in a basin a few percent above the optimum,
// because every way out starts with a move that does not pay on its own.
// When balancing is still needed after phase 2 and the cluster is small,
// every single move of a unit to another node is tried as a "kick" (on the
// smallest clusters, when no single kick helps, every pair of kicks), the
// local search is run again from there, and the best result is kept if the
// whole plan is better by the plan objective (below). See docs/balancing.md.
#include <algorithm>
#include <optional>
#include <utility>

#include "balance/search.h"

namespace pvekit::balance::detail {
namespace {

// Kicks per round (units x targets); above it the cluster is not "small" and
// the extra rounds would cost more than the < 100 ms plan-time budget allows
// for large clusters. Five nodes with 40 guests fit.
constexpr size_t kPolishKicks = 200;
constexpr size_t kPolishPairKicks = 64;
constexpr int kPolishRounds = 6;
// Descents per plan: bounds the pair kicks' square on the clusters where
// every unit has many targets (without it, 4 nodes / 19 guests took 0.8 s).
constexpr size_t kPolishTrials = 1000;
// An objective must improve by more than rounding noise to be taken.
constexpr double kPolishEpsilon = 1e-9;

}  // namespace

// The plan objective: a plan that meets the targets beats one that does not;
// then, above the targets, the imbalance plus the migration cost of every
// step after `start`, and once they are met the cost alone, so that only
// cheaper plans win there. (The targets are in their own units: balanciness
// is a spread in points, the imbalance a coefficient of variation.)
std::pair<bool, double> Search::objective(size_t start) const {
  const bool needed = balancing_needed();
  return {needed, (needed ? s_.load.imbalance() : 0.0) + steps_cost(start)};
}

double Search::steps_cost(size_t first) const {
  double cost = 0.0;
  for (size_t i = first; i < s_.steps.size(); ++i) cost += move_cost(guest_gib(s_.steps[i].guest), 1);
  return cost;
}

// Replays the net effect of this run's steps after `start` on a copy of
// `start`: each unit that ended elsewhere moves once, in the first order in
// which every move fits when it is made. Kicks that were undone later leave
// no step. The moves pay as a set, not one by one, so each carries the gain
// and cost of the whole set, as the two steps of a swap or chain do. False
// (and no change) when no such order exists.
bool Search::compact(const Search& start) {
  std::vector<std::pair<size_t, size_t>> pending;  // (unit, final node)
  for (size_t i = start.s_.steps.size(); i < s_.steps.size(); ++i) {
    size_t u = s_.steps[i].unit;
    int now = unit_node(u);
    if (now < 0 || now == start.unit_node(u)) continue;
    if (std::none_of(pending.begin(), pending.end(), [&](const auto& p) { return p.first == u; }))
      pending.emplace_back(u, static_cast<size_t>(now));
  }
  Search replay(start);
  while (!pending.empty()) {
    auto next = std::find_if(pending.begin(), pending.end(),
                             [&](const auto& p) { return replay.can_place(p.first, p.second); });
    if (next == pending.end()) return false;
    replay.move_unit(next->first, next->second, MoveReason::Balance, 0.0, 0.0);
    pending.erase(next);
  }
  double gain = truncate_score(start.s_.load.imbalance() - replay.s_.load.imbalance());
  double cost = truncate_score(replay.steps_cost(start.s_.steps.size()));
  for (size_t i = start.s_.steps.size(); i < replay.s_.steps.size(); ++i) {
    replay.s_.steps[i].gain = gain;
    replay.s_.steps[i].cost = cost;
  }
  adopt(replay);
  return true;
}

void Search::polish(const Search& start) {
  if (!balancing_needed()) return;
  std::vector<size_t> kickable;
  for (size_t u = 0; u < c_.units().size(); ++u)
    if (c_.units()[u].movable && c_.units()[u].running && unit_node(u) >= 0) kickable.push_back(u);
  size_t nodes = 0;
  for (size_t n = 0; n < c_.node_count(); ++n) nodes += c_.eligible(n);
  const size_t kicks = kickable.size() * (nodes > 0 ? nodes - 1 : 0);
  if (nodes < 2 || kicks > kPolishKicks) return;

  const size_t first = start.s_.steps.size();
  std::optional<Search> best;
  auto best_key = objective(first);
  std::optional<Search> round_best;
  size_t trials = 0;
  auto consider = [&](Search& trial) {
    ++trials;
    trial.balance_pass();
    if (!trial.compact(start) || trial.s_.displaced > static_cast<size_t>(config_.balancing.max_moves)) return;
    auto key = trial.objective(first);
    if (key.first < best_key.first ||
        (key.first == best_key.first && key.second < best_key.second - kPolishEpsilon)) {
      best_key = key;
      round_best.emplace(std::move(trial));
    }
  };
  auto kick = [&](const Search& from, size_t u, size_t t) {
    Search trial(from);
    trial.move_unit(u, t, MoveReason::Balance, 0.0, move_cost(info_[u].gib, 1));
    return trial;
  };
  for (int round = 0; round < kPolishRounds; ++round) {
    const Search& from = best ? *best : *this;
    round_best.reset();
    for (size_t u : kickable)
      for (size_t t = 0; t < c_.node_count(); ++t)
        if (c_.eligible(t) && from.can_place(u, t)) {
          Search trial = kick(from, u, t);
          consider(trial);
        }
    // Two kicks before the descent when one is not enough; only on the
    // smallest clusters, as their number grows with the square.
    if (!round_best && kicks <= kPolishPairKicks) {
      for (size_t u : kickable)
        for (size_t t = 0; t < c_.node_count(); ++t) {
          if (!c_.eligible(t) || !from.can_place(u, t)) continue;
          Search once = kick(from, u, t);
          for (size_t v : kickable)
            for (size_t x = 0; x < c_.node_count(); ++x)
              // The same pair in the other order was tried already when
              // that order was possible from the start.
              if (trials < kPolishTrials && v != u && !(v < u && from.can_place(v, x)) &&
                  c_.eligible(x) && once.can_place(v, x)) {
                Search trial = kick(once, v, x);
                consider(trial);
              }
        }
    }
    if (!round_best || trials >= kPolishTrials) {
      if (round_best) best.emplace(std::move(*round_best));
      break;
    }
    best.emplace(std::move(*round_best));
    if (!best->balancing_needed()) break;
  }
  if (best) adopt(*best);
}

}  // namespace pvekit::balance::detail
