#include "daemon/round_gate.h"

#include <gtest/gtest.h>

namespace pvekit::daemon {
namespace {

TEST(RoundGate, ShortSpikeNeverReachesAPlan) {
  RoundGate gate({.balanciness = 10, .hold = 3, .margin = 2});
  EXPECT_EQ(gate.observe(5), GateVerdict::Balanced);
  EXPECT_EQ(gate.observe(30), GateVerdict::Holding);
  EXPECT_EQ(gate.observe(25), GateVerdict::Holding);
  EXPECT_EQ(gate.observe(8), GateVerdict::Balanced);  // the spike is over: the count starts again
  EXPECT_EQ(gate.imbalanced_rounds(), 0);
  EXPECT_EQ(gate.observe(30), GateVerdict::Holding);
}

TEST(RoundGate, LastingImbalancePlansAndWaitsAgainAfterExecuting) {
  RoundGate gate({.balanciness = 10, .hold = 2, .margin = 2});
  EXPECT_EQ(gate.observe(20), GateVerdict::Holding);
  EXPECT_EQ(gate.observe(20), GateVerdict::Plan);
  EXPECT_EQ(gate.accept(20, 6, false), PlanVerdict::Execute);
  gate.executed();
  EXPECT_EQ(gate.observe(15), GateVerdict::Holding);
  EXPECT_EQ(gate.observe(15), GateVerdict::Plan);
}

TEST(RoundGate, PlanBelowMarginIsSkippedUnlessItRepairsRules) {
  RoundGate gate({.balanciness = 10, .hold = 1, .margin = 2});
  EXPECT_EQ(gate.observe(12), GateVerdict::Plan);
  EXPECT_EQ(gate.accept(12, 10.5, false), PlanVerdict::Skip);
  EXPECT_EQ(gate.accept(12, 10.5, true), PlanVerdict::RepairsOnly);
  EXPECT_EQ(gate.accept(12, 10, false), PlanVerdict::Execute);
}

TEST(RoundGate, RepairsDoNotWaitForHold) {
  RoundGate gate({.balanciness = 10, .hold = 3, .margin = 2});
  EXPECT_EQ(gate.observe(3), GateVerdict::Balanced);
  EXPECT_EQ(gate.accept(3, 2, true), PlanVerdict::RepairsOnly);
  EXPECT_EQ(gate.observe(40), GateVerdict::Holding);
  EXPECT_EQ(gate.accept(40, 5, true), PlanVerdict::RepairsOnly);  // a big improvement still waits for hold
}

TEST(RoundGate, HoldOfOneActsLikeProxLB) {
  RoundGate gate({.balanciness = 5, .hold = 1, .margin = 0});
  EXPECT_EQ(gate.observe(5.5), GateVerdict::Plan);
  EXPECT_EQ(gate.accept(5.5, 5.5, false), PlanVerdict::Execute);
}

TEST(RoundGate, Explains) {
  RoundGate gate({.balanciness = 10, .hold = 3, .margin = 2});
  gate.observe(23.44);
  EXPECT_EQ(gate.explain(23.44), "spread 23.4 above balanciness 10 for 1 of 3 rounds");
  EXPECT_EQ(gate.explain(4), "spread 4.0 within balanciness 10");
}

}  // namespace
}  // namespace pvekit::daemon
