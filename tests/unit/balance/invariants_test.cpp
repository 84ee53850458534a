// Planner invariants over many seeded random clusters (balance/generator.h).
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "balance/rules.h"
#include "fixtures.h"

namespace pvekit::balance {
namespace {

using fixtures::test_config;

struct Scenario {
  GeneratorOptions options;
  BalanceConfig config;
  std::string name;
};

std::vector<Scenario> scenarios() {
  std::vector<Scenario> out;
  for (uint64_t seed = 1; seed <= 24; ++seed) {
    GeneratorOptions o;
    o.nodes = 3 + seed % 8;
    o.guests = 40 + 13 * seed;
    o.seed = seed;
    o.ha_rules = seed % 2 == 0;
    o.maintenance_nodes = seed % 5 == 0 ? 1 : 0;
    o.offline_nodes = seed % 7 == 0 ? 1 : 0;
    BalanceConfig c = test_config();
    c.balancing.parallel = seed % 3 != 0;
    c.balancing.parallel_jobs = 1 + static_cast<int>(seed % 3);
    c.balancing.enforce_affinity = seed % 4 == 0;
    c.balancing.enforce_pinning = seed % 4 == 1;
    c.balancing.cpu_overcommit = seed % 6 == 0 ? 1.5 : 0.0;
    c.balancing.mode = seed % 3 == 0 ? Mode::Assigned : Mode::Used;
    c.balancing.migration_cost = {0.001, 0.01};
    if (seed % 5 == 1) c.balancing.weights = {1.0, 0.5, 0.2};
    c.proxmox_cluster.overprovisioning = seed % 2 == 1;
    out.push_back({o, c, "seed " + std::to_string(seed)});
  }
  return out;
}

// Node loads in the fit check's units, as each wave leaves them.
struct Replay {
  const Constraints& c;
  std::vector<Amount> load;
  std::map<uint32_t, size_t> index;  // vmid -> guest index
  std::vector<int> node;             // guest -> node

  explicit Replay(const Constraints& constraints) : c(constraints) {
    for (size_t n = 0; n < c.node_count(); ++n) load.push_back(c.initial_load(n));
    for (size_t g = 0; g < c.guest_count(); ++g) {
      index[c.state().guests[g].vmid] = g;
      node.push_back(c.node_of(g));
    }
  }

