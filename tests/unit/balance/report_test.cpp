#include "balance/report.h"

#include <sstream>

#include <gtest/gtest.h>

#include "core/strings.h"

namespace pvekit::balance {
namespace {

ClusterSnapshot two_node_snapshot() {
  ClusterSnapshot snap;
  snap.cluster_name = "lab";
  snap.pve_version = "9.1.1";
  snap.state.nodes = {
      {.name = "pve-with-a-very-long-name", .cpus = 8, .memory_total = 64ull << 30, .memory_used = 48ull << 30,
       .disk_total = 100ull << 30, .disk_used = 50ull << 30, .cpu_usage = 0.75},
      {.name = "pve2", .online = false, .cpus = 8, .memory_total = 64ull << 30},
  };
  snap.state.guests = {{.vmid = 100, .node = "pve-with-a-very-long-name", .memory_max = 8ull << 30,
                        .memory_used = 6ull << 30}};
  return snap;
}

void expect_fits_80_columns(const std::string& text) {
  for (const auto& line : core::split(text, '\n')) EXPECT_LE(line.size(), 80u) << "'" << line << "'";
}

TEST(Report, LoadBarFillsProportionallyAndClamps) {
  EXPECT_EQ(load_bar(0.5, 10), "[#####-----]");
  EXPECT_EQ(load_bar(0.0, 4), "[----]");
  EXPECT_EQ(load_bar(1.7, 4), "[####]");
  EXPECT_EQ(load_bar(-1, 4), "[----]");
}

TEST(Report, StatusShowsEveryNodeWithinEightyColumns) {
  std::ostringstream out;
  render_status(two_node_snapshot(), BalanceConfig{}, out);
  std::string text = out.str();
  expect_fits_80_columns(text);
  EXPECT_NE(text.find("Cluster lab  PVE 9.1.1  quorate  2 nodes (1 online)  1 guests"), std::string::npos) << text;
  EXPECT_NE(text.find("pve-with-a"), std::string::npos);
  EXPECT_NE(text.find("[#########---]  75%"), std::string::npos) << text;
  EXPECT_NE(text.find("pve2       offline"), std::string::npos) << text;
  EXPECT_NE(text.find("Imbalance"), std::string::npos);
}

TEST(Report, StatusJsonCarriesPveFieldNames) {
  auto json = status_json(two_node_snapshot(), BalanceConfig{});
  EXPECT_EQ(json["cluster"], "lab");
  ASSERT_EQ(json["nodes"].size(), 2u);
  EXPECT_EQ(json["nodes"][1]["node"], "pve2");
  EXPECT_EQ(json["nodes"][1]["state"], "offline");
  EXPECT_EQ(json["nodes"][0]["maxmem"], 64ull << 30);
}

TEST(Report, PlanListsMovesByWaveAndConflicts) {
  Plan p;
  Move m;
  m.vmid = 104;
  m.name = "a-guest-with-a-long-name";
  m.from = "pve1";
  m.to = "pve3";
  m.reason = MoveReason::Evacuate;
  m.memory_bytes = 4ull << 30;
  p.moves = {m};
  p.waves = {{0}};
  p.bytes_moved = 4ull << 30;
  p.imbalance_before = 20;
  p.imbalance_after = 2.5;
  p.nodes = {{"pve1", {0.8, 0.5, 0.1}, {0.5, 0.4, 0.1}}};
  p.conflicts = {{"tag plb_pin_pve9", {104}, "guest 104 is pinned to pve9, which does not exist"}};
  std::ostringstream out;
  render_plan(p, out);
  std::string text = out.str();
  expect_fits_80_columns(text);
  EXPECT_NE(text.find("Plan: 1 migration in 1 wave, 4.0 GiB to copy\n"), std::string::npos) << text;
  EXPECT_NE(text.find("imbalance 20.0% -> 2.5%"), std::string::npos) << text;
  EXPECT_NE(text.find("   1     104  a-guest-with-a vm    pve1       pve3       evacuate"), std::string::npos)
      << text;
  EXPECT_NE(text.find(" 80% ->  50%"), std::string::npos) << text;
  EXPECT_NE(text.find("tag plb_pin_pve9: guest 104 is pinned to pve9"), std::string::npos) << text;
  auto json = plan_json(p);
  EXPECT_EQ(json["moves"][0]["wave"], 1);
  EXPECT_EQ(json["moves"][0]["reason"], "evacuate");
  EXPECT_EQ(json["conflicts"][0]["vmids"][0], 104);
}

TEST(Report, EmptyPlanSaysWhyNothingMoves) {
  Plan balanced;
  std::ostringstream a;
  render_plan(balanced, a);
  EXPECT_NE(a.str().find("The cluster is balanced; nothing to do."), std::string::npos);
  Plan stuck;
  stuck.balancing_needed = true;
  std::ostringstream b;
  render_plan(stuck, b);
  EXPECT_NE(b.str().find("No migration pays for itself"), std::string::npos);
}

}  // namespace
}  // namespace pvekit::balance
