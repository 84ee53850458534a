// proxlb capacity: forecast on synthetic series, failover on cases solved by
// hand, what-if changes and the rendered forms.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <sstream>

#include "balance/capacity.h"
#include "balance/generator.h"
#include "fixtures.h"

namespace pvekit::balance {
namespace {

using fixtures::add;
using fixtures::guest;
using fixtures::node;

constexpr double kDay = 86400.0;
constexpr double kNow = 1'800'000'000.0;

// level% + slope%/day + daily and weekly cosines peaking together at `now`,
// plus deterministic uniform noise of +-noise%, one row per `step` seconds.
std::vector<Sample> synthetic(double days, double step, double level, double slope, double daily, double weekly,
                              double noise) {
  std::vector<Sample> s;
  uint64_t x = 42;
  for (double t = kNow - days * kDay; t <= kNow; t += step) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    const double u = static_cast<double>(x >> 11) / 9007199254740992.0 * 2 - 1;
    const double d = (t - kNow) / kDay;
    s.push_back({t, level + slope * d + daily * std::cos(2 * std::numbers::pi * d) +
                        weekly * std::cos(2 * std::numbers::pi * d / 7) + noise * u});
  }
  return s;
}

TEST(CapacityForecast, RecoversSlopeAndCrossingDateOfPlantedTrendAndCycles) {
  // 40 % + 0.5 %/day, cycles peaking at +8 %: the peaks reach 85 % after
  // (85 - 48) / 0.5 = 74 days. Tolerance: 5 days (7 % of the distance).
  auto s = synthetic(30, 1800, 40, 0.5, 5, 3, 2);
  Forecast f = forecast(s, 100, {});
  EXPECT_EQ(f.verdict, TrendVerdict::Rising);
  EXPECT_NEAR(f.slope_per_day, 0.005, 0.0005);
  EXPECT_NEAR(f.seasonal_peak, 0.08, 0.01);
  EXPECT_EQ(f.daily_harmonics, 2);
  EXPECT_TRUE(f.weekly);
  ASSERT_TRUE(f.crosses.has_value());
  EXPECT_NEAR((*f.crosses - kNow) / kDay, 74, 5);
  ASSERT_TRUE(f.earliest && f.latest);
  EXPECT_LE(*f.earliest, *f.crosses);
  EXPECT_GE(*f.latest, *f.crosses);
  EXPECT_LT((*f.latest - *f.earliest) / kDay, 40);
}

TEST(CapacityForecast, FlatSeriesWithCyclesHasNoTrend) {
  Forecast f = forecast(synthetic(30, 1800, 40, 0, 5, 3, 2), 100, {});
  EXPECT_EQ(f.verdict, TrendVerdict::NoTrend);
  EXPECT_FALSE(f.crosses.has_value());
  EXPECT_FALSE(f.above_now);
}

TEST(CapacityForecast, GapsAndNanRowsAreSkipped) {
  auto s = synthetic(30, 1800, 40, 0.5, 5, 3, 2);
  for (size_t i = 0; i < s.size(); i += 10) s[i].value = std::numeric_limits<double>::quiet_NaN();
  std::erase_if(s, [](const Sample& p) { return p.time > kNow - 12 * kDay && p.time < kNow - 10 * kDay; });
  s.push_back({std::numeric_limits<double>::infinity(), 50});
  Forecast f = forecast(s, 100, {});
  EXPECT_EQ(f.verdict, TrendVerdict::Rising);
  EXPECT_NEAR(f.slope_per_day, 0.005, 0.0005);
  ASSERT_TRUE(f.crosses.has_value());
  EXPECT_NEAR((*f.crosses - kNow) / kDay, 74, 5);
}

TEST(CapacityForecast, TooShortHistorySaysSo) {
  Forecast f = forecast(synthetic(1, 1800, 40, 5, 5, 0, 1), 100, {});
  EXPECT_EQ(f.verdict, TrendVerdict::TooShort);
  EXPECT_NE(f.detail.find("needs 2 days"), std::string::npos) << f.detail;
  EXPECT_EQ(forecast({}, 100, {}).verdict, TrendVerdict::TooShort);
  EXPECT_EQ(forecast(synthetic(30, 1800, 40, 0.5, 5, 3, 2), 0, {}).verdict, TrendVerdict::TooShort);
}

TEST(CapacityForecast, FallingTrendHasNoCrossing) {
  Forecast f = forecast(synthetic(30, 1800, 60, -0.5, 5, 3, 2), 100, {});
  EXPECT_EQ(f.verdict, TrendVerdict::Falling);
  EXPECT_FALSE(f.crosses.has_value());
}

TEST(CapacityForecast, YearOfSixHourRowsFitsTrendWithoutTheTwelveHourTerm) {
  // 360 days, 6 h rows: 0.1 %/day from 20 %: peaks (+3 % weekly) reach 85 %
  // in (85 - 23) / 0.1 = 620 days, beyond a 365-day horizon.
  auto s = synthetic(360, 6 * 3600, 20, 0.1, 0, 3, 2);
  Forecast f = forecast(s, 100, {});
  EXPECT_EQ(f.verdict, TrendVerdict::Rising);
  EXPECT_EQ(f.daily_harmonics, 1);
  EXPECT_NEAR(f.slope_per_day, 0.001, 0.0001);
  EXPECT_FALSE(f.crosses.has_value());
  ForecastOptions longer;
  longer.horizon_days = 1000;
  auto g = forecast(s, 100, longer);
  ASSERT_TRUE(g.crosses.has_value());
  EXPECT_NEAR((*g.crosses - kNow) / kDay, 620, 40);
}

TEST(CapacityForecast, AlreadyAboveThresholdCrossesNow) {
  Forecast f = forecast(synthetic(30, 1800, 88, 0.2, 2, 0, 1), 100, {});
  EXPECT_TRUE(f.above_now);
  ASSERT_TRUE(f.crosses.has_value());
  EXPECT_DOUBLE_EQ(*f.crosses, f.now);
}

// ---- failover, solved by hand ----------------------------------------------

BalanceConfig config() { return BalanceConfig{}; }

// node1: 101 (10 GiB, HA) + 102 (4 GiB); node2: 201 (8 GiB); node3: 301
// (8 GiB); 16 GiB nodes. node1 down: 8 + 8 GiB free, 101 fits nowhere,
// 102 fits; node2 or node3 down: 8 GiB into node3's/node2's 8 GiB: fits.
ClusterState three_small_nodes() {
  ClusterState s;
  for (const char* n : {"node1", "node2", "node3"}) s.nodes.push_back(node(n, 16));
  Guest ha = guest(101, "node1", 10);
  ha.ha_managed = true;
  add(s, ha);
  add(s, guest(102, "node1", 4));
  add(s, guest(201, "node2", 8));
  add(s, guest(301, "node3", 8));
  return s;
}

std::vector<uint32_t> not_fitting(const FailoverResult& r) {
  std::vector<uint32_t> v;
  for (const auto& d : r.guests)
    if (d.target.empty()) v.push_back(d.vmid);
  return v;
}

TEST(CapacityFailover, LargestNodeDownLeavesTheBigGuestWithoutRoom) {
  FailoverOptions o;
  auto r = check_failover(three_small_nodes(), config(), o);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_FALSE(r->fits);
  EXPECT_EQ(r->combinations, 3u);
  EXPECT_EQ(r->failed, std::vector<std::string>{"node1"});
  EXPECT_EQ(not_fitting(*r), std::vector<uint32_t>{101});
  EXPECT_DOUBLE_EQ(r->short_by.memory, 10.0 * kGiB);
  EXPECT_DOUBLE_EQ(r->short_by.cpus, 2.0);
  EXPECT_EQ(r->method, FailoverMethod::Exact);

  o.scope = FailoverScope::Ha;
  auto ha = check_failover(three_small_nodes(), config(), o);
  ASSERT_TRUE(ha.ok());
  EXPECT_FALSE(ha->fits);
  ASSERT_EQ(ha->guests.size(), 1u);  // only the HA guest is restarted
  EXPECT_EQ(not_fitting(*ha), std::vector<uint32_t>{101});
}

TEST(CapacityFailover, ExactSearchFindsThePackingTheHeuristicMisses) {
  // node1 down: 6, 4, 4, 3, 3 GiB onto two nodes with 10 GiB free each.
  // Most-free-first: 6|4, 4 -> 6|8, 3 -> 9|8, 3 -> no room. Exact: 6+4 | 4+3+3.
  ClusterState s;
  s.nodes = {node("node1", 64), node("node2", 16), node("node3", 16)};
  uint32_t vmid = 101;
  for (uint64_t gib : {6, 4, 4, 3, 3}) add(s, guest(vmid++, "node1", gib));
  add(s, guest(201, "node2", 6));
  add(s, guest(301, "node3", 6));
  auto r = check_failover(s, config(), {});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->fits);
  EXPECT_EQ(r->failed, std::vector<std::string>{"node1"});
  EXPECT_EQ(r->method, FailoverMethod::Exact);
  EXPECT_TRUE(not_fitting(*r).empty());
}

