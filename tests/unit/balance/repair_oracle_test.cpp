// Rule repairs against an exact oracle: on small, rule-heavy, tightly packed
// generated clusters, whenever some placement leaves no rule broken, the plan
// must leave none unresolved. The oracle is a branch-and-bound over the final
// placement of every movable unit (whole, on a node it may end on, within
// capacity, anti-affinity limits kept), with unlimited moves and capacity
// checked on the final state only; the plan must in addition order its moves
// so capacity holds at every wave, which the oracle does not check. A
// second, exact oracle (OrderOracle) tells whether any sequence of single
// migrations keeping capacity, allowed nodes and anti-affinity at every step
// reaches a placement without violations.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <iterator>
#include <random>
#include <string>
#include <unordered_set>
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

// Whether the violations can be repaired at all by migrations: a
// breadth-first search over placements, one guest migration at a time, each
// to a node the guest is allowed on, with room, and breaking no
// anti-affinity limit (any wave of a plan is such a sequence, and parking is
// a migration like any other), until a placement without violations (the
// RepairOracle's conditions) is reached. Exact within max_states placements.
class OrderOracle {
 public:
  enum class Answer { Exists, None, Unknown };

  explicit OrderOracle(const Constraints& c) : c_(c) {}

  Answer solve(size_t max_states) const {
    std::vector<int> start(c_.guest_count());
    for (size_t g = 0; g < c_.guest_count(); ++g) start[g] = c_.node_of(g);
    // Placements are keyed 3 bits a guest.
    if (c_.node_count() > 8 || c_.guest_count() > 21 ||
        std::any_of(start.begin(), start.end(), [](int n) { return n < 0; }))
      return Answer::Unknown;
    std::unordered_set<uint64_t> seen{key(start)};
    std::deque<std::vector<int>> queue{start};
    while (!queue.empty()) {
      const std::vector<int> at = std::move(queue.front());
      queue.pop_front();
      if (repaired(at)) return Answer::Exists;
      std::vector<Amount> fit(c_.node_count());
      for (size_t n = 0; n < c_.node_count(); ++n) fit[n] = c_.initial_load(n);
      for (size_t g = 0; g < c_.guest_count(); ++g) {
        fit[c_.node_of(g)] = fit[c_.node_of(g)] - c_.need(g);
        fit[at[g]] = fit[at[g]] + c_.need(g);
      }
      for (size_t g = 0; g < c_.guest_count(); ++g) {
        if (!c_.movable(g)) continue;
        for (size_t t = 0; t < c_.node_count(); ++t) {
          if (static_cast<int>(t) == at[g] || !c_.eligible(t) || !c_.allowed(g, t) ||
              !Constraints::fits(fit[t], c_.need(g), c_.limit(t)) ||
              !anti_ok(at, c_.unit_of(g), t))
            continue;
          std::vector<int> next = at;
          next[g] = static_cast<int>(t);
          if (!seen.insert(key(next)).second) continue;
          if (seen.size() > max_states) return Answer::Unknown;
          queue.push_back(std::move(next));
        }
      }
    }
    return Answer::None;
  }

 private:
  static uint64_t key(const std::vector<int>& at) {
    uint64_t k = 0;
    for (int n : at) k = k * 8 + static_cast<uint64_t>(n);
    return k;
  }

  // Units of the group with a member on the node, other than `except`.
  int present(const std::vector<int>& at, size_t group, size_t node, size_t except) const {
    int units = 0;
    for (size_t u : c_.anti_groups()[group].units) {
      const auto& m = c_.units()[u].members;
      units += u != except && std::any_of(m.begin(), m.end(), [&](size_t g) { return at[g] == static_cast<int>(node); });
    }
    return units;
  }

  bool anti_ok(const std::vector<int>& at, size_t unit, size_t node) const {
    for (size_t g : c_.units()[unit].anti_groups)
      if (present(at, g, node, unit) >= c_.anti_groups()[g].max_per_node) return false;
    return true;
  }

