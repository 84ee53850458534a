#include "balance/planner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "balance/rules.h"
#include "balance/score.h"
#include "fixtures.h"

namespace pvekit::balance {
namespace {

using fixtures::add;
using fixtures::empty_cluster;
using fixtures::guest;
using fixtures::node_after;
using fixtures::test_config;

size_t count_reason(const Plan& p, MoveReason reason) {
  return static_cast<size_t>(std::count_if(p.moves.begin(), p.moves.end(),
                                           [&](const Move& m) { return m.reason == reason; }));
}

TEST(Planner, BalancedClusterNeedsNoMoves) {
  auto p = plan(fixtures::homogeneous_cluster(), test_config());
  EXPECT_FALSE(p.balancing_needed);
  EXPECT_TRUE(p.moves.empty());
  EXPECT_EQ(p.imbalance_before, 0.0);
  EXPECT_EQ(p.imbalance_after, 0.0);
  EXPECT_EQ(p.nodes.size(), 3u);
}

TEST(Planner, OneHotNodeIsRelievedToTheBestReachableSpread) {
  auto s = fixtures::one_hot_node();
  auto p = plan(s, test_config());
  EXPECT_TRUE(p.balancing_needed);
  ASSERT_EQ(p.moves.size(), 3u);  // 24/4/4 GiB -> 12/12/8 GiB
  for (const auto& m : p.moves) {
    EXPECT_EQ(m.from, "node1");
    EXPECT_EQ(m.reason, MoveReason::Balance);
    EXPECT_GE(m.gain, m.cost);
  }
  EXPECT_LT(p.imbalance_after, p.imbalance_before);
  EXPECT_NEAR(p.imbalance_after, 100 * imbalance_of({12.0 / 64, 12.0 / 64, 8.0 / 64}), 1e-6);
  EXPECT_NEAR(p.nodes[0].after[kMemory], 12.0 / 64, 1e-9);
  EXPECT_EQ(p.bytes_moved, 12 * kGiB);
  // Not parallel: one move per wave.
  EXPECT_EQ(p.waves.size(), 3u);
}

TEST(Planner, MovesThatDoNotPayForThemselvesAreNotMade) {
  struct Case {
    const char* name;
    MigrationCost cost;
    size_t moves;
  };
  const Case cases[] = {
      {"cheap moves", {0.0, 0.0001}, 3},
      {"every move must gain 50 points", {0.0, 50.0}, 0},
      {"each GiB costs 10 points", {10.0, 0.0}, 0},
      // The moves gain about 17.5, 20 and 12.5 points.
      {"the last move gains too little", {0.0, 15.0}, 2},
  };
  for (const auto& tc : cases) {
    auto cfg = test_config();
    cfg.balancing.migration_cost = tc.cost;
    auto p = plan(fixtures::one_hot_node(), cfg);
    EXPECT_EQ(p.moves.size(), tc.moves) << tc.name;
    for (const auto& m : p.moves) EXPECT_GE(m.gain, m.cost) << tc.name;
  }
}

TEST(Planner, BalancinessThresholdStopsEarly) {
  auto cfg = test_config();
  cfg.balancing.balanciness = 70;  // 24/4/4 GiB is 62.5 points
  auto p = plan(fixtures::one_hot_node(), cfg);
  EXPECT_FALSE(p.balancing_needed);
  EXPECT_TRUE(p.moves.empty());
}

TEST(Planner, MemoryThresholdTriggersBalancing) {
  auto cfg = test_config();
  cfg.balancing.balanciness = 70;
  cfg.balancing.memory_threshold = 30;  // node1 is at 37.5 %
  auto p = plan(fixtures::one_hot_node(), cfg);
  EXPECT_TRUE(p.balancing_needed);
  EXPECT_FALSE(p.moves.empty());
  EXPECT_LE(p.nodes[0].after[kMemory] * 100, 30.0);
}

TEST(Planner, MaintenanceNodeIsEvacuatedFirst) {
  auto s = fixtures::homogeneous_cluster();
  s.nodes[1].maintenance = true;
  auto p = plan(s, test_config());
  EXPECT_EQ(count_reason(p, MoveReason::Evacuate), 3u);
  for (uint32_t vmid : {103, 104, 105}) EXPECT_NE(node_after(s, p, vmid), "node2") << vmid;
  EXPECT_NEAR(p.nodes[1].after[kMemory], 0.0, 1e-12);
  ASSERT_FALSE(p.moves.empty());
  EXPECT_EQ(p.moves[0].reason, MoveReason::Evacuate);
}

TEST(Planner, StoppedGuestsAreEvacuatedButNotBalanced) {
  auto s = empty_cluster(2);
  for (uint32_t v = 100; v < 104; ++v) {
    Guest g = guest(v, "node1");
    g.status = GuestStatus::Stopped;
    g.memory_used = 0;
    add(s, g);
  }
  auto cfg = test_config();
  cfg.balancing.mode = Mode::Assigned;  // stopped guests count, so node1 looks loaded
  auto p = plan(s, cfg);
  EXPECT_TRUE(p.balancing_needed);
  EXPECT_TRUE(p.moves.empty());
  s.nodes[0].maintenance = true;
  auto evac = plan(s, cfg);
  EXPECT_EQ(count_reason(evac, MoveReason::Evacuate), 4u);
  for (const auto& m : evac.moves) EXPECT_FALSE(m.online);
}

TEST(Planner, TemplatesLockedAndIgnoredStayAndAreReported) {
  auto s = empty_cluster(2);
  Guest tmpl = guest(100, "node1");
  tmpl.is_template = true;
  tmpl.status = GuestStatus::Stopped;
  Guest locked = guest(101, "node1");
  locked.lock = "backup";
  add(s, tmpl);
  add(s, locked);
  add(s, guest(102, "node1", 4, {"plb_ignore"}));
  s.nodes[0].maintenance = true;
  auto p = plan(s, test_config());
  EXPECT_TRUE(p.moves.empty());
  ASSERT_EQ(p.unresolved.size(), 3u);
  EXPECT_NE(p.unresolved[0].message.find("template"), std::string::npos) << p.unresolved[0].message;
  EXPECT_NE(p.unresolved[1].message.find("locked"), std::string::npos);
  EXPECT_NE(p.unresolved[2].message.find("plb_ignore"), std::string::npos);
}

TEST(Planner, AffinityGroupIsGatheredAndMovesAsAUnit) {
  auto s = fixtures::one_hot_node();
  s.guests[0].tags = {"plb_affinity_app"};
  s.guests[1].tags = {"plb_affinity_app"};
  s.guests[6].tags = {"plb_affinity_db"};  // 200 on node2
  s.guests[7].tags = {"plb_affinity_db"};  // 300 on node3: split
  auto cfg = test_config();
  cfg.balancing.enforce_affinity = true;
  auto p = plan(s, cfg);
  EXPECT_EQ(node_after(s, p, 100), node_after(s, p, 101));
  EXPECT_EQ(node_after(s, p, 200), node_after(s, p, 300));
  EXPECT_EQ(count_reason(p, MoveReason::Affinity), 1u);
  EXPECT_LT(p.imbalance_after, p.imbalance_before);
}

TEST(Planner, AntiAffinityIsRepaired) {
  auto s = fixtures::homogeneous_cluster();
  for (int i = 0; i < 3; ++i) s.guests[i].tags = {"plb_anti_affinity_db"};  // all on node1
  auto cfg = test_config();
  cfg.balancing.enforce_affinity = true;
  auto p = plan(s, cfg);
  EXPECT_EQ(count_reason(p, MoveReason::AntiAffinity), 2u);
  std::vector<std::string> nodes = {node_after(s, p, 100), node_after(s, p, 101), node_after(s, p, 102)};
  std::sort(nodes.begin(), nodes.end());
  EXPECT_EQ(nodes, (std::vector<std::string>{"node1", "node2", "node3"}));
}

TEST(Planner, ViolatedPinsAreRepairedWhenEnforced) {
  auto s = fixtures::homogeneous_cluster();
  s.guests[0].tags = {"plb_pin_node3"};
  auto cfg = test_config();
  auto lax = plan(s, cfg);
  EXPECT_TRUE(lax.moves.empty());  // balanced and not enforced
  cfg.balancing.enforce_pinning = true;
  auto p = plan(s, cfg);
  EXPECT_EQ(node_after(s, p, 100), "node3");
  EXPECT_EQ(count_reason(p, MoveReason::Pin), 1u);
}

// ProxLB's strict: false: the pinned nodes and its "most free node" are the
// candidates, and the guest goes to the least used of them.
TEST(Planner, NonStrictPoolPinsLetAGuestGoToTheLeastUsedNode) {
  auto s = empty_cluster();
  add(s, guest(100, "node1", 4));
  s.guests[0].pool = "db";
  add(s, guest(101, "node1", 12));
  add(s, guest(102, "node2", 8));
  add(s, guest(103, "node3", 8));
  auto cfg = test_config();
  cfg.balancing.enforce_pinning = true;
  cfg.balancing.pools["db"] = {GroupType::Affinity, {"node2"}, false};
  EXPECT_EQ(node_after(s, plan(s, cfg), 100), "node4");
  cfg.balancing.pools["db"].strict = true;
  EXPECT_EQ(node_after(s, plan(s, cfg), 100), "node2");
}

TEST(Planner, HardRulesHoldWhileBalancing) {
  auto s = fixtures::one_hot_node();
  for (int i = 0; i < 6; ++i) s.guests[i].tags = {"plb_pin_node1"};
  s.guests[5].tags = {"plb_pin_node1", "plb_pin_node3"};
  s.node_affinity.push_back({"stay", {104}, {{"node1", 1}}, true, true});
  auto p = plan(s, test_config());
  ASSERT_EQ(p.moves.size(), 1u);
  EXPECT_EQ(p.moves[0].vmid, 105u);
  EXPECT_EQ(p.moves[0].to, "node3");
}

TEST(Planner, NeverPlacesAGuestWhereItDoesNotFit) {
  // Balancing CPU: node2 has idle cores but its memory is reserved.
  auto s = fixtures::one_hot_node();
  s.nodes[1].reserve.memory = 58 * kGiB;  // node2: 4 GiB used + 58 reserved of 64
  auto cfg = test_config();
  cfg.balancing.weights = {0.0, 1.0, 0.0};
  auto p = plan(s, cfg);
  ASSERT_FALSE(p.moves.empty());
  for (const auto& m : p.moves) EXPECT_EQ(m.to, "node3");
  // Without the reserve node2 takes guests too.
  s.nodes[1].reserve.memory = 0;
  auto free = plan(s, cfg);
  EXPECT_TRUE(std::any_of(free.moves.begin(), free.moves.end(), [](const Move& m) { return m.to == "node2"; }));
}

TEST(Planner, CpuOvercommitLimitsTargets) {
  auto s = fixtures::one_hot_node();
  s.nodes[1].cpus = 2;  // node2 already runs a 2-vCPU guest
  auto cfg = test_config();
  cfg.balancing.cpu_overcommit = 1.0;
  auto p = plan(s, cfg);
  for (const auto& m : p.moves) EXPECT_NE(m.to, "node2");
}

TEST(Planner, SwapsWhenNoSingleMoveHelps) {
  auto s = empty_cluster(2);
  for (auto& n : s.nodes) n.memory_total = 100 * kGiB;
  add(s, guest(100, "node1", 60));
  add(s, guest(101, "node1", 22));
  add(s, guest(200, "node2", 50));
  add(s, guest(201, "node2", 10));
  auto p = plan(s, test_config());
  ASSERT_EQ(p.moves.size(), 2u);  // 82/60 GiB -> 70/72 GiB
  EXPECT_EQ(node_after(s, p, 201), "node1");
  EXPECT_EQ(node_after(s, p, 101), "node2");
  EXPECT_LT(p.imbalance_after, p.imbalance_before);
  EXPECT_EQ(p.waves.size(), 2u);
}

// The benchmark's memory-only configuration (bench/balance/common.cpp).
BalanceConfig memory_only(double balanciness) {
  BalanceConfig c;
  c.balancing.method = Method::Memory;
  c.balancing.mode = Mode::Used;
  c.balancing.weights = Weights{1.0, 0.0, 0.0};
  c.balancing.balanciness = balanciness;
  return c;
}

ClusterState small_generated(size_t nodes, size_t guests, uint64_t seed) {
  GeneratorOptions o;
  o.nodes = nodes;
  o.guests = guests;
  o.seed = seed;
  o.rules = false;
  return generate_cluster(o);
}

// Every move applied one after the other keeps each target's memory within
// capacity: the intermediate state of a compound move (and a swap) fits too.
void expect_fits_step_by_step(const ClusterState& s, const Plan& p) {
  std::vector<double> used;
  for (const auto& n : s.nodes) used.push_back(static_cast<double>(n.memory_used));
  auto index = [&](const std::string& name) {
    for (size_t i = 0; i < s.nodes.size(); ++i)
      if (s.nodes[i].name == name) return i;
    return s.nodes.size();
  };
  for (const auto& m : p.moves) {
    const Guest& g = fixtures::guest_of(s, m.vmid);
    size_t from = index(m.from), to = index(m.to);
    ASSERT_LT(to, s.nodes.size());
    used[from] -= static_cast<double>(g.memory_used);
    used[to] += static_cast<double>(g.memory_used);
    EXPECT_LE(used[to], static_cast<double>(s.nodes[to].memory_total)) << m.vmid << " -> " << m.to;
    EXPECT_GE(m.gain, m.cost);
  }
}

TEST(Planner, EscapesTheLocalMinimumOfASmallCluster) {
  // 4 nodes / 10 guests, seed 2: ranked by gain per GiB alone the search
  // used to stop at 9.66 (above balanciness 5); the optimum is 0.19.
  auto s = small_generated(4, 10, 2);
  auto p5 = plan(s, memory_only(5.0));
  EXPECT_GT(p5.imbalance_before, 30.0);
  // balanciness is ProxLB's max-min spread in points (the CV imbalance is
  // relative to the mean usage and may stay higher).
  EXPECT_LE(p5.spread_after, 5.0) << "imbalance " << p5.imbalance_after;
  auto p0 = plan(s, memory_only(0.0));
  EXPECT_LE(p0.imbalance_after, 0.19 * 1.1);
  expect_fits_step_by_step(s, p5);
  expect_fits_step_by_step(s, p0);
  // Deterministic: the same input gives the same plan.
  auto again = plan(s, memory_only(0.0));
  ASSERT_EQ(again.moves.size(), p0.moves.size());
  for (size_t i = 0; i < p0.moves.size(); ++i) {
    EXPECT_EQ(again.moves[i].vmid, p0.moves[i].vmid);
    EXPECT_EQ(again.moves[i].to, p0.moves[i].to);
  }
}

TEST(Planner, CompoundMovesRespectCapacityAfterEachStep) {
  // The benchmark's small clusters, where the last moves are 2-step chains
  // (e.g. 5 nodes / 12 guests, seed 1) or swaps: every intermediate state
  // fits, every move pays, and the result is never worse than before.
  for (auto [nodes, guests] : {std::pair<size_t, size_t>{4, 10}, {4, 12}, {5, 12}, {5, 14}})
    for (uint64_t seed = 1; seed <= 3; ++seed) {
      SCOPED_TRACE(std::to_string(nodes) + "/" + std::to_string(guests) + " s" +
                   std::to_string(seed));
      auto s = small_generated(nodes, guests, seed);
      for (double balanciness : {0.0, 5.0}) {
        auto p = plan(s, memory_only(balanciness));
        expect_fits_step_by_step(s, p);
        EXPECT_LE(p.imbalance_after, p.imbalance_before);
      }
    }
}

TEST(Planner, ParallelWavesRespectThePerNodeJobLimit) {
  auto s = empty_cluster(6);
  for (uint32_t v = 100; v < 112; ++v) add(s, guest(v, "node1", 2));
  auto cfg = test_config();
  cfg.balancing.parallel = true;
  cfg.balancing.parallel_jobs = 2;
  auto p = plan(s, cfg);
  ASSERT_GE(p.moves.size(), 8u);
  for (const auto& wave : p.waves) {
    std::map<std::string, int> jobs;
    for (size_t i : wave) {
      ++jobs[p.moves[i].from];
      ++jobs[p.moves[i].to];
    }
    for (const auto& [node, n] : jobs) EXPECT_LE(n, 2) << node;
  }
  EXPECT_LT(p.waves.size(), p.moves.size());
}

TEST(Planner, SameSnapshotInAnyOrderGivesTheSamePlan) {
  auto s = generate_cluster({.nodes = 8, .guests = 200, .seed = 7});
  auto shuffled = s;
  std::reverse(shuffled.nodes.begin(), shuffled.nodes.end());
  std::rotate(shuffled.guests.begin(), shuffled.guests.begin() + 77, shuffled.guests.end());
  auto a = plan(s, test_config());
  auto b = plan(shuffled, test_config());
  ASSERT_EQ(a.moves.size(), b.moves.size());
  for (size_t i = 0; i < a.moves.size(); ++i) {
    EXPECT_EQ(a.moves[i].vmid, b.moves[i].vmid) << i;
    EXPECT_EQ(a.moves[i].to, b.moves[i].to) << i;
    EXPECT_EQ(a.moves[i].wave, b.moves[i].wave) << i;
  }
  EXPECT_EQ(a.imbalance_after, b.imbalance_after);
}

TEST(Planner, UnsatisfiableRulesAreReportedInThePlan) {
  auto s = fixtures::homogeneous_cluster();
  s.guests[0].tags = {"plb_pin_node9"};
  auto p = plan(s, test_config());
  ASSERT_EQ(p.conflicts.size(), 1u);
  EXPECT_EQ(p.conflicts[0].vmids, std::vector<uint32_t>{100});
}

TEST(BestNode, PicksTheNodeThatKeepsTheClusterEven) {
  auto s = fixtures::one_hot_node();
  auto cfg = test_config();
  struct Case {
    const char* name;
    PlacementRequest request;
    const char* expected;  // empty: an error
  };
  const Case cases[] = {
      {"least loaded wins, ties by name", {4 * kGiB, 2, 0, {}, ""}, "node2"},
      {"pinned", {4 * kGiB, 2, 0, {"plb_pin_node1"}, ""}, "node1"},
      {"anti-affinity keeps apart", {4 * kGiB, 2, 0, {"plb_anti_affinity_x"}, ""}, "node3"},
      {"too big for any node", {100 * kGiB, 2, 0, {}, ""}, ""},
  };
  s.guests[6].tags = {"plb_anti_affinity_x"};  // 200 on node2
  for (const auto& tc : cases) {
    auto node = best_node(s, cfg, tc.request);
    if (std::string(tc.expected).empty()) {
      ASSERT_FALSE(node.ok()) << tc.name;
      EXPECT_EQ(node.error().category(), core::ErrorCategory::Rules) << tc.name;
    } else {
      ASSERT_TRUE(node.ok()) << tc.name << ": " << node.error().to_string();
      EXPECT_EQ(*node, tc.expected) << tc.name;
    }
  }
}

TEST(BestNode, AffinityTagJoinsTheGroup) {
  auto s = fixtures::one_hot_node();
  s.guests[0].tags = {"plb_affinity_app"};  // on node1, the busiest
  auto node = best_node(s, test_config(), {1 * kGiB, 1, 0, {"plb_affinity_app"}, ""});
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(*node, "node1");
}

// Plan time is measured by bench/balance (bench_planner_quality), not here:
// a timed unit test on a shared machine measures the neighbours.
TEST(Planner, FiftyNodesTenThousandGuestsGetAPlan) {
  auto s = generate_cluster({.nodes = 50, .guests = 10000, .seed = 42});
  auto cfg = test_config();
  cfg.balancing.balanciness = 0.5;
  cfg.balancing.migration_cost = {0.0005, 0.001};
  auto p = plan(s, cfg);
  EXPECT_FALSE(p.moves.empty());
  EXPECT_LT(p.imbalance_after, p.imbalance_before);
}

// A proxlb killed mid-wave leaves migrations running; PVE still lists the
// guests on their source, locked (migrate).
Guest migrating(Guest g, const std::string& target) {
  g.lock = "migrate";
  g.migration = InFlightMigration{.source = g.node, .target = target, .upid = ""};
  return g;
}

std::vector<std::pair<uint32_t, std::string>> moves_of(const Plan& p) {
  std::vector<std::pair<uint32_t, std::string>> out;
  for (const auto& m : p.moves) out.emplace_back(m.vmid, m.from + "->" + m.to);
  return out;
}

TEST(Planner, RunningMigrationsArePlannedAtTheirTargetAndNotMovedAgain) {
  // node1 had six guests; 100 and 101 are on their way to node2 and node3.
  ClusterState running;
  for (const char* n : {"node1", "node2", "node3"}) running.nodes.push_back(fixtures::node(n));
  ClusterState arrived = running;
  for (uint32_t v = 100; v < 106; ++v) {
    std::string target = v == 100 ? "node2" : v == 101 ? "node3" : "";
    add(running, target.empty() ? guest(v, "node1") : migrating(guest(v, "node1"), target));
    add(arrived, guest(v, target.empty() ? "node1" : target));
  }
  for (auto* s : {&running, &arrived}) {
    add(*s, guest(200, "node2"));
    add(*s, guest(300, "node3"));
  }
  auto cfg = test_config();
  cfg.balancing.max_moves = 1;
  Plan p = plan(running, cfg);
  // The same plan as once the migrations ended: nothing moves back, 100 and
  // 101 do not move again, and they do not count against max_moves.
  EXPECT_EQ(moves_of(p), moves_of(plan(arrived, cfg)));
  ASSERT_EQ(p.moves.size(), 1u);
  for (const auto& m : p.moves) EXPECT_TRUE(m.vmid != 100 && m.vmid != 101) << m.vmid;
  ASSERT_EQ(p.running.size(), 2u);
  EXPECT_EQ(p.running[0].vmid, 100u);
  EXPECT_EQ(p.running[0].migration.target, "node2");
  // Node usage before the plan counts them at their targets: node1 has 4 of its 6 guests.
  EXPECT_NEAR(p.nodes[0].before[kMemory], 16.0 / 64, 1e-9);
  EXPECT_NEAR(p.nodes[1].before[kMemory], 8.0 / 64, 1e-9);
}

TEST(Planner, RunningMigrationHoldsRoomOnItsSourceAndTarget) {
  // 16 GiB nodes, assigned memory must fit. 100 (8 GiB) migrates node1 ->
  // node2; node3 is evacuated. 300 (6 GiB) would fit on node1 once 100 left,
  // and on node2 before 100 arrived; while the migration runs it fits on
  // neither.
  auto cluster = [](bool running) {
    ClusterState s;
    for (const char* n : {"node1", "node2", "node3"}) s.nodes.push_back(fixtures::node(n, 16));
    s.nodes[2].maintenance = true;
    add(s, running ? migrating(guest(100, "node1", 8), "node2") : guest(100, "node2", 8));
    add(s, guest(101, "node1", 5));
    add(s, guest(200, "node2", 4));
    add(s, guest(300, "node3", 6));
    return s;
  };
  auto cfg = test_config();
  cfg.proxmox_cluster.overprovisioning = false;
  Plan p = plan(cluster(true), cfg);
  for (const auto& m : p.moves) EXPECT_NE(m.vmid, 300u) << m.from << "->" << m.to;
  EXPECT_FALSE(p.unresolved.empty());
  // Once it ended, 300 leaves the maintenance node.
  Plan ended = plan(cluster(false), cfg);
  EXPECT_TRUE(ended.unresolved.empty());
  EXPECT_NE(node_after(cluster(false), ended, 300), "node3");
}

TEST(Planner, MigrationWithAnUnknownTargetStaysAndHoldsRoomOnEveryNode) {
  // 100 is locked (migrate) but its task, and so its target, is unknown: it
  // may land on node1's neighbours, so each of them keeps 8 GiB for it.
  ClusterState s;
  for (const char* n : {"node1", "node2", "node3"}) s.nodes.push_back(fixtures::node(n, 16));
  s.nodes[2].maintenance = true;
  add(s, migrating(guest(100, "node1", 8), ""));
  add(s, guest(101, "node1", 5));
  add(s, guest(200, "node2", 4));
  add(s, guest(300, "node3", 6));
  auto cfg = test_config();
  cfg.proxmox_cluster.overprovisioning = false;
  Plan p = plan(s, cfg);
  EXPECT_TRUE(p.moves.empty()) << p.moves.size() << " moves, first " << p.moves.front().vmid;
  ASSERT_EQ(p.running.size(), 1u);
  EXPECT_FALSE(p.running[0].migration.target_known());
  ASSERT_FALSE(p.unresolved.empty());
  const Constraints c = Constraints::compile(normalized(s), cfg);
  EXPECT_EQ(c.frozen_reason(0), "it is being migrated (target unknown)");
  EXPECT_EQ(c.node_of(0), 0);
  // Without the hold 300 would go to node2 (4 + 6 of 16 GiB).
  s.guests[0].migration.reset();
  s.guests[0].lock = "backup";
  EXPECT_EQ(node_after(s, plan(s, cfg), 300), "node2");
}

// Four nodes, memory only, balanciness 5 (the generator's 4 nodes / 12
// guests, seed 2, written out). Node01's load has to drop by about a fifth;
// the phases that build a plan one move at a time closed its last points
// with guest 104, the only unit of the right size: 1.2 GiB of RAM, but
// 110 GiB of local disk, 117.7 GiB in 5 moves. Three small guests do it
// with 10.5 GiB (the cheapest placement, by glpsol and by exhaustive search).
TEST(Planner, SmallGuestsDoTheWorkOfOneWithALargeLocalDisk) {
  constexpr uint64_t MiB = 1024 * 1024;
  // (name, GiB, MiB used: the node figure includes the host's own use)
  const std::vector<std::tuple<const char*, uint64_t, uint64_t>> nodes{
      {"node01", 64, 15301}, {"node02", 64, 7924}, {"node03", 32, 8907}, {"node04", 96, 5916}};
  ClusterState s;
  for (auto [name, gib, used] : nodes) s.nodes.push_back(fixtures::node(name, gib));
  struct Spec {
    uint32_t vmid;
    const char* node;
    uint64_t used_mib, disk_gib;
  };
  for (const Spec& g : {Spec{100, "node01", 7039, 0}, {101, "node02", 1021, 0}, {102, "node03", 1884, 0},
                        {103, "node02", 822, 0}, {104, "node01", 1193, 110}, {105, "node01", 1644, 0},
                        {106, "node01", 1329, 0}, {107, "node03", 2151, 0}, {108, "node03", 1800, 0},
                        {109, "node04", 1024, 0}, {110, "node02", 1985, 0}, {111, "node04", 796, 93}}) {
    Guest x = guest(g.vmid, g.node, 8);
    x.memory_used = g.used_mib * MiB;
    x.local_disk_bytes = g.disk_gib * kGiB;
    add(s, std::move(x));
  }
  for (size_t n = 0; n < nodes.size(); ++n) s.nodes[n].memory_used = std::get<2>(nodes[n]) * MiB;
  BalanceConfig cfg;
  cfg.balancing.method = Method::Memory;
  cfg.balancing.mode = Mode::Used;
  cfg.balancing.weights = Weights{1.0, 0.0, 0.0};
  cfg.balancing.balanciness = 5.0;
  Plan p = plan(s, cfg);
  EXPECT_GT(p.spread_before, 20.0);
  EXPECT_LE(p.spread_after, 5.0);
  double gib = 0.0;
  for (const Move& m : p.moves) {
    EXPECT_NE(m.vmid, 104u) << "the guest with the large local disk moves";
    gib += static_cast<double>(m.memory_bytes + m.local_disk_bytes) / static_cast<double>(kGiB);
  }
  EXPECT_LE(gib, 1.2 * 10.5) << p.moves.size() << " moves";
}

}  // namespace
}  // namespace pvekit::balance