TEST(CapacityFailover, AntiAffinityAndPinsAreHardRules) {
  ClusterState s;
  for (const char* n : {"node1", "node2", "node3"}) s.nodes.push_back(node(n, 64));
  add(s, guest(101, "node1", 2, {"plb_anti_affinity_db"}));
  add(s, guest(201, "node2", 2, {"plb_anti_affinity_db"}));
  add(s, guest(301, "node3", 2, {"plb_anti_affinity_db"}));
  add(s, guest(102, "node1", 2, {"plb_pin_node1"}));
  add(s, guest(103, "node1", 2));
  auto r = check_failover(s, config(), {});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->fits);
  EXPECT_EQ(r->failed, std::vector<std::string>{"node1"});
  EXPECT_EQ(not_fitting(*r), (std::vector<uint32_t>{101, 102}));
  EXPECT_EQ(r->method, FailoverMethod::Exact);
}

TEST(CapacityFailover, HaPrioritiesAreRecomputedAmongTheSurvivors) {
  // 101 (HA, 8 GiB) prefers node1 (priority 2), then node2 (1). node1 down:
  // PVE restarts it in the next class, node2 (10 GiB free), not on node3.
  ClusterState s;
  for (const char* n : {"node1", "node2", "node3"}) s.nodes.push_back(node(n, 16));
  Guest ha = guest(101, "node1", 8);
  ha.ha_managed = true;
  add(s, ha);
  add(s, guest(201, "node2", 6));
  s.node_affinity.push_back({.id = "prefer", .resources = {101}, .nodes = {{"node1", 2}, {"node2", 1}}, .strict = true});
  FailoverOptions o;
  o.scope = FailoverScope::Ha;
  auto r = check_failover(s, config(), o);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->fits);
  ASSERT_EQ(r->guests.size(), 1u);
  EXPECT_EQ(r->guests[0].target, "node2");
}

