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

#include "balance/search.h"

namespace pvekit::balance::detail {
namespace {

// Replacement candidates (unit, target) evaluated per plan, each O(nodes):
// keeps the pass within the plan-time budget on 50 nodes / 10,000 guests.
constexpr size_t kReplaceBudget = 20000;
// Undo and replace alternate while either changes the plan.
constexpr int kPruneRounds = 4;

}  // namespace

// The node balancing moved the whole unit away from (its snapshot node or
// where its last required move put it), or -1 when it was not moved for
// balancing or its members came from different nodes.
int Search::home(size_t unit) const {
  const auto& members = c_.units()[unit].members;
  int at = unit_node(unit);
  int base = base_[members.front()];
  if (at < 0 || base < 0 || base == at || !c_.eligible(static_cast<size_t>(base))) return -1;
  for (size_t m : members)
    if (base_[m] != base) return -1;
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
    LoadModel trial = load_;
    trial.apply(unit_node(u), back, info_[u].contrib);
    bool keep = trial.imbalance() <= start_imbalance_ &&
                (met ? !needs_balancing(trial)
                     : trial.imbalance() <= load_.imbalance() && trial.spread() <= load_.spread());
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
                    [&](size_t m) { return guest_node_[m] == base_[m]; }))
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
        if (displaced_ + static_cast<size_t>(std::max(0, displacement(v, static_cast<int>(t)))) >
            static_cast<size_t>(config_.balancing.max_moves))
          continue;
        --budget;
        LoadModel trial = load_;
        trial.apply(from, static_cast<int>(t), info_[v].contrib);
        double after = trial.imbalance();
        if (needs_balancing(trial) || after > start_imbalance_) continue;
        if (best_v < 0 || after < best_after) best_v = static_cast<int>(v), best_t = static_cast<int>(t), best_after = after;
      }
    }
    if (best_v < 0) {
      move_unit(u, static_cast<size_t>(at), MoveReason::Balance, 0.0, 0.0);
      continue;
    }
    double gain = truncate_score(load_.imbalance() - best_after);
    move_unit(static_cast<size_t>(best_v), static_cast<size_t>(best_t), MoveReason::Balance, gain,
              move_cost(info_[best_v].gib, 1));
    at_home.erase(std::find(at_home.begin(), at_home.end(), static_cast<size_t>(best_v)));
    changed = true;
  }
  return changed;
}

void Search::prune() {
  if (!config_.balancing.enable) return;
  size_t budget = kReplaceBudget;
  for (int round = 0; round < kPruneRounds; ++round) {
    bool changed = undo_unneeded();
    if (!replace_cheaper(budget) && !changed) break;
  }
}

}  // namespace pvekit::balance::detail
