// Rule repairs against an exact oracle: on small, rule-heavy, tightly packed
// generated clusters, whenever some placement leaves no rule broken, the plan
// must leave none unresolved. The oracle is a branch-and-bound over the final
// placement of every movable unit (whole, on a node it may end on, within
// capacity, anti-affinity limits kept), with unlimited moves and capacity
// checked on the final state only; the plan must in addition order its moves
// so capacity holds at every wave, which the oracle does not check (the
// tolerance below counts such cases).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "balance/generator.h"
#include "balance/planner.h"
#include "balance/rules.h"
#include "fixtures.h"

namespace pvekit::balance {
namespace {

// 3-5 nodes, 7-13 guests, one node in maintenance every other seed, many
// affinity, anti-affinity and pin tags, and nodes shrunk so that room is
// scarce.
ClusterState rule_heavy(uint64_t seed) {
  GeneratorOptions o;
  o.seed = seed * 104729 + 7;
  o.nodes = 3 + seed % 3;
  o.guests = 7 + (seed * 5) % 7;
  o.rules = false;
  o.maintenance_nodes = seed % 2;
  o.skew = 0.6;
  ClusterState s = generate_cluster(o);
  // The engine's raw output is fixed by the standard (no std distributions).
  std::mt19937_64 engine(seed);
  auto below = [&](size_t n) { return static_cast<size_t>(engine() % n); };
  auto chance = [&](size_t percent) { return engine() % 100 < percent; };
  const double shrink = 0.45 + 0.05 * static_cast<double>(seed % 4);
  for (Node& n : s.nodes)
    n.memory_total = std::max(n.memory_used, static_cast<uint64_t>(static_cast<double>(n.memory_total) * shrink));
  for (Guest& g : s.guests) {
    if (chance(25)) g.tags.push_back("plb_affinity_g" + std::to_string(below(2)));
    if (chance(30)) g.tags.push_back("plb_anti_affinity_a" + std::to_string(below(2)));
    if (chance(20)) g.tags.push_back("plb_pin_" + s.nodes[below(s.nodes.size())].name);
    std::sort(g.tags.begin(), g.tags.end());
  }
  return s;
}

BalanceConfig repair_config() {
  BalanceConfig config = fixtures::test_config();
  config.balancing.enforce_affinity = true;
  config.balancing.enforce_pinning = true;
  config.balancing.balanciness = 5.0;
  config.balancing.max_moves = 500;
  return config;
}

// Whether every movable unit can end whole on a node it may run on, with
// capacity and anti-affinity kept, and frozen units left where they are.
class RepairOracle {
 public:
  enum class Answer { Feasible, Infeasible, Unknown };

  explicit RepairOracle(const Constraints& c) : c_(c) {
    for (size_t n = 0; n < c.node_count(); ++n) fit_.push_back(c.initial_load(n));
    anti_.assign(c.anti_groups().size(), std::vector<int>(c.node_count(), 0));
    for (size_t u = 0; u < c.units().size(); ++u) place_frozen_or_queue(u);
    std::sort(todo_.begin(), todo_.end(), [&](const Entry& a, const Entry& b) {
      if (a.options.size() != b.options.size()) return a.options.size() < b.options.size();
      return a.need.memory > b.need.memory;
    });
  }

  Answer solve() {
    if (broken_) return Answer::Infeasible;
    bool found = dfs(0);
    if (visits_ > kMaxVisits) return Answer::Unknown;
    return found ? Answer::Feasible : Answer::Infeasible;
  }

 private:
  static constexpr size_t kMaxVisits = 2000000;
  struct Entry {
    size_t unit;
    Amount need;
    std::vector<size_t> options;
  };

  void place(size_t unit, size_t node, int delta) {
    for (size_t g : c_.units()[unit].anti_groups) anti_[g][node] += delta;
  }
  bool anti_ok(size_t unit, size_t node) const {
    for (size_t g : c_.units()[unit].anti_groups)
      if (anti_[g][node] + 1 > c_.anti_groups()[g].max_per_node) return false;
    return true;
  }

  void place_frozen_or_queue(size_t u) {
    const Unit& unit = c_.units()[u];
    std::vector<int> nodes;
    for (size_t m : unit.members) nodes.push_back(c_.node_of(m));
    bool whole = std::all_of(nodes.begin(), nodes.end(), [&](int n) { return n == nodes.front(); });
    if (!unit.movable) {
      // Frozen members stay; movable ones join them (the anchor).
      int at = whole ? nodes.front() : unit.anchor;
      if (at < 0 || c_.evacuate(static_cast<size_t>(at))) {
        broken_ = true;  // split across frozen members, or stuck on a maintenance node
        return;
      }
      for (size_t m : unit.members) {
        if (c_.node_of(m) == at) continue;
        if (!c_.movable(m) || !c_.allowed(m, static_cast<size_t>(at))) broken_ = true;
        if (c_.node_of(m) >= 0) fit_[c_.node_of(m)] = fit_[c_.node_of(m)] - c_.need(m);
        fit_[at] = fit_[at] + c_.need(m);
      }
      place(u, static_cast<size_t>(at), +1);
      return;
    }
    Entry e{u, {}, {}};
    for (size_t m : unit.members) {
      e.need = e.need + c_.need(m);
      if (c_.node_of(m) >= 0) fit_[c_.node_of(m)] = fit_[c_.node_of(m)] - c_.need(m);
    }
    for (size_t n = 0; n < c_.node_count(); ++n) {
      // A unit on a node proxlb neither balances nor evacuates (offline,
      // ignored) may stay there.
      bool stays = whole && nodes.front() == static_cast<int>(n) && !c_.eligible(n) && !c_.evacuate(n);
      if (stays || (c_.eligible(n) && unit.allowed.test(n))) e.options.push_back(n);
    }
    todo_.push_back(std::move(e));
  }