// check_failover computes the HA rules' classes per combination on top of
// constraints compiled once; restart_elsewhere compiles the cluster with the
// failed node offline. On generated clusters with prioritised HA rules both
// must give the same verdict and the same targets.
TEST(CapacityFailover, HaClassesPerCombinationAgreeWithRecompilingTheCluster) {
  size_t compared = 0, switched = 0;
  for (uint64_t seed = 1; seed <= 150; ++seed) {
    const ClusterState s = generate_cluster({.nodes = 5, .guests = 40, .seed = seed, .ha_rules = true});
    auto r = check_failover(s, config(), {});
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    bool all_fit = true;
    for (const auto& n : s.nodes) {
      if (!n.online || n.maintenance || n.ignored) continue;
      auto moved = restart_elsewhere(s, config(), {n.name});
      all_fit = all_fit && std::all_of(moved.begin(), moved.end(), [](const Displaced& d) { return !d.target.empty(); });
      if (r->failed != std::vector<std::string>{n.name}) continue;
      ++compared;
      ASSERT_EQ(r->guests.size(), moved.size()) << "seed " << seed;
      for (size_t i = 0; i < moved.size(); ++i) {
        EXPECT_EQ(r->guests[i].vmid, moved[i].vmid) << "seed " << seed;
        EXPECT_EQ(r->guests[i].target, moved[i].target) << "seed " << seed << ", vmid " << moved[i].vmid;
      }
      for (const auto& rule : s.node_affinity)
        switched += std::any_of(rule.nodes.begin(), rule.nodes.end(),
                                [&](const NodePriority& p) { return p.node == n.name && p.priority == 2; });
    }
    EXPECT_EQ(r->fits, all_fit) << "seed " << seed;
  }
  EXPECT_EQ(compared, 150u);
  EXPECT_GT(switched, 20u) << "the worst node must often be a rule's first choice, or this checks little";
}