  bool repaired(const std::vector<int>& at) const {
    for (const Unit& unit : c_.units()) {
      const size_t n = static_cast<size_t>(at[unit.members.front()]);
      auto on = [&](auto node_of) {
        return std::all_of(unit.members.begin(), unit.members.end(),
                           [&](size_t m) { return node_of(m) == static_cast<int>(n); });
      };
      if (!on([&](size_t m) { return at[m]; }) || c_.evacuate(n)) return false;
      const bool home = on([&](size_t m) { return c_.node_of(m); });
      if (!unit.movable) {
        if (!home && static_cast<int>(n) != unit.anchor) return false;
      } else if (!(home && !c_.eligible(n)) && !(c_.eligible(n) && unit.allowed.test(n))) {
        return false;
      }
    }
    for (size_t g = 0; g < c_.anti_groups().size(); ++g)
      for (size_t n = 0; n < c_.node_count(); ++n)
        if (present(at, g, n, c_.units().size()) > c_.anti_groups()[g].max_per_node) return false;
    return true;
  }

  const Constraints& c_;
};

constexpr size_t kOrderStates = 5000000;

// Two 40 GiB guests on two 64 GiB nodes, the one on pve1 pinned to pve2: a
// placement without violations swaps them, and a third node with room
// (`spare`) is the only place where either can wait.
ClusterState pinned_swap(bool spare) {
  ClusterState s;
  s.nodes = {fixtures::node("pve1"), fixtures::node("pve2")};
  if (spare) s.nodes.push_back(fixtures::node("pve3"));
  fixtures::add(s, fixtures::guest(100, "pve1", 40, {"plb_pin_pve2"}));
  fixtures::add(s, fixtures::guest(101, "pve2", 40));
  return s;
}

TEST(RepairOracle, OrderOracleTellsASwapWithRoomToWaitFromOneWithout) {
  const BalanceConfig config = repair_config();
  for (bool spare : {false, true}) {
    ClusterState state = normalized(pinned_swap(spare));
    const Constraints c = Constraints::compile(state, config);
    EXPECT_EQ(RepairOracle(c).solve(), RepairOracle::Answer::Feasible) << "spare " << spare;
    EXPECT_EQ(OrderOracle(c).solve(kOrderStates),
              spare ? OrderOracle::Answer::Exists : OrderOracle::Answer::None)
        << "spare " << spare;
    // The plan repairs the pin exactly when some order can.
    Plan p = plan(state, config);
    EXPECT_EQ(p.unresolved.empty(), spare) << "spare " << spare;
  }
}

// Oracle-solvable clusters the plan still leaves unresolved, measured
// 2026-12-07: 20 of 273 before make-room covered affinity and anti-affinity
// repairs and cleared one level deep, 17 after, 6 since room-making is a
// search (search.cpp: units moved aside get room made in turn, anti-affinity
// blockers leave too, the unit's own place counts as free). Every one of
// those 6 (seeds 93, 102, 148, 191, 200, 324) reaches a placement without
// violations, but the order oracle finds no sequence of migrations that
// gets there keeping the rules at every step: each is a swap with nowhere
// for either side to wait:
//  - seeds 93, 191, 324: two units of an anti-affinity group swap nodes;
//    one side may run only on those two nodes (pins), the other side's
//    other nodes hold a member of the group;
//  - seed 148: a four-member group on four nodes, at most one per node,
//    where two members swap while the other two hold the remaining nodes;
//  - seeds 102, 200: two large guests swap between a full node and one with
//    room only once the other left, and neither fits on any other node.
//    On 102, guest 101 (22.9 GiB, pinned to node03) must replace 105
//    (18.4 GiB) there, which fits only on node01 (node02 holds 17.6 GiB),
//    and node01 cannot take 105 while 101 is on it, even after every other
//    guest that can leave has left (106, 14.0 GiB, fits on neither other
//    node while 105 is on node03); on 200, guest 110 (28.6 GiB, pinned to node01) must replace an
//    affinity group of 34.5 GiB, whose 27.6 GiB guest fits only on node02,
//    where 110 is (the other nodes hold 14.4 GiB). Even with capacity as the
//    only rule no migration sequence moves 101 or 110 (checked 2026-12-07),
//    so no other final placement repairs them: these are not search misses.
// Such clusters (no migration sequence repairs them) are counted apart;
// every other plan left with a violation is a planner miss.
// On seeds 1-4000 (measured 2026-12-07, 2,737 solvable, 74 with no order)
// the planner missed 28 where an order exists: 20 for want of an order
// (e.g. seed 564: anti-affinity repair moved 109 to node03, the only node
// where 104 could go to make room for 102, pinned to node02; 102 and 104
// then had to swap with nowhere to wait) and 8 for want of room (affinity groups
// and pins that room-making, run only after balancing, could not clear).
// Since the planner plans again making room from the first repair on when
// a plan leaves rules broken (planner.cpp), 10 were left: 796, 838, 2118,
// 2178, 2451, 2822, 2850, 2898, 2944, 3874 (5 for want of room, 5 of an
// order). The 5 for want of room were room-making's (search.cpp, measured
// 2026-12-07): with a gathering group's place counted as free its
// anti-affinity count on the target was taken off twice, so a member of
// its group there was never moved aside (838, 2178, 2850); a member of the
// group pinned to the target ended the try before the others could leave
// (2451); a group still gathering, with a member on the target, was not
// among the units to move aside (3874). 5 were left, all for want of an
// order: 796, 2118, 2822, 2898, 2944. Their placements need two to four
// parking moves, some of them of a guest with no move of its own (2118:
// 102 leaves node02 so that two members of an affinity group can wait
// there; 2898: 106 leaves node02 so that 105 and 101 can swap); since the
// order search parks such bystanders too (waves.cpp, measured 2026-12-07)
// only 2822 is left, where the search runs out of its budget. Within the
// seeds below (2,200, covering the fixed 564, 696, 723, 796, 838, 1188,
// 1433, 1510, 2118 and 2178) any miss, for want of room or of an order, is
// a regression; 2898 and 2944 are checked by the test after this one.
constexpr size_t kNoRoomTolerance = 0;
constexpr size_t kNoOrderTolerance = 0;
constexpr uint64_t kClusters = 2200;

