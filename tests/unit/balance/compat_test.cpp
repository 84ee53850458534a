// ProxLB compatibility: its example configs, balanciness as ProxLB's spread,
// the messages proxlb prints and ProxLB's JSON document.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "balance/config.h"
#include "balance/report.h"
#include "balance/score.h"
#include "core/strings.h"
#include "fixtures.h"

namespace pvekit::balance {
namespace {

using fixtures::add;
using fixtures::guest;
using fixtures::node;

std::string read_data(const std::string& name) {
  std::ifstream in(std::string(PVEKIT_TEST_DATA_DIR) + "/proxlb/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool has_warning_naming(const BalanceConfig& c, const std::string& key) {
  for (const auto& w : c.warnings)
    if (w.find(key) != std::string::npos) return true;
  return false;
}

constexpr const char* kMinimal = "proxmox_api:\n  hosts: [pve1]\n  pass: secret\n";

// --- config files ---------------------------------------------------------

TEST(ProxLBExamples, Version1_1_13Loads) {
  auto cfg = load_config(read_data("proxlb_1.1.13_example.yaml"), "proxlb_1.1.13_example.yaml", {});
  ASSERT_TRUE(cfg.ok()) << cfg.error().to_string();
  EXPECT_DOUBLE_EQ(cfg->balancing.balanciness, 5.0);
  EXPECT_EQ(cfg->balancing.memory_threshold, 80.0);
  ASSERT_EQ(cfg->balancing.pools.count("db-cluster"), 1u);
  const PoolRule& db = cfg->balancing.pools.at("db-cluster");
  EXPECT_EQ(db.type, GroupType::AntiAffinity);
  EXPECT_EQ(db.pin, (std::vector<std::string>{"pve-b", "pve-c"}));
  EXPECT_FALSE(db.strict);
  EXPECT_TRUE(cfg->balancing.pools.at("web").strict);
  EXPECT_EQ(cfg->proxmox_api.retries, 2);
  EXPECT_EQ(cfg->balancing.node_reserve.at("pve-a").memory, 8 * kGiB);
}

TEST(ProxLBExamples, Version2Loads) {
  auto cfg = load_config(read_data("proxlb_2.x_example.yaml"), "proxlb_2.x_example.yaml", {});
  ASSERT_TRUE(cfg.ok()) << cfg.error().to_string();
  EXPECT_EQ(cfg->balancing.cpu_threshold, 85.0);
  EXPECT_FALSE(cfg->balancing.pools.at("db-cluster").strict);
  EXPECT_EQ(cfg->proxmox_api.wait_time, 3);
}

TEST(ProxLBExamples, KeysNotActedOnAreNamedInWarnings) {
  auto v1 = load_config(read_data("proxlb_1.1.13_example.yaml"), "v1.yaml", {});
  auto v2 = load_config(read_data("proxlb_2.x_example.yaml"), "v2.yaml", {});
  ASSERT_TRUE(v1.ok() && v2.ok());
  for (const char* key : {"service.daemon", "balancing.psi"}) {
    EXPECT_TRUE(has_warning_naming(*v1, key)) << key << "\n" << core::join(v1->warnings, "\n");
    EXPECT_TRUE(has_warning_naming(*v2, key)) << key;
  }
  // A pool's strict: false acts (rules.cpp: the least used node joins its pins).
  EXPECT_FALSE(has_warning_naming(*v1, "strict")) << core::join(v1->warnings, "\n");
  EXPECT_FALSE(has_warning_naming(*v2, "strict")) << core::join(v2->warnings, "\n");
  // proxlb daemon acts on the schedule and the delay.
  for (const char* key : {"service.schedule.interval", "service.schedule.format", "service.delay.enable"}) {
    EXPECT_FALSE(has_warning_naming(*v1, key)) << key;
    EXPECT_FALSE(has_warning_naming(*v2, key)) << key;
  }
  for (const char* key :
       {"solver.enable", "solver.log_dir", "solver.timeout_seconds", "solver.balanciness"})
    EXPECT_TRUE(has_warning_naming(*v2, key)) << key << "\n" << core::join(v2->warnings, "\n");
  // Keys proxlb acts on never warn.
  for (const char* key : {"balancing.balanciness", "proxmox_api", "memory_threshold",
                          "service.log_level", "pools.web"}) {
    EXPECT_FALSE(has_warning_naming(*v2, key)) << key << "\n" << core::join(v2->warnings, "\n");
  }
}

TEST(ProxLBExamples, DpmWarnsAndDefaultsDoNot) {
  auto cfg = load_config(std::string(kMinimal) + "dpm:\n  enable: true\n  cluster_min_nodes: 2\n",
                         "f.yaml", {});
  ASSERT_TRUE(cfg.ok()) << cfg.error().to_string();
  EXPECT_TRUE(has_warning_naming(*cfg, "dpm.enable"));
  EXPECT_TRUE(has_warning_naming(*cfg, "dpm.cluster_min_nodes"));
  EXPECT_FALSE(has_warning_naming(*cfg, "dpm.method"));  // not set: its default does not warn
  auto plain = load_config(kMinimal, "f.yaml", {});
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->warnings.empty()) << core::join(plain->warnings, "\n");
  auto env = load_config(kMinimal, "f.yaml", {{"PROXLB_SERVICE_DAEMON", "false"}});
  ASSERT_TRUE(env.ok()) << env.error().to_string();
  EXPECT_TRUE(has_warning_naming(*env, "service.daemon"));
}

TEST(ProxLBExamples, UnknownKeysProxLBDoesNotKnowStillFailNamingTheKey) {
  const std::string m = kMinimal;
  const std::pair<std::string, std::string> cases[] = {
      {m + "balancing:\n  pools: {db: {sticky: true}}\n", "balancing.pools.db.sticky"},
      {m + "balancing:\n  pools: {db: {strict: maybe}}\n", "balancing.pools.db.strict"},
      {m + "balancing:\n  psi: {nodes: {memory: {pressure_half: 1}}}\n",
       "balancing.psi.nodes.memory.pressure_half"},
      {m + "balancing:\n  psi: {vms: {}}\n", "balancing.psi.vms"},
      {m + "balancing:\n  psi: {nodes: {net: {}}}\n", "balancing.psi.nodes.net"},
      {m + "solver:\n  turbo: true\n", "solver.turbo"},
      {m + "solver:\n  mode: eager\n", "'eager' is not one of: shadow, active"},
      {m + "dpm:\n  nodes: 2\n", "dpm.nodes"},
      {m + "service:\n  daemon_mode: true\n", "service.daemon_mode"},
      {m + "balancing:\n  imbalance_threshold: 120\n", "above the maximum 100"},
  };
  for (const auto& [yaml, expected] : cases) {
    auto cfg = load_config(yaml, "f.yaml", {});
    ASSERT_FALSE(cfg.ok()) << yaml;
    EXPECT_EQ(cfg.error().category(), core::ErrorCategory::Config) << yaml;
    EXPECT_NE(cfg.error().to_string().find(expected), std::string::npos)
        << yaml << ": " << cfg.error().to_string();
  }
}

TEST(ProxLBExamples, ImbalanceThresholdIsOptional) {
  auto plain = load_config(kMinimal, "f.yaml", {});
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->balancing.imbalance_threshold.has_value());
  auto set =
      load_config(std::string(kMinimal) + "balancing:\n  imbalance_threshold: 7.5\n", "f.yaml", {});
  ASSERT_TRUE(set.ok()) << set.error().to_string();
  EXPECT_EQ(set->balancing.imbalance_threshold, 7.5);
}

// --- balanciness as ProxLB's spread ----------------------------------------

TEST(Spread, OfASetOfPercentages) {
  EXPECT_DOUBLE_EQ(spread_of({10.0, 42.5, 30.0}), 32.5);
  EXPECT_DOUBLE_EQ(spread_of({7.0}), 0.0);
  EXPECT_DOUBLE_EQ(spread_of({}), 0.0);
}

// Two 100 GiB / 10-core nodes: memory 50% vs 20% (30 points), cpu 10% vs 90%
// (80 points).
ClusterState two_nodes() {
  ClusterState s;
  s.nodes = {node("a", 100, 10), node("b", 100, 10)};
  s.nodes[0].memory_used = 50 * kGiB;
  s.nodes[0].cpu_usage = 0.1;
  s.nodes[1].memory_used = 20 * kGiB;
  s.nodes[1].cpu_usage = 0.9;
  return s;
}

TEST(Spread, IsMaxMinusMinInPointsOfTheMethod) {
  BalanceConfig c = fixtures::test_config();
  EXPECT_DOUBLE_EQ(LoadModel(two_nodes(), c).spread(), 30.0);
  c.balancing.weights = {0.0, 1.0, 0.0};  // method: cpu
  EXPECT_NEAR(LoadModel(two_nodes(), c).spread(), 80.0, 1e-6);
  c.balancing.weights = {1.0, 1.0, 0.0};  // weighted mean of 30 and 80
  EXPECT_NEAR(LoadModel(two_nodes(), c).spread(), 55.0, 1e-6);
  Vec3 by = LoadModel(two_nodes(), c).spread_by_resource();
  EXPECT_NEAR(by[kMemory], 30.0, 1e-9);
  EXPECT_NEAR(by[kCpu], 80.0, 1e-9);
}

TEST(Spread, CountsCapacityAfterReservesAndOnlyEligibleNodes) {
  BalanceConfig c = fixtures::test_config();
  ClusterState s = two_nodes();
  s.nodes[0].memory_used = 40 * kGiB;
  s.nodes[1].memory_used = 40 * kGiB;
  s.nodes[0].reserve.memory = 20 * kGiB;  // 40 / 80 = 50% vs 40 / 100 = 40%
  EXPECT_NEAR(LoadModel(s, c).spread(), 10.0, 1e-6);
  ClusterState hot = fixtures::one_hot_node();  // 24/64 = 37.5% vs 4/64 = 6.25%
  EXPECT_NEAR(LoadModel(hot, c).spread(), 31.25, 1e-6);
  hot.nodes[0].maintenance = true;  // left out: the two others are even
  EXPECT_NEAR(LoadModel(hot, c).spread(), 0.0, 1e-9);
}

TEST(Spread, AssignedModeCountsAssignedMemory) {
  BalanceConfig c = fixtures::test_config();
  c.balancing.mode = Mode::Assigned;
  ClusterState s = fixtures::empty_cluster(2);  // 64 GiB nodes
  Guest big = guest(100, "node1", 16);
  big.memory_used = 1 * kGiB;  // uses little, is assigned 16 GiB: 25% vs 0%
  add(s, big);
  EXPECT_NEAR(LoadModel(s, c).spread(), 25.0, 1e-6);
}

// Ten 100 GiB nodes: node01 at 30%, the others at 20%. The CV imbalance is
// 4.76% (below 5), the spread 10 points (above 5): ProxLB balances this.
ClusterState one_node_ten_points_up() {
  ClusterState s;
  for (int i = 1; i <= 10; ++i) s.nodes.push_back(node(fmt::format("node{:02}", i), 100));
  uint32_t vmid = 100;
  for (int i = 1; i <= 10; ++i)
    for (int k = 0; k < (i == 1 ? 6 : 4); ++k)
      add(s, guest(vmid++, fmt::format("node{:02}", i), 5));
  return s;
}

TEST(Spread, BalancinessStopsAtProxLBsSpread) {
  BalanceConfig c = fixtures::test_config();
  c.balancing.balanciness = 5.0;
  ClusterState s = one_node_ten_points_up();
  LoadModel load(s, c);
  EXPECT_NEAR(load.spread(), 10.0, 1e-6);
  EXPECT_LT(load.imbalance(), 5.0);  // the old reading of balanciness: "balanced"
  Plan p = plan(s, c);
  EXPECT_TRUE(p.balancing_needed);
  EXPECT_NEAR(p.spread_before, 10.0, 1e-6);
  EXPECT_LE(p.spread_after, 5.0 + 1e-9);
  EXPECT_FALSE(p.moves.empty());

  c.balancing.balanciness = 10.0;  // within: nothing to do
  Plan none = plan(s, c);
  EXPECT_FALSE(none.balancing_needed);
  EXPECT_TRUE(none.moves.empty());

  c.balancing.imbalance_threshold = 1.0;  // the CV test alone triggers
  EXPECT_TRUE(plan(s, c).balancing_needed);
}

// --- messages --------------------------------------------------------------

TEST(Messages, NoMinusZeroPercent) {
  EXPECT_EQ(fmt::format("{:.0f}", percent(-1e-12)), "0");
  EXPECT_EQ(fmt::format("{:.0f}", percent(-0.0)), "0");
  EXPECT_DOUBLE_EQ(percent(0.425), 42.5);
  Plan p;
  p.nodes.push_back({"pve1", {0.5, 0.2, -1e-13}, {0.4, 0.2, -0.0}});
  std::ostringstream out;
  render_plan(p, out);
  EXPECT_EQ(out.str().find("-0"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("  0% ->   0%"), std::string::npos) << out.str();
}

TEST(Messages, ConflictRuleIsNotRepeated) {
  Conflict c{"tag plb_pin_pve9",
             {101},
             "tag plb_pin_pve9: none of the pinned nodes can take guests (pve9: unknown)"};
  EXPECT_EQ(conflict_line(c), c.message);
  Conflict bare{"pool db", {1, 2}, "3 guests must run on distinct nodes"};
  EXPECT_EQ(conflict_line(bare), "pool db: 3 guests must run on distinct nodes");
  Plan p;
  p.conflicts = {c};
  p.unresolved = {c};
  std::ostringstream out;
  render_plan(p, out);
  EXPECT_EQ(out.str().find("tag plb_pin_pve9: tag plb_pin_pve9"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("  - tag plb_pin_pve9: none of the pinned"), std::string::npos)
      << out.str();
  EXPECT_EQ(plan_json(p)["conflicts"][0]["message"], c.message);
}

TEST(Messages, PlanShowsSpreadAndImbalance) {
  Plan p;
  p.spread_before = 31.25;
  p.spread_after = 4.5;
  p.balanciness = 5;
  p.imbalance_before = 20;
  p.imbalance_after = 2;
  std::ostringstream out;
  render_plan(p, out);
  EXPECT_NE(
      out.str().find("Spread 31.2 -> 4.5 points (within balanciness 5.0); imbalance 20.0% -> 2.0%"),
      std::string::npos)
      << out.str();
  auto json = plan_json(p);
  EXPECT_EQ(json["spread_before"], 31.25);
  EXPECT_EQ(json["spread_after"], 4.5);
  EXPECT_EQ(json["balanciness"], 5.0);
}

ClusterSnapshot ruled_snapshot() {
  ClusterSnapshot snap;
  snap.cluster_name = "lab";
  snap.pve_version = "9.1.1";
  snap.quorate = true;
  snap.state = fixtures::empty_cluster(3);
  add(snap.state, guest(101, "node1", 4, {"plb_anti_affinity_db"}));
  add(snap.state, guest(102, "node1", 4, {"plb_anti_affinity_db"}));
  add(snap.state, guest(201, "node2", 4, {"plb_affinity_web"}));
  add(snap.state, guest(202, "node2", 4, {"plb_affinity_web"}));
  Guest stopped = guest(301, "node3", 2, {"plb_pin_node3"});
  stopped.status = GuestStatus::Stopped;
  add(snap.state, stopped);
  return snap;
}

TEST(Messages, StatusLabelsGuestColumnAndShowsBothFigures) {
  std::ostringstream out;
  BalanceConfig c = fixtures::test_config();
  c.balancing.balanciness = 5;
  render_status(ruled_snapshot(), c, out);
  std::string text = out.str();
  EXPECT_NE(text.find("RUN/ALL"), std::string::npos) << text;
  EXPECT_NE(text.find("RUN/ALL: running guests / all guests on the node"), std::string::npos)
      << text;
  EXPECT_NE(text.find("node3      online    0/1"), std::string::npos) << text;
  // node1 and node2 carry 8 GiB of 64 (12.5%), node3 nothing (stopped guest).
  EXPECT_NE(text.find("Spread 12.5 points (memory, used), above balanciness 5.0: balancing needed"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Imbalance "), std::string::npos) << text;
  for (const auto& line : core::split(text, '\n')) EXPECT_LE(line.size(), 80u) << line;
}

TEST(Messages, StatusShowsWhichRulesHoldAndWhy) {
  std::ostringstream out;
  render_status(ruled_snapshot(), fixtures::test_config(), out);
  std::string text = out.str();
  EXPECT_NE(text.find("Rules: 2 hold, 1 broken"), std::string::npos) << text;
  EXPECT_NE(text.find("BROKEN  tag plb_anti_affinity_db: 101, 102 share node1"), std::string::npos)
      << text;
  EXPECT_NE(text.find("ok      tag plb_affinity_web: 2 guests together on node2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("ok      placement (pins, pools, HA): 1 restricted guest on allowed nodes"),
            std::string::npos)
      << text;
  auto json = status_json(ruled_snapshot(), fixtures::test_config());
  ASSERT_EQ(json["rules"].size(), 3u) << json.dump(2);
  EXPECT_NEAR(json["spread"].get<double>(), 12.5, 1e-6);
  EXPECT_TRUE(json.contains("imbalance"));
  EXPECT_TRUE(json["balancing_needed"].get<bool>());
}

TEST(Messages, BrokenPinNamesTheNodes) {
  ClusterSnapshot snap = ruled_snapshot();
  for (auto& g : snap.state.guests)
    if (g.vmid == 301) g.node = "node1";  // pinned to node3
  auto rules = rule_states(snap.state, fixtures::test_config());
  bool found = false;
  for (const auto& r : rules)
    if (r.rule.rfind("placement", 0) == 0) {
      found = true;
      EXPECT_FALSE(r.holds);
      EXPECT_EQ(r.detail, "301 on node1 (allowed: node3)");
    }
  EXPECT_TRUE(found);
}

// --- ProxLB's JSON document ------------------------------------------------

TEST(ProxLBJson, CarriesProxLBsFieldNamesAndTheTargets) {
  ClusterState s = fixtures::one_hot_node();
  Move m;
  m.vmid = 100;
  m.from = "node1";
  m.to = "node2";
  auto doc = proxlb_compat_json(s, {m}, fixtures::test_config());
  ASSERT_TRUE(doc.contains("nodes") && doc.contains("guests") && doc.contains("groups"))
      << doc.dump(2);
  EXPECT_FALSE(doc.contains("meta"));
  const auto& n1 = doc["nodes"]["node1"];
  for (const char* key : {"name",
                          "maintenance",
                          "cpu_total",
                          "cpu_used",
                          "cpu_free",
                          "cpu_assigned",
                          "cpu_used_percent",
                          "cpu_free_percent",
                          "cpu_assigned_percent",
                          "memory_total",
                          "memory_used",
                          "memory_free",
                          "memory_assigned",
                          "memory_used_percent",
                          "memory_free_percent",
                          "memory_assigned_percent",
                          "disk_total",
                          "disk_used",
                          "disk_free",
                          "disk_used_percent"})
    EXPECT_TRUE(n1.contains(key)) << key;
  // After the move: node1 20 of 64 GiB, node2 8 of 64.
  EXPECT_NEAR(n1["memory_used_percent"].get<double>(), 31.25, 1e-9);
  EXPECT_NEAR(doc["nodes"]["node2"]["memory_used_percent"].get<double>(), 12.5, 1e-9);
  const auto& g = doc["guests"]["vm100"];
  EXPECT_EQ(g["id"], 100);
  EXPECT_EQ(g["type"], "vm");
  EXPECT_EQ(g["node_current"], "node1");
  EXPECT_EQ(g["node_target"], "node2");
  EXPECT_EQ(doc["guests"]["vm101"]["node_target"], "node1");
  for (const char* key :
       {"cpu_total", "cpu_used", "memory_total", "memory_used", "disk_total", "disk_used", "tags",
        "affinity_groups", "anti_affinity_groups", "ignore", "node_relationships", "processed"})
    EXPECT_TRUE(g.contains(key)) << key;
}

TEST(ProxLBJson, LeavesOutOfflineNodesAndGroupsGuests) {
  ClusterSnapshot snap = ruled_snapshot();
  snap.state.nodes[2].online = false;
  auto doc = proxlb_compat_json(snap.state, {}, fixtures::test_config());
  EXPECT_FALSE(doc["nodes"].contains("node3"));
  EXPECT_EQ(doc["groups"]["anti_affinity"]["plb_anti_affinity_db"]["guests"],
            (std::vector<std::string>{"vm101", "vm102"}))
      << doc["groups"].dump(2);
}

}  // namespace
}  // namespace pvekit::balance
