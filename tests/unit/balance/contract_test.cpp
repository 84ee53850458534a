// The plan's contract (planner.h, Plan) as properties over thousands of
// seeded generated clusters: every guest migrates at most once, straight to
// its final node (a parking move says so); max_moves bounds the net
// balancing moves; per-node job limits; capacity and hard rules after any
// subset of every wave; the imbalance never worse without required moves;
// the same plan for the same snapshot in any order.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "balance/generator.h"
#include "balance/planner.h"
#include "balance/rules.h"
#include "balance/score.h"
#include "balance/search.h"
#include "fixtures.h"

namespace pvekit::balance {
namespace {

struct Case {
  GeneratorOptions options;
  BalanceConfig config;
};

// Small clusters (where round trips and deadlocks are likeliest), every
// rule kind, both wave modes, tight and loose move limits.
Case make_case(uint64_t seed) {
  Case c;
  GeneratorOptions& o = c.options;
  o.seed = seed * 7919 + 13;
  o.nodes = 3 + seed % 5;
  o.guests = 8 + (seed * 37) % 33;
  o.ha_rules = seed % 3 == 0;
  o.maintenance_nodes = seed % 6 == 1 ? 1 : 0;
  o.offline_nodes = seed % 11 == 2 ? 1 : 0;
  o.skew = 0.3 + 0.1 * static_cast<double>(seed % 6);
  BalanceConfig& b = c.config;
  b = fixtures::test_config();
  b.balancing.parallel = seed % 2 == 0;
  b.balancing.parallel_jobs = 1 + static_cast<int>(seed % 4);
  b.balancing.max_moves = seed % 4 == 3 ? 1 + static_cast<int>(seed % 7) : 500;
  b.balancing.enforce_affinity = seed % 5 == 0;
  b.balancing.enforce_pinning = seed % 5 == 1;
  b.balancing.mode = seed % 7 == 0 ? Mode::Assigned : Mode::Used;
  b.balancing.migration_cost = {0.001, 0.01};
  b.balancing.balanciness = seed % 8 == 0 ? 1.0 : 5.0 + static_cast<double>(seed % 10);
  if (seed % 4 == 1) b.balancing.weights = {1.0, 0.5, 0.2};
  b.proxmox_cluster.overprovisioning = seed % 2 == 1;
  return c;
}

// Every third case has migrations PVE is already running (a proxlb killed
// mid-wave): every seventh running guest is on its way to the next online
// node, every other one of those to a node the planner cannot learn.
ClusterState with_running_migrations(ClusterState s, uint64_t seed) {
  if (seed % 3 != 1) return s;
  for (size_t i = 3; i < s.guests.size(); i += 7) {
    Guest& g = s.guests[i];
    if (g.status != GuestStatus::Running || !g.lock.empty()) continue;
    auto at = std::find_if(s.nodes.begin(), s.nodes.end(), [&](const Node& n) { return n.name == g.node; });
    if (at == s.nodes.end() || !at->online) continue;
    std::string target;
    for (size_t k = 1; k < s.nodes.size() && target.empty(); ++k) {
      const Node& n = s.nodes[(static_cast<size_t>(at - s.nodes.begin()) + k) % s.nodes.size()];
      if (n.online) target = n.name;
    }
    g.lock = "migrate";
    g.migration = InFlightMigration{.source = g.node, .target = (i / 7) % 2 == 0 ? target : "", .upid = ""};
  }
  return s;
}

enum Violation : size_t {
  kRepeated,  // a guest has more than one non-parking move, or a parking move without a final one
  kMaxMoves,  // more net balancing moves than max_moves
  kJobs,      // a wave with more jobs on a node than allowed
  kCapacity,  // a subset of a wave overloads a node
  kHardRule,  // a move to a node the guest may not run on, of a frozen guest, or an anti-affinity
              // break
  kWorse,     // imbalance higher after a plan of balancing moves only
  kInconsistent,  // from/wave fields or predicted imbalance disagree with the moves
  kViolations
};
constexpr std::array<const char*, kViolations> kNames{
    "guest moved twice",         "max_moves exceeded",         "per-node jobs exceeded",
    "capacity broken in a wave", "hard rule broken in a wave", "imbalance worse",
    "inconsistent plan"};

// Which contract clauses `p` breaks (one flag per clause).
std::array<bool, kViolations> check(const ClusterState& state, const BalanceConfig& config,
                                    const Plan& p, std::string* detail = nullptr) {
  std::array<bool, kViolations> bad{};
  auto fail = [&](Violation v, const std::string& why) {
    bad[v] = true;
    if (detail && detail->empty()) *detail = std::string(kNames[v]) + ": " + why;
  };
  const Constraints c = Constraints::compile(state, config);
  std::map<uint32_t, size_t> index;
  for (size_t g = 0; g < c.guest_count(); ++g) index[state.guests[g].vmid] = g;

  // Net moves: at most one final move per guest; a parking move comes before it.
  std::map<uint32_t, int> finals, parked;
  size_t balancing = 0;
  for (const Move& m : p.moves) {
    if (m.reason == MoveReason::Parking) {
      if (finals[m.vmid] > 0 || parked[m.vmid]++ > 0) fail(kRepeated, std::to_string(m.vmid));
    } else if (finals[m.vmid]++ > 0) {
      fail(kRepeated, std::to_string(m.vmid));
    }
    if (m.reason == MoveReason::Balance) ++balancing;
  }
  for (const auto& [vmid, n] : parked)
    if (n > 0 && finals[vmid] == 0) fail(kRepeated, std::to_string(vmid) + " parked for good");
  if (balancing > static_cast<size_t>(config.balancing.max_moves))
    fail(kMaxMoves, std::to_string(balancing) + " > " + std::to_string(config.balancing.max_moves));

  // Waves: every move in exactly one wave, in order.
  size_t in_waves = 0;
  for (size_t w = 0; w < p.waves.size(); ++w)
    for (size_t i : p.waves[w]) {
      ++in_waves;
      if (i >= p.moves.size() || p.moves[i].wave != w) fail(kInconsistent, "wave index");
    }
  if (in_waves != p.moves.size()) fail(kInconsistent, "moves outside waves");
  size_t migrating = 0;
  for (const Guest& g : state.guests) migrating += g.migration.has_value();
  if (p.running.size() != migrating) fail(kInconsistent, "running migrations not all in the plan");

  std::vector<Amount> load;
  for (size_t n = 0; n < c.node_count(); ++n) load.push_back(c.initial_load(n));
  std::vector<int> node;
  for (size_t g = 0; g < c.guest_count(); ++g) node.push_back(c.node_of(g));
  LoadModel model(state, config);
  const int per_node = config.balancing.parallel ? config.balancing.parallel_jobs : 1;
  for (size_t w = 0; w < p.waves.size(); ++w) {
    const auto& wave = p.waves[w];
    if (!config.balancing.parallel && wave.size() != 1)
      fail(kJobs, "serial wave of " + std::to_string(wave.size()));
    std::map<std::string, int> jobs;
    std::vector<Amount> incoming(c.node_count());
    std::map<std::pair<size_t, size_t>, std::set<size_t>> arriving;  // (group, node) -> units
    for (size_t i : wave) {
      const Move& m = p.moves[i];
      size_t g = index.at(m.vmid);
      int to = c.node_index(m.to);
      if (to < 0 || node[g] < 0 || state.nodes[node[g]].name != m.from) {
        fail(kInconsistent, std::to_string(m.vmid) + " from " + m.from);
        continue;
      }
      if (++jobs[m.from] > per_node || ++jobs[m.to] > per_node)
        fail(kJobs, "wave " + std::to_string(w));
      if (!c.allowed(g, to) || !c.movable(g))
        fail(kHardRule, std::to_string(m.vmid) + " to " + m.to);
      incoming[to] = incoming[to] + c.need(g);
      for (size_t a : c.units()[c.unit_of(g)].anti_groups)
        arriving[{a, static_cast<size_t>(to)}].insert(c.unit_of(g));
    }
    // Any subset of the wave: the start load plus every arrival, no departure.
    for (size_t n = 0; n < c.node_count(); ++n)
      if (!Constraints::fits(load[n], incoming[n], c.limit(n)))
        fail(kCapacity, "wave " + std::to_string(w) + " on " + state.nodes[n].name);
    // Anti-affinity: members present at the wave start (they may leave last)
    // plus every arrival, unless the node already broke the group before.
    for (const auto& [key, units] : arriving) {
      auto [a, n] = key;
      std::set<size_t> present = units;
      for (size_t u : c.anti_groups()[a].units)
        for (size_t m : c.units()[u].members)
          if (node[m] == static_cast<int>(n)) present.insert(u);
      if (static_cast<int>(present.size()) > c.anti_groups()[a].max_per_node)
        fail(kHardRule, "wave " + std::to_string(w) + " joins " + c.anti_groups()[a].rule + " on " +
                            state.nodes[n].name);
    }
    for (size_t i : wave) {
      const Move& m = p.moves[i];
      size_t g = index.at(m.vmid);
      int to = c.node_index(m.to);
      if (to < 0 || node[g] < 0) continue;
      load[node[g]] = load[node[g]] - c.need(g);
      load[to] = load[to] + c.need(g);
      model.apply(node[g], to, model.contribution(state.guests[g]));
      node[g] = to;
    }
  }
  if (std::abs(model.imbalance() - p.imbalance_after) > 1e-6)
    fail(kInconsistent, "imbalance_after " + std::to_string(p.imbalance_after) + " replayed " +
                            std::to_string(model.imbalance()));
  bool required = std::any_of(p.moves.begin(), p.moves.end(),
                              [](const Move& m) { return m.reason != MoveReason::Balance; });
  if (!required && p.imbalance_after > p.imbalance_before + 1e-9)
    fail(kWorse, std::to_string(p.imbalance_before) + " -> " + std::to_string(p.imbalance_after));
  return bad;
}

ClusterState shuffled(ClusterState s, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::shuffle(s.nodes.begin(), s.nodes.end(), rng);
  std::shuffle(s.guests.begin(), s.guests.end(), rng);
  return s;
}

bool same_moves(const Plan& a, const Plan& b) {
  if (a.moves.size() != b.moves.size() || a.waves.size() != b.waves.size()) return false;
  for (size_t i = 0; i < a.moves.size(); ++i) {
    const Move &x = a.moves[i], &y = b.moves[i];
    if (x.vmid != y.vmid || x.from != y.from || x.to != y.to || x.wave != y.wave ||
        x.reason != y.reason)
      return false;
  }
  return a.imbalance_after == b.imbalance_after;
}

constexpr uint64_t kCases = 1000;

TEST(PlanContract, HoldsOnThousandsOfGeneratedClusters) {
  auto start = std::chrono::steady_clock::now();
  std::array<size_t, kViolations> plans{};
  std::array<std::string, kViolations> example;
  size_t moves = 0, parking = 0, nondeterministic = 0;
  for (uint64_t seed = 1; seed <= kCases; ++seed) {
    Case k = make_case(seed);
    ClusterState state = with_running_migrations(generate_cluster(k.options), seed);
    Plan p = plan(state, k.config);
    std::string detail;
    auto bad = check(state, k.config, p, &detail);
    for (size_t v = 0; v < kViolations; ++v)
      if (bad[v]) {
        ++plans[v];
        if (example[v].empty()) example[v] = "seed " + std::to_string(seed) + ": " + detail;
      }
    moves += p.moves.size();
    parking += std::count_if(p.moves.begin(), p.moves.end(),
                             [](const Move& m) { return m.reason == MoveReason::Parking; });
    if (seed % 4 == 0 && !same_moves(p, plan(shuffled(state, seed), k.config))) ++nondeterministic;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%llu plans, %zu moves (%zu parking), %.2f s\n",
              static_cast<unsigned long long>(kCases), moves, parking, seconds);
  for (size_t v = 0; v < kViolations; ++v) {
    std::printf("  %-28s %zu plans %s\n", kNames[v], plans[v], example[v].c_str());
    EXPECT_EQ(plans[v], 0u) << kNames[v] << "; first: " << example[v];
  }
  std::printf("  %-28s %zu of %llu plans\n", "order-dependent", nondeterministic,
              static_cast<unsigned long long>(kCases / 4));
  EXPECT_EQ(nondeterministic, 0u);
}

using fixtures::add;
using fixtures::guest;
using fixtures::node;
using fixtures::node_after;

std::map<uint32_t, int> moves_per_guest(const Plan& p) {
  std::map<uint32_t, int> n;
  for (const Move& m : p.moves) ++n[m.vmid];
  return n;
}

TEST(PlanContract, ARoundTripLeavesNoMove) {
  // The search moved 102 node2 -> node1 and later back node1 -> node2; 101
  // went to node3 and 100 to node1.
  ClusterState s;
  for (const char* n : {"node1", "node2", "node3"}) s.nodes.push_back(node(n, 32));
  add(s, guest(100, "node2", 4));
  add(s, guest(101, "node2", 8));
  add(s, guest(102, "node2", 6));
  add(s, guest(103, "node1", 4));
  add(s, guest(104, "node2", 2));
  auto cfg = fixtures::test_config();
  cfg.balancing.balanciness = 5.0;
  Plan p = plan(s, cfg);
  ASSERT_FALSE(p.moves.empty());
  for (const auto& [vmid, n] : moves_per_guest(p)) EXPECT_EQ(n, 1) << vmid;
  EXPECT_EQ(moves_per_guest(p).count(102), 0u);
  EXPECT_EQ(node_after(s, p, 102), "node2");
  auto bad = check(s, cfg, p);
  for (size_t v = 0; v < kViolations; ++v) EXPECT_FALSE(bad[v]) << kNames[v];
}

// A step of the search, for the waves to order: a balancing one gains 1.0
// for a cost of 0.1, a required one neither.
struct SearchStep {
  size_t guest;
  int from;
  int to;
  MoveReason reason = MoveReason::Balance;
};

detail::Schedule waves_of(const ClusterState& s, const BalanceConfig& cfg, const std::vector<SearchStep>& search) {
  auto c = Constraints::compile(s, cfg);
  std::vector<detail::Step> steps;
  for (const SearchStep& m : search) {
    const bool balance = m.reason == MoveReason::Balance;
    steps.push_back({m.guest, c.unit_of(m.guest), m.from, m.to, m.reason, balance ? 1.0 : 0.0, balance ? 0.1 : 0.0});
  }
  return detail::schedule(c, steps, cfg);
}

TEST(PlanContract, ASwapThatFitsInNeitherOrderParksOneGuest) {
  // Net moves 100 node1 -> node2 and 101 node2 -> node1 (the search went
  // through node3): neither fits while the other is still there.
  ClusterState s;
  s.nodes = {node("node1", 16), node("node2", 16), node("node3", 32)};
  add(s, guest(100, "node1", 12));
  add(s, guest(101, "node2", 12));
  auto cfg = fixtures::test_config();
  cfg.balancing.parallel = true;
  auto out = waves_of(s, cfg, {{0, 0, 2}, {1, 1, 0}, {0, 2, 1}});
  EXPECT_TRUE(out.dropped.empty());
  ASSERT_EQ(out.steps.size(), 3u);
  // Park one on node3, move the other, then the parked one on to its node.
  EXPECT_EQ(out.steps[0].reason, MoveReason::Parking);
  EXPECT_EQ(out.steps[0].to, 2);
  EXPECT_GT(out.steps[0].cost, 0.0);
  ASSERT_EQ(out.waves.size(), 3u);
  size_t parked = out.steps[0].guest, other = 1 - parked;
  EXPECT_EQ(out.steps[1].guest, other);
  EXPECT_EQ(out.steps[1].to, static_cast<int>(parked));  // guest i starts on node i+1
  EXPECT_EQ(out.steps[2].guest, parked);
  EXPECT_EQ(out.steps[2].from, 2);
  EXPECT_EQ(out.steps[2].to, static_cast<int>(other));
  EXPECT_EQ(out.steps[2].reason, MoveReason::Balance);
}

TEST(PlanContract, AnOrderTheGreedyWavesMissIsFound) {
  // Net moves in the search's order: 100 node2 -> node1, 101 node1 -> node2,
  // 102 node2 -> node1 (103 stays). 100 fits first, and after it neither of
  // the others does, with no third node to park on; 102, 101, 100 fits at
  // every step.
  ClusterState s;
  s.nodes = {node("node1", 16), node("node2", 16)};
  add(s, guest(100, "node2", 2));
  add(s, guest(101, "node1", 10));
  add(s, guest(102, "node2", 6));
  add(s, guest(103, "node2", 4));
  for (bool parallel : {false, true}) {
    auto cfg = fixtures::test_config();
    cfg.balancing.parallel = parallel;
    cfg.balancing.parallel_jobs = 2;
    auto out = waves_of(s, cfg, {{0, 1, 0}, {1, 0, 1}, {2, 1, 0}});
    EXPECT_TRUE(out.dropped.empty()) << "parallel " << parallel;
    ASSERT_EQ(out.steps.size(), 3u) << "parallel " << parallel;
    EXPECT_EQ(out.steps[0].guest, 2u);
    EXPECT_EQ(out.steps[1].guest, 1u);
    EXPECT_EQ(out.steps[2].guest, 0u);
    for (const auto& step : out.steps) EXPECT_NE(step.reason, MoveReason::Parking);
    // Each move needs the one before it to have finished: one per wave.
    EXPECT_EQ(out.waves.size(), 3u) << "parallel " << parallel;
  }
}

TEST(PlanContract, AGuestParksWhereAnEarlierMoveWouldHaveTakenTheRoom) {
  // Net moves 101 node1 -> node3, then a swap of 100 (node1 -> node2) and
  // 102 (node2 -> node1) that fits in neither order. Taken greedily, 101
  // fills node3 and nothing can park; parking 102 on node3 first works:
  // 100 goes, 102 follows, and 101 still finds room on node3.
  ClusterState s;
  s.nodes = {node("node1", 20), node("node2", 16), node("node3", 16)};
  add(s, guest(100, "node1", 12));
  add(s, guest(101, "node1", 8));
  add(s, guest(102, "node2", 12));
  add(s, guest(103, "node3", 4));
  auto cfg = fixtures::test_config();
  auto out = waves_of(s, cfg, {{1, 0, 2}, {0, 0, 1}, {2, 1, 0, MoveReason::Evacuate}});
  EXPECT_TRUE(out.dropped.empty());
  ASSERT_EQ(out.steps.size(), 4u);
  EXPECT_EQ(out.steps[0].guest, 2u);
  EXPECT_EQ(out.steps[0].reason, MoveReason::Parking);
  EXPECT_EQ(out.steps[0].to, 2);
  EXPECT_GT(out.steps[0].cost, 0.0);
  EXPECT_EQ(out.steps[1].guest, 0u);
  EXPECT_EQ(out.steps[2].guest, 2u);
  EXPECT_EQ(out.steps[2].from, 2);
  EXPECT_EQ(out.steps[2].to, 0);
  EXPECT_EQ(out.steps[2].reason, MoveReason::Evacuate);
  EXPECT_EQ(out.steps[3].guest, 1u);
  EXPECT_EQ(out.waves.size(), 4u);
}

TEST(PlanContract, MovesWithNoOrderAreLeftOutAndTheOthersKept) {
  // A swap of two 12 GiB guests between two full 16 GiB nodes, with 3 GiB
  // free on every other node, beside 39 small moves around those three
  // nodes. No order or parking makes the swap, and the order search over
  // the small moves' orders ends on its budget: the greedy waves stand.
  ClusterState s;
  for (int n = 1; n <= 5; ++n) s.nodes.push_back(node("node" + std::to_string(n), 16));
  add(s, guest(100, "node1", 12));
  add(s, guest(101, "node2", 12));
  for (int i = 0; i < 39; ++i) add(s, guest(200 + i, "node" + std::to_string(3 + i % 3), 1));
  std::vector<SearchStep> search = {{0, 0, 1}, {1, 1, 0}};
  for (int i = 0; i < 39; ++i) search.push_back({static_cast<size_t>(2 + i), 2 + i % 3, 2 + (i + 1) % 3});
  auto out = waves_of(s, fixtures::test_config(), search);
  EXPECT_EQ(out.dropped.size(), 2u);
  EXPECT_EQ(out.steps.size(), 39u);
  for (const auto& step : out.steps) {
    EXPECT_GE(step.guest, 2u);
    EXPECT_NE(step.reason, MoveReason::Parking);
  }
}

TEST(PlanContract, NetMovesKeepTheRequiredReason) {
  ClusterState s = fixtures::empty_cluster(3);
  add(s, guest(100, "node1", 4));
  auto cfg = fixtures::test_config();
  auto c = Constraints::compile(s, cfg);
  std::vector<detail::Step> steps = {{0, 0, 0, 1, MoveReason::Evacuate, 0.0, 0.0},
                                     {0, 0, 1, 2, MoveReason::Balance, 0.5, 0.2}};
  auto net = detail::net_moves(c, steps);
  ASSERT_EQ(net.size(), 1u);
  EXPECT_EQ(net[0].from, 0);
  EXPECT_EQ(net[0].to, 2);
  EXPECT_EQ(net[0].reason, MoveReason::Evacuate);
}

TEST(PlanContract, MaxMovesCountsEveryGuestOfASwapOrUnit) {
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    Case k = make_case(seed);
    k.config.balancing.max_moves = 1 + static_cast<int>(seed % 3);
    ClusterState state = generate_cluster(k.options);
    Plan p = plan(state, k.config);
    size_t balancing = 0;
    for (const Move& m : p.moves) balancing += m.reason == MoveReason::Balance;
    EXPECT_LE(balancing, static_cast<size_t>(k.config.balancing.max_moves)) << "seed " << seed;
  }
}

TEST(PlanContract, AntiAffinityMovesTheLowestVmidWhenTheOthersCannotMove) {
  auto s = fixtures::homogeneous_cluster();  // 100..102 on node1
  s.guests[0].tags = {"plb_anti_affinity_db"};
  s.guests[1].tags = {"plb_anti_affinity_db", "plb_pin_node1"};
  for (const char* frozen : {"plb_pin_node1", "plb_ignore"}) {
    s.guests[1].tags[1] = frozen;
    auto cfg = fixtures::test_config();
    cfg.balancing.enforce_affinity = true;
    auto p = plan(s, cfg);
    EXPECT_TRUE(p.unresolved.empty()) << frozen << ": " << p.unresolved.front().message;
    EXPECT_NE(node_after(s, p, 100), "node1") << frozen;
    EXPECT_EQ(node_after(s, p, 101), "node1") << frozen;
  }
}

TEST(PlanContract, APinnedGuestLeavesMaintenanceOnceBalancingFreedRoom) {
  // 200 must go to node1 (pin), which is full until balancing spreads its
  // guests over node2 and node3.
  ClusterState s;
  for (const char* n : {"node1", "node2", "node3", "node4"}) s.nodes.push_back(node(n, 32));
  s.nodes[3].maintenance = true;
  for (uint32_t i = 0; i < 7; ++i) add(s, guest(100 + i, "node1", 4));
  add(s, guest(200, "node4", 8, {"plb_pin_node1"}));
  auto cfg = fixtures::test_config();
  cfg.balancing.balanciness = 5.0;
  auto p = plan(s, cfg);
  EXPECT_EQ(node_after(s, p, 200), "node1");
  EXPECT_TRUE(p.unresolved.empty()) << p.unresolved.front().message;
  auto bad = check(s, cfg, p);
  for (size_t v = 0; v < kViolations; ++v) EXPECT_FALSE(bad[v]) << kNames[v];
}

TEST(PlanContract, ARequiredMoveMakesRoomWhenBalancingDoesNot) {
  // An even cluster: balancing moves nothing, so room for 200 on node1 (its
  // pin) is made by moving one of node1's guests to node2 or node3.
  ClusterState s;
  for (const char* n : {"node1", "node2", "node3", "node4"}) s.nodes.push_back(node(n, 32));
  s.nodes[3].maintenance = true;
  uint32_t vmid = 100;
  for (const char* n : {"node1", "node2", "node3"})
    for (int i = 0; i < 7; ++i) add(s, guest(vmid++, n, 4));
  add(s, guest(200, "node4", 8, {"plb_pin_node1"}));
  auto cfg = fixtures::test_config();
  cfg.balancing.balanciness = 5.0;
  auto p = plan(s, cfg);
  EXPECT_EQ(node_after(s, p, 200), "node1");
  EXPECT_TRUE(p.unresolved.empty()) << p.unresolved.front().message;
  size_t room = 0;
  for (const Move& m : p.moves) room += m.reason == MoveReason::MakeRoom;
  EXPECT_EQ(room, 1u);
  auto bad = check(s, cfg, p);
  for (size_t v = 0; v < kViolations; ++v) EXPECT_FALSE(bad[v]) << kNames[v];
}

TEST(PlanContract, TheSearchStateKeepsItsInvariants) {
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    Case k = make_case(seed);
    ClusterState state = normalized(generate_cluster(k.options));
    auto c = Constraints::compile(state, k.config);
    detail::Search search(c, k.config);
    search.repair();
    EXPECT_EQ(search.check_invariants(), "") << "seed " << seed << " after repair";
    search.balance();
    EXPECT_EQ(search.check_invariants(), "") << "seed " << seed << " after balance";
    search.retry();
    EXPECT_EQ(search.check_invariants(), "") << "seed " << seed << " after retry";
  }
}

}  // namespace
}  // namespace pvekit::balance