TEST(CapacityFailover, MaintenanceNodeTakesNothing) {
  ClusterState s;
  for (const char* n : {"node1", "node2", "node3"}) s.nodes.push_back(node(n, 16));
  s.nodes[2].maintenance = true;
  add(s, guest(101, "node1", 8));
  add(s, guest(201, "node2", 12));
  auto r = check_failover(s, config(), {});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->fits);
  EXPECT_EQ(r->combinations, 2u);  // the maintenance node is not a failure candidate either
  EXPECT_EQ(r->failed, std::vector<std::string>{"node2"});
  EXPECT_EQ(not_fitting(*r), std::vector<uint32_t>{201});
}

TEST(CapacityFailover, TwoNodesDownAndTheWorstCombination) {
  // Four 16 GiB nodes with one 6 GiB guest each: any two down leave 10 + 10
  // GiB for 6 + 6: fits. Three down: 18 GiB for one node with 10 free:
  // one guest restarts, two do not (12 GiB short).
  ClusterState s;
  for (int i = 1; i <= 4; ++i) s.nodes.push_back(node("node" + std::to_string(i), 16));
  for (int i = 1; i <= 4; ++i) add(s, guest(static_cast<uint32_t>(100 * i + 1), "node" + std::to_string(i), 6));
  FailoverOptions o;
  o.failures = 2;
  auto two = check_failover(s, config(), o);
  ASSERT_TRUE(two.ok());
  EXPECT_TRUE(two->fits);
  EXPECT_EQ(two->combinations, 6u);
  o.failures = 3;
  auto three = check_failover(s, config(), o);
  ASSERT_TRUE(three.ok());
  EXPECT_FALSE(three->fits);
  EXPECT_EQ(three->combinations, 4u);
  EXPECT_DOUBLE_EQ(three->short_by.memory, 12.0 * kGiB);
  EXPECT_EQ(not_fitting(*three).size(), 2u);
}

TEST(CapacityFailover, FailureCountOutOfRangeIsAUsageError) {
  for (int k : {0, -1, 3, 100}) {
    FailoverOptions o;
    o.failures = k;
    auto r = check_failover(three_small_nodes(), config(), o);
    ASSERT_FALSE(r.ok()) << k;
    EXPECT_EQ(r.error().category(), core::ErrorCategory::Usage);
    EXPECT_NE(r.error().to_string().find("--failures"), std::string::npos);
  }
}

// ---- what-if ---------------------------------------------------------------

TEST(CapacityWhatIf, RemovingANodeMovesItsGuestsAndChangesTheVerdict) {
  // Three 16 GiB nodes: node1 12 GiB (two 6 GiB guests), node2 and node3
  // 6 GiB each. N+1 fits (node1 down: 6 + 6 into 10 + 10 GiB free). Without
  // node3 its guest goes to node2 (10 GiB free, node1 has 4), and then
  // either node down leaves 12 GiB for 4 GiB free: does not fit.
  ClusterState s;
  for (int i = 1; i <= 3; ++i) s.nodes.push_back(node("node" + std::to_string(i), 16));
  for (int i = 1; i <= 3; ++i) add(s, guest(static_cast<uint32_t>(100 * i + 1), "node" + std::to_string(i), 6));
  add(s, guest(102, "node1", 6));
  EXPECT_TRUE(check_failover(s, config(), {})->fits);  // node1 down: 6 + 6 into 10 + 10
  WhatIf w;
  w.remove_nodes = {"node3"};
  auto changed = apply_what_if(s, config(), w);
  ASSERT_TRUE(changed.ok()) << changed.error().to_string();
  EXPECT_EQ(changed->state.nodes.size(), 2u);
  EXPECT_TRUE(changed->unplaced.empty());
  auto moved = std::find_if(changed->state.guests.begin(), changed->state.guests.end(),
                            [](const Guest& g) { return g.vmid == 301; });
  ASSERT_NE(moved, changed->state.guests.end());
  EXPECT_EQ(moved->node, "node2");
  auto r = check_failover(changed->state, config(), {});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->fits);
}

