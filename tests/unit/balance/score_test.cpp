#include "balance/score.h"

#include <gtest/gtest.h>

#include <cmath>

#include "fixtures.h"

namespace pvekit::balance {
namespace {

using fixtures::add;
using fixtures::guest;
using fixtures::test_config;

TEST(Imbalance, KnownValues) {
  struct Case {
    const char* name;
    std::vector<double> usage;
    double expected;
  };
  const Case cases[] = {
      {"perfectly balanced cluster", {0.5, 0.5, 0.5}, 0.0},
      {"single node", {0.9}, 0.0},
      {"empty cluster", {0.0, 0.0, 0.0}, 0.0},
      {"everything on one node is the maximum", {1.0, 0.0, 0.0, 0.0}, 1.0},
      {"two nodes 60/40", {0.6, 0.4}, 0.2},
      // mean 0.4, population sd sqrt(((0.2)^2 + 0 + (0.2)^2)/3), / mean / sqrt(2)
      {"three nodes 20/40/60", {0.2, 0.4, 0.6}, std::sqrt(0.08 / 3) / 0.4 / std::sqrt(2.0)},
  };
  for (const auto& tc : cases) EXPECT_NEAR(imbalance_of(tc.usage), tc.expected, 1e-12) << tc.name;
}

TEST(TruncateScore, DropsFloatNoiseButKeepsTenDigits) {
  EXPECT_EQ(truncate_score(0.0), 0.0);
  EXPECT_EQ(truncate_score(0.1 + 0.2), truncate_score(0.3));  // the reason it exists
  EXPECT_EQ(truncate_score(-2.5), -2.5);                      // exact values stay
  for (double x : {1.23456789012345, 98.7654321, 1e-7 / 3, 12345.678}) {
    EXPECT_LE(truncate_score(x), x) << x;  // toward zero
    EXPECT_NEAR(truncate_score(x), x, x * 1e-10) << x;
    EXPECT_NE(truncate_score(x), truncate_score(x * (1 + 1e-9))) << x;
  }
}

TEST(LoadModel, ImbalanceIsZeroForTheHomogeneousCluster) {
  auto s = fixtures::homogeneous_cluster();
  LoadModel m(s, test_config());
  EXPECT_EQ(m.imbalance(), 0.0);
}

TEST(LoadModel, ImbalanceOfOneHotNodeMatchesTheFormula) {
  auto s = fixtures::one_hot_node();
  LoadModel m(s, test_config());
  // memory used: 24, 4, 4 GiB of 64
  double expected = 100 * imbalance_of({24.0 / 64, 4.0 / 64, 4.0 / 64});
  EXPECT_NEAR(m.imbalance(), expected, 1e-7);
}

TEST(LoadModel, WhatIfMoveEqualsApplyingTheMove) {
  auto s = fixtures::one_hot_node();
  for (auto mode : {Mode::Used, Mode::Assigned, Mode::Psi}) {
    auto cfg = test_config();
    cfg.balancing.mode = mode;
    cfg.balancing.weights = {1.0, 0.5, 0.25};
    s.nodes[0].pressure = Pressure{0.1, 0.2, 0.3};
    LoadModel m(s, cfg);
    Vec3 c = m.contribution(s.guests[0]);
    double predicted = m.imbalance_after(0, 2, c);
    m.apply(0, 2, c);
    EXPECT_NEAR(m.imbalance(), predicted, 1e-6) << static_cast<int>(mode);
    EXPECT_LT(m.imbalance(), LoadModel(s, cfg).imbalance()) << static_cast<int>(mode);
  }
}

// apply() keeps what imbalance() and imbalance_after() read (the sums, each
// node's terms) current: after a series of moves they match a model built
// from the snapshot with the guests where the moves put them.
TEST(LoadModel, AfterSeveralMovesItMatchesAFreshModel) {
  auto s = fixtures::one_hot_node();
  s.nodes.push_back(fixtures::node("node4"));
  s.nodes.back().maintenance = true;  // not counted: a move to it only leaves its source
  s.guests[1].cpus = 4;
  s.guests[2].local_disk_bytes = 20 * kGiB;
  auto cfg = test_config();
  cfg.balancing.mode = Mode::Assigned;  // the load follows the guests' nodes
  cfg.balancing.weights = {1.0, 0.5, 0.25};
  LoadModel m(s, cfg);
  const std::pair<size_t, int> moves[] = {{0, 1}, {1, 2}, {2, 1}, {0, 2}, {3, 3}, {1, 0}};
  const int from[] = {0, 0, 0, 1, 0, 2};
  for (size_t i = 0; i < std::size(moves); ++i) {
    auto [g, to] = moves[i];
    m.apply(from[i], to, m.contribution(s.guests[g]));
    s.guests[g].node = s.nodes[to].name;
    LoadModel fresh(s, cfg);
    EXPECT_NEAR(m.imbalance(), fresh.imbalance(), 1e-6) << "after move " << i;
    Vec3 c = m.contribution(s.guests[4]);  // a guest still on node1
    EXPECT_NEAR(m.imbalance_after(0, 2, c), fresh.imbalance_after(0, 2, c), 1e-6) << "after move " << i;
    EXPECT_NEAR(m.imbalance_after(0, 3, c), fresh.imbalance_after(0, 3, c), 1e-6) << "after move " << i;
  }
}

TEST(LoadModel, SwapEqualsTwoMoves) {
  auto s = fixtures::one_hot_node();
  s.guests[0].memory_used = 10 * kGiB;
  LoadModel m(s, test_config());
  Vec3 a = m.contribution(s.guests[0]);  // on node1
  Vec3 b = m.contribution(s.guests[6]);  // on node2
  double predicted = m.imbalance_after_swap(0, 1, a, b);
  m.apply(0, 1, a);
  m.apply(1, 0, b);
  EXPECT_NEAR(m.imbalance(), predicted, 1e-6);
}

TEST(LoadModel, ModesCountDifferentThings) {
  auto s = fixtures::empty_cluster(2);
  Guest running = guest(100, "node1", 8);
  running.memory_used = 2 * kGiB;
  Guest stopped = guest(101, "node2", 16);
  stopped.status = GuestStatus::Stopped;
  stopped.memory_used = 0;
  add(s, running);
  add(s, stopped);
  auto cfg = test_config();
  LoadModel used(s, cfg);
  EXPECT_NEAR(used.usage(0)[kMemory], 2.0 / 64, 1e-12);
  EXPECT_NEAR(used.usage(1)[kMemory], 0.0, 1e-12);
  cfg.balancing.mode = Mode::Assigned;
  LoadModel assigned(s, cfg);
  EXPECT_NEAR(assigned.usage(0)[kMemory], 8.0 / 64, 1e-12);
  EXPECT_NEAR(assigned.usage(1)[kMemory], 16.0 / 64, 1e-12);  // stopped guests count when assigned
  EXPECT_NEAR(assigned.usage(0)[kCpu], 2.0 / 16, 1e-12);
}

TEST(LoadModel, PsiScalesLoadByPressure) {
  auto s = fixtures::homogeneous_cluster();
  s.nodes[0].pressure = Pressure{0.0, 0.5, 0.0};
  auto cfg = test_config();
  cfg.balancing.mode = Mode::Psi;
  LoadModel psi(s, cfg);
  EXPECT_NEAR(psi.usage(0)[kMemory], 1.5 * psi.usage(1)[kMemory], 1e-12);
  EXPECT_GT(psi.imbalance(), 0.0);
}

TEST(LoadModel, HistoryPercentilesReplaceInstantValues) {
  auto s = fixtures::empty_cluster(2);
  Guest g = guest(100, "node1", 8);
  g.memory_used = 2 * kGiB;
  g.history = GuestHistory{0.9, 6 * kGiB};
  auto cfg = test_config();
  LoadModel plain(s, cfg);
  EXPECT_EQ(plain.contribution(g)[kMemory], static_cast<double>(2 * kGiB));
  cfg.balancing.history.enable = true;
  LoadModel history(s, cfg);
  EXPECT_EQ(history.contribution(g)[kMemory], static_cast<double>(6 * kGiB));
  EXPECT_NEAR(history.contribution(g)[kCpu], 0.9 * 2, 1e-12);
}

TEST(LoadModel, MaintenanceIgnoredAndOfflineNodesDoNotCount) {
  auto s = fixtures::one_hot_node();
  s.nodes[0].maintenance = true;  // node1 carries the load but is left out
  LoadModel m(s, test_config());
  EXPECT_EQ(m.imbalance(), 0.0);
  EXPECT_FALSE(m.counted(0));
}

TEST(LoadModel, WeightsMixResources) {
  auto s = fixtures::empty_cluster(2);
  Guest g = guest(100, "node1", 16);
  g.cpu_usage = 0.0;  // memory skewed, cpu even (both idle)
  add(s, g);
  auto cfg = test_config();
  cfg.balancing.weights = {1.0, 0.0, 0.0};
  double memory_only = LoadModel(s, cfg).imbalance();
  cfg.balancing.weights = {1.0, 1.0, 0.0};
  double mixed = LoadModel(s, cfg).imbalance();
  EXPECT_NEAR(mixed, memory_only / 2, 1e-6);
}

}  // namespace
}  // namespace pvekit::balance