  // Units of anti-affinity group `a` with a member on node n.
  std::set<size_t> anti_units(size_t a, size_t n) const {
    std::set<size_t> units;
    for (size_t u : c.anti_groups()[a].units)
      for (size_t m : c.units()[u].members)
        if (node[m] == static_cast<int>(n)) units.insert(u);
    return units;
  }
};

void check_wave(Replay& r, const Plan& p, size_t w, const std::string& name) {
  const Constraints& c = r.c;
  std::vector<Amount> incoming(c.node_count());
  std::map<std::pair<size_t, size_t>, std::set<size_t>> arriving;  // (group, node) -> units
  for (size_t i : p.waves[w]) {
    const Move& m = p.moves[i];
    size_t g = r.index.at(m.vmid);
    size_t to = static_cast<size_t>(c.node_index(m.to));
    EXPECT_TRUE(c.allowed(g, to)) << name << ": " << m.vmid << " to " << m.to;
    EXPECT_TRUE(c.movable(g)) << name << ": " << m.vmid << " " << c.frozen_reason(g);
    incoming[to].memory += c.need(g).memory;
    incoming[to].cpus += c.need(g).cpus;
    incoming[to].disk += c.need(g).disk;
    // Any subset of the wave: start load plus every arrival must fit.
    Amount start_plus = r.load[to];
    start_plus.memory += incoming[to].memory - c.need(g).memory;
    start_plus.cpus += incoming[to].cpus - c.need(g).cpus;
    start_plus.disk += incoming[to].disk - c.need(g).disk;
    EXPECT_TRUE(Constraints::fits(start_plus, c.need(g), c.limit(to)))
        << name << ": wave " << w << " overloads " << m.to << " with " << m.vmid;
    for (size_t a : c.units()[c.unit_of(g)].anti_groups) {
      arriving[{a, to}].insert(c.unit_of(g));
      // Members that leave in this wave still count: they may leave last.
      std::set<size_t> present = r.anti_units(a, to);
      present.insert(arriving[{a, to}].begin(), arriving[{a, to}].end());
      EXPECT_LE(static_cast<int>(present.size()), c.anti_groups()[a].max_per_node)
          << name << ": wave " << w << " puts group " << c.anti_groups()[a].rule << " together on " << m.to;
    }
  }
  for (size_t i : p.waves[w]) {
    const Move& m = p.moves[i];
    size_t g = r.index.at(m.vmid);
    size_t from = static_cast<size_t>(r.node[g]), to = static_cast<size_t>(c.node_index(m.to));
    EXPECT_EQ(c.state().nodes[from].name, m.from) << name;
    r.load[from].memory -= c.need(g).memory;
    r.load[from].cpus -= c.need(g).cpus;
    r.load[from].disk -= c.need(g).disk;
    r.load[to].memory += c.need(g).memory;
    r.load[to].cpus += c.need(g).cpus;
    r.load[to].disk += c.need(g).disk;
    r.node[g] = static_cast<int>(to);
  }
}

TEST(PlannerInvariants, HardRulesAndCapacityHoldAfterEveryWave) {
  for (const auto& sc : scenarios()) {
    auto state = generate_cluster(sc.options);
    auto p = plan(state, sc.config);
    auto c = Constraints::compile(state, sc.config);
    Replay replay(c);
    for (size_t w = 0; w < p.waves.size(); ++w) check_wave(replay, p, w, sc.name);
    size_t in_waves = 0;
    for (const auto& wave : p.waves) in_waves += wave.size();
    EXPECT_EQ(in_waves, p.moves.size()) << sc.name;
  }
}

TEST(PlannerInvariants, WavesRespectTheJobLimits) {
  for (const auto& sc : scenarios()) {
    auto p = plan(generate_cluster(sc.options), sc.config);
    for (const auto& wave : p.waves) {
      if (!sc.config.balancing.parallel) {
        EXPECT_EQ(wave.size(), 1u) << sc.name;
        continue;
      }
      std::map<std::string, int> jobs;
      for (size_t i : wave) ++jobs[p.moves[i].from], ++jobs[p.moves[i].to];
      for (const auto& [node, n] : jobs) EXPECT_LE(n, sc.config.balancing.parallel_jobs) << sc.name << " " << node;
    }
  }
}

TEST(PlannerInvariants, EveryBalancingMovePaysForItself) {
  for (const auto& sc : scenarios()) {
    auto p = plan(generate_cluster(sc.options), sc.config);
    const auto& cost = sc.config.balancing.migration_cost;
    for (const auto& m : p.moves) {
      if (m.reason != MoveReason::Balance) continue;
      EXPECT_GT(m.gain, 0.0) << sc.name << " " << m.vmid;
      EXPECT_GE(m.gain, m.cost) << sc.name << " " << m.vmid;
      double gib = static_cast<double>(m.memory_bytes + m.local_disk_bytes) / static_cast<double>(kGiB);
      EXPECT_GE(m.cost, cost.min_gain + cost.per_gib * gib - 1e-9) << sc.name << " " << m.vmid;
    }
  }
}

TEST(PlannerInvariants, ImbalanceNeverWorseWithoutRequiredMoves) {
  for (const auto& sc : scenarios()) {
    auto options = sc.options;
    options.rules = false;
    options.ha_rules = false;
    options.maintenance_nodes = 0;
    auto p = plan(generate_cluster(options), sc.config);
    EXPECT_LE(p.imbalance_after, p.imbalance_before) << sc.name;
    if (p.balancing_needed && !p.moves.empty()) {
      EXPECT_LT(p.imbalance_after, p.imbalance_before) << sc.name;
    }
  }
}

TEST(PlannerInvariants, SameInputGivesTheIdenticalPlan) {
  for (const auto& sc : scenarios()) {
    auto state = generate_cluster(sc.options);
    auto a = plan(state, sc.config);
    auto b = plan(generate_cluster(sc.options), sc.config);
    ASSERT_EQ(a.moves.size(), b.moves.size()) << sc.name;
    for (size_t i = 0; i < a.moves.size(); ++i) {
      EXPECT_EQ(a.moves[i].vmid, b.moves[i].vmid) << sc.name;
      EXPECT_EQ(a.moves[i].to, b.moves[i].to) << sc.name;
      EXPECT_EQ(a.moves[i].wave, b.moves[i].wave) << sc.name;
      EXPECT_EQ(a.moves[i].gain, b.moves[i].gain) << sc.name;
    }
    EXPECT_EQ(a.imbalance_after, b.imbalance_after) << sc.name;
    EXPECT_EQ(a.conflicts.size(), b.conflicts.size()) << sc.name;
  }
}

TEST(PlannerInvariants, MaintenanceNodesAreEmptiedOrTheRestIsReported) {
  for (const auto& sc : scenarios()) {
    if (sc.options.maintenance_nodes == 0) continue;
    auto state = generate_cluster(sc.options);
    auto p = plan(state, sc.config);
    auto after = fixtures::after_waves(state, p, p.waves.size());
    std::set<uint32_t> reported;
    for (const auto& u : p.unresolved) reported.insert(u.vmids.begin(), u.vmids.end());
    for (const auto& g : after.guests) {
      const Node* n = after.find_node(g.node);
      if (n && n->maintenance) {
        EXPECT_TRUE(reported.count(g.vmid)) << sc.name << ": " << g.vmid;
      }
    }
  }
}

TEST(PlannerInvariants, UnsatisfiableRulesAreReported) {
  for (const auto& sc : scenarios()) {
    auto state = generate_cluster(sc.options);
    state.guests[0].tags = {"plb_pin_nowhere"};  // alone: a pin union with a real node is fine
    for (size_t i = 1; i <= sc.options.nodes + 1 && i < state.guests.size(); ++i)
      state.guests[i].tags.push_back("plb_anti_affinity_toomany");
    auto p = plan(state, sc.config);
    bool pin = false, anti = false;
    for (const auto& conflict : p.conflicts) {
      pin = pin || (conflict.rule.find("plb_pin_nowhere") != std::string::npos &&
                    conflict.vmids == std::vector<uint32_t>{state.guests[0].vmid});
      anti = anti || conflict.rule == "tag plb_anti_affinity_toomany";
    }
    EXPECT_TRUE(pin) << sc.name;
    EXPECT_TRUE(anti) << sc.name;
  }
}

TEST(Generator, IsAPureFunctionOfItsOptions) {
  auto a = generate_cluster({.nodes = 7, .guests = 300, .seed = 9, .ha_rules = true});
  auto b = generate_cluster({.nodes = 7, .guests = 300, .seed = 9, .ha_rules = true});
  auto c = generate_cluster({.nodes = 7, .guests = 300, .seed = 10, .ha_rules = true});
  ASSERT_EQ(a.guests.size(), 300u);
  ASSERT_EQ(a.nodes.size(), 7u);
  bool differs = false;
  for (size_t i = 0; i < a.guests.size(); ++i) {
    EXPECT_EQ(a.guests[i].node, b.guests[i].node);
    EXPECT_EQ(a.guests[i].memory_used, b.guests[i].memory_used);
    EXPECT_EQ(a.guests[i].tags, b.guests[i].tags);
    differs = differs || a.guests[i].node != c.guests[i].node;
  }
  EXPECT_TRUE(differs);
  EXPECT_EQ(a.nodes[0].name, "node01");
  EXPECT_EQ(a.guests[0].vmid, 100u);
  for (const auto& n : a.nodes) EXPECT_LE(n.memory_used, n.memory_total) << n.name;
}

}  // namespace
}  // namespace pvekit::balance