  bool dfs(size_t k) {
    if (++visits_ > kMaxVisits) return false;
    if (k == todo_.size()) return true;
    const Entry& e = todo_[k];
    for (size_t n : e.options) {
      if (!Constraints::fits(fit_[n], e.need, c_.limit(n)) || !anti_ok(e.unit, n)) continue;
      fit_[n] = fit_[n] + e.need;
      place(e.unit, n, +1);
      bool found = dfs(k + 1);
      place(e.unit, n, -1);
      fit_[n] = fit_[n] - e.need;
      if (found) return true;
    }
    return false;
  }

  const Constraints& c_;
  std::vector<Amount> fit_;
  std::vector<std::vector<int>> anti_;
  std::vector<Entry> todo_;
  bool broken_ = false;
  size_t visits_ = 0;
};

// Oracle-solvable clusters the plan still leaves unresolved, measured
// 2026-12-07: 20 of 273 before make-room covered affinity and anti-affinity
// repairs and cleared one level deep, 17 after, 6 since room-making is a
// search (search.cpp: units moved aside get room made in turn, anti-affinity
// blockers leave too, the unit's own place counts as free). Every one of
// those 6 reaches a placement without violations, but no order of its moves
// keeps capacity and anti-affinity at every step (the oracle checks the
// final state only). The waves' order search (waves.cpp) finds none on
// any of them (checked 2026-12-07), and none exists, parking or not: each
// is a swap with nowhere for either side to wait:
//  - seeds 93, 191, 324: two units of an anti-affinity group swap nodes;
//    one side may run only on those two nodes (pins), the other side's
//    other nodes hold a member of the group;
//  - seed 148: a four-member group on four nodes, at most one per node,
//    where two members swap while the other two hold the remaining nodes;
//  - seeds 102, 200: two large guests swap between a full node and one with
//    room only once the other left; one is pinned, and no other node has
//    room for the other (200: 27.6 GiB against 14.4 GiB nodes).
// On 93, 148, 191 and 324 every placement without violations needs that
// swap (the pins fix both sides' final nodes and every node holds one unit
// of the group), so no plan that keeps the rules at every step exists. 102
// and 200 would take another final placement, one where smaller guests
// leave the full node first: a search change, not an ordering one. No
// cluster is left for want of room; a regression above either count fails.
constexpr size_t kNoRoomTolerance = 0;
constexpr size_t kNoOrderTolerance = 6;
constexpr uint64_t kClusters = 400;

TEST(RepairOracle, PlansLeaveNoViolationWhenAPlacementWithoutOneExists) {
  const BalanceConfig config = repair_config();
  size_t solvable = 0, unsolvable = 0, unknown = 0, no_room = 0, no_order = 0, needed_repair = 0;
  std::string first;
  for (uint64_t seed = 1; seed <= kClusters; ++seed) {
    ClusterState state = normalized(rule_heavy(seed));
    const Constraints c = Constraints::compile(state, config);
    auto answer = RepairOracle(c).solve();
    if (answer == RepairOracle::Answer::Unknown) {
      ++unknown;
      continue;
    }
    if (answer == RepairOracle::Answer::Infeasible) {
      ++unsolvable;
      continue;
    }
    ++solvable;
    Plan p = plan(state, config);
    needed_repair += std::any_of(p.moves.begin(), p.moves.end(),
                                 [](const Move& m) { return m.reason != MoveReason::Balance; });
    // planner.cpp's message for moves the waves found no order for.
    auto unordered = [](const Conflict& u) { return u.message.find("no order of the plan's moves") != std::string::npos; };
    if (!std::all_of(p.unresolved.begin(), p.unresolved.end(), unordered)) {
      ++no_room;
      if (first.empty()) first = "seed " + std::to_string(seed) + ": " + p.unresolved.front().message;
    } else if (!p.unresolved.empty()) {
      ++no_order;
    }
  }
  std::printf("%llu clusters: %zu solvable (%zu with required moves), %zu not, %zu unknown; "
              "plans with violations left on solvable ones: %zu for want of room %s, %zu for want of an order\n",
              static_cast<unsigned long long>(kClusters), solvable, needed_repair, unsolvable, unknown, no_room,
              first.c_str(), no_order);
  EXPECT_GT(solvable, kClusters / 4) << "the generator should give many solvable clusters";
  EXPECT_GT(needed_repair, solvable / 4) << "most of them should need repairs";
  EXPECT_LE(no_room, kNoRoomTolerance) << "first: " << first;
  EXPECT_LE(no_order, kNoOrderTolerance);
}

}  // namespace
}  // namespace pvekit::balance