TEST(CapacityWhatIf, AddedNodeAndGuestsAndUnknownNames) {
  ClusterState s = three_small_nodes();
  WhatIf w;
  w.add_node_like = {"node2"};
  w.add_guests = 2;
  w.guest_memory = 2 * kGiB;
  w.guest_cores = 1;
  auto r = apply_what_if(s, config(), w);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->state.nodes.size(), 4u);
  EXPECT_EQ(r->state.nodes.back().name, "node2-new");
  EXPECT_EQ(r->state.guests.size(), s.guests.size() + 2);
  EXPECT_EQ(r->notes.size(), 2u);
  // With node2-new, node1's 10 GiB guest has a place to go.
  EXPECT_TRUE(check_failover(r->state, config(), {})->fits);

  for (auto bad : {WhatIf{.remove_nodes = {"node9"}}, WhatIf{.add_node_like = {"../x"}},
                   WhatIf{.remove_nodes = {"node1", "node2", "node3"}}, WhatIf{.add_guests = -1}}) {
    auto e = apply_what_if(s, config(), bad);
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().category(), core::ErrorCategory::Usage) << e.error().to_string();
  }
}

// ---- report and rendering ------------------------------------------------------

CapacityReport sample_report(const std::string& node_name) {
  ClusterState s = three_small_nodes();
  s.nodes[0].name = node_name;
  for (auto& g : s.guests)
    if (g.node == "node1") g.node = node_name;
  std::map<std::string, NodeHistory> history;
  for (const auto& n : s.nodes) {
    auto mem = synthetic(30, 1800, 40, 0.5, 5, 3, 2);
    for (auto& p : mem) p.value *= static_cast<double>(n.memory_total) / 100;
    history[n.name] = {mem, synthetic(30, 1800, 20, 0, 5, 0, 2)};
  }
  WhatIf w;
  w.add_node_like = {"node2"};
  auto changed = apply_what_if(s, config(), w);
  auto r = build_capacity_report(s, history, *changed, config(), {});
  EXPECT_TRUE(r.ok());
  r->timeframe = "month";
  return *r;
}

TEST(CapacityReport, StatisticsPerNodeAndCluster) {
  auto r = sample_report("node1");
  ASSERT_EQ(r.scopes.size(), 5u);  // cluster + 4 nodes
  EXPECT_TRUE(r.scopes[0].cluster);
  const auto& mem = r.scopes[0].resources[0];
  EXPECT_EQ(mem.resource, CapacityResource::MemoryUsed);
  EXPECT_DOUBLE_EQ(mem.capacity, 64.0 * kGiB);
  ASSERT_TRUE(mem.p50 && mem.p90 && mem.p99);
  EXPECT_LE(*mem.p50, *mem.p90);
  EXPECT_LE(*mem.p90, *mem.p99);
  EXPECT_DOUBLE_EQ(mem.headroom, 0.85 * mem.capacity - *mem.p99);
  ASSERT_TRUE(mem.forecast.has_value());
  EXPECT_EQ(mem.forecast->verdict, TrendVerdict::Rising);
  const auto& assigned = r.scopes[0].resources[1];
  EXPECT_EQ(assigned.resource, CapacityResource::MemoryAssigned);
  EXPECT_DOUBLE_EQ(assigned.now, 30.0 * kGiB);
}