TEST(RepairOracle, PlansLeaveNoViolationWhenAPlacementWithoutOneExists) {
  const BalanceConfig config = repair_config();
  size_t solvable = 0, unsolvable = 0, unknown = 0, no_room = 0, no_order = 0, no_order_exists = 0;
  size_t needed_repair = 0;
  std::string first, first_order;
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
    if (p.unresolved.empty()) continue;
    // A violation no migration sequence can repair is no planner miss.
    if (OrderOracle(c).solve(kOrderStates) == OrderOracle::Answer::None) {
      ++no_order_exists;
      continue;
    }
    const std::string what = "seed " + std::to_string(seed) + ": " + p.unresolved.front().message;
    // planner.cpp's message for moves the waves found no order for.
    auto unordered = [](const Conflict& u) { return u.message.find("no order of the plan's moves") != std::string::npos; };
    if (!std::all_of(p.unresolved.begin(), p.unresolved.end(), unordered)) {
      ++no_room;
      if (first.empty()) first = what;
    } else {
      ++no_order;
      if (first_order.empty()) first_order = what;
    }
  }
  std::printf("%llu clusters: %zu solvable (%zu with required moves), %zu not, %zu unknown; "
              "plans with violations left on solvable ones: %zu for want of room %s, %zu for want of an order %s, "
              "%zu where no order exists\n",
              static_cast<unsigned long long>(kClusters), solvable, needed_repair, unsolvable, unknown, no_room,
              first.c_str(), no_order, first_order.c_str(), no_order_exists);
  EXPECT_GT(solvable, kClusters / 4) << "the generator should give many solvable clusters";
  EXPECT_GT(needed_repair, solvable / 4) << "most of them should need repairs";
  EXPECT_LE(no_room, kNoRoomTolerance) << "first: " << first;
  EXPECT_LE(no_order, kNoOrderTolerance) << "first: " << first_order;
}

// Seeds beyond the sweep above whose only order parks a guest with no move
// of its own and moves it back: 2898 parks 106 (and 101), 2944 parks three
// guests. Without parking such bystanders both leave required moves out.
TEST(RepairOracle, BystandersParkWhereOnlyThatOrdersTheRepair) {
  const BalanceConfig config = repair_config();
  for (uint64_t seed : {2898u, 2944u}) {
    Plan p = plan(normalized(rule_heavy(seed)), config);
    EXPECT_TRUE(p.unresolved.empty()) << "seed " << seed << ": " << (p.unresolved.empty() ? "" : p.unresolved.front().message);
    EXPECT_TRUE(std::any_of(p.moves.begin(), p.moves.end(), [](const Move& m) { return m.reason == MoveReason::Parking; }))
        << "seed " << seed;
  }
}

}  // namespace
}  // namespace pvekit::balance