// Disk history comes from the local guest storages: nodes without one are
// not counted, and the cluster's series needs every such node's history.
TEST(CapacityReport, DiskForecastFromStorageHistoryOfNodesWithLocalStorage) {
  ClusterState s = three_small_nodes();
  for (size_t i = 0; i < 2; ++i) {
    s.nodes[i].disk_total = 1000 * kGiB;
    s.nodes[i].disk_used = 400 * kGiB;
    s.nodes[i].local_storages = {"local-lvm"};
  }
  s.nodes[2].disk_total = s.nodes[2].disk_used = 0;
  std::map<std::string, NodeHistory> history;
  for (const auto& n : s.nodes) {
    auto& h = history[n.name] = {synthetic(30, 1800, 40, 0, 5, 0, 1), synthetic(30, 1800, 20, 0, 5, 0, 1), {}};
    if (n.disk_total == 0) continue;
    h.disk = synthetic(30, 1800, 40, 1, 0, 0, 0.1);  // 40 % now, +1 %/day: crosses 85 % in 45 days
    for (auto& p : h.disk) p.value *= static_cast<double>(n.disk_total) / 100;
  }
  auto disk_of = [](const ScopeReport& scope) -> const ResourceStats* {
    for (const auto& r : scope.resources)
      if (r.resource == CapacityResource::DiskUsed) return &r;
    return nullptr;
  };
  auto r = build_capacity_report(s, history, {.state = s, .notes = {}, .unplaced = {}}, config(), {});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  for (const auto& scope : r->scopes) {
    const ResourceStats* disk = disk_of(scope);
    if (scope.name == "node3") {
      EXPECT_EQ(disk, nullptr) << "node3 has no local guest storage";
      continue;
    }
    ASSERT_NE(disk, nullptr) << scope.name;
    EXPECT_DOUBLE_EQ(disk->capacity, (scope.cluster ? 2000 : 1000) * kGiB) << scope.name;
    ASSERT_TRUE(disk->forecast.has_value()) << scope.name;
    EXPECT_EQ(disk->forecast->verdict, TrendVerdict::Rising) << scope.name;
    ASSERT_TRUE(disk->forecast->crosses.has_value()) << scope.name;
    EXPECT_NEAR((*disk->forecast->crosses - kNow) / kDay, 45, 1) << scope.name;
  }
  history["node2"].disk.clear();
  r = build_capacity_report(s, history, {.state = s, .notes = {}, .unplaced = {}}, config(), {});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(disk_of(r->scopes[0])->forecast.has_value()) << "one node without disk history: no cluster history";
  EXPECT_TRUE(disk_of(r->scopes[1])->forecast.has_value()) << "node1 keeps its own";
}

TEST(CapacityReport, TextFitsEightyColumnsEvenWithLongNames) {
  auto r = sample_report("a-very-long-node-name-that-goes-on-and-on-and-on-far-beyond-eighty-columns-x");
  const std::string text = render_capacity_text(r);
  std::istringstream lines(text);
  std::string line;
  size_t count = 0;
  while (std::getline(lines, line)) {
    ++count;
    EXPECT_LE(line.size(), 80u) << line;
  }
  EXPECT_GT(count, 20u);
  EXPECT_NE(text.find("FAILOVER"), std::string::npos);
  EXPECT_NE(text.find("FORECAST"), std::string::npos);
}

TEST(CapacityReport, JsonCsvAndChartsEscapeHostileNames) {
  auto r = sample_report("x<y>&\"z'/../..");
  auto j = capacity_json(r);
  EXPECT_EQ(j["scopes"][0]["name"], "cluster");
  EXPECT_EQ(j["failover"]["running"]["scope"], "running");
  const std::string csv = render_capacity_csv(r);
  EXPECT_EQ(csv.find("scope,resource,unit"), 0u);
  EXPECT_NE(csv.find("\"x<y>&\"\"z'/../..\""), std::string::npos);
  auto charts = capacity_charts(r);
  ASSERT_FALSE(charts.empty());
  for (const auto& [file, svg] : charts) {
    EXPECT_EQ(file.find('/'), std::string::npos) << file;
    EXPECT_EQ(file.find(".."), std::string::npos) << file;
    EXPECT_EQ(svg.find("x<y"), std::string::npos);
    EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  }
  const bool escaped = std::any_of(charts.begin(), charts.end(), [](const auto& c) {
    return c.second.find("x&lt;y&gt;&amp;&quot;z&apos;/../..") != std::string::npos;
  });
  EXPECT_TRUE(escaped);
}

}  // namespace
}  // namespace pvekit::balance
