#include "daemon/round_gate.h"

#include <gtest/gtest.h>

namespace pvekit::daemon {
namespace {

TEST(RoundGate, ShortSpikeNeverReachesAPlan) {
  RoundGate gate({.hold = 3, .margin = 2});
  EXPECT_EQ(gate.observe(false), GateVerdict::Balanced);
  EXPECT_EQ(gate.observe(true), GateVerdict::Holding);
  EXPECT_EQ(gate.observe(true), GateVerdict::Holding);
  EXPECT_EQ(gate.observe(false), GateVerdict::Balanced);  // the spike is over: the count starts again
  EXPECT_EQ(gate.needed_rounds(), 0);
  EXPECT_EQ(gate.observe(true), GateVerdict::Holding);
  EXPECT_EQ(gate.progress(), "1 of 3 rounds");
}

TEST(RoundGate, LastingImbalancePlansAndWaitsAgainAfterExecuting) {
  RoundGate gate({.hold = 2, .margin = 2});
  EXPECT_EQ(gate.observe(true), GateVerdict::Holding);
  EXPECT_EQ(gate.observe(true), GateVerdict::Plan);
  EXPECT_EQ(gate.accept(20, 6, false), PlanVerdict::Execute);
  gate.executed();
  EXPECT_EQ(gate.observe(true), GateVerdict::Holding);
  EXPECT_EQ(gate.observe(true), GateVerdict::Plan);
}

TEST(RoundGate, PlanBelowMarginIsSkippedUnlessItRepairsRules) {
  RoundGate gate({.hold = 1, .margin = 2});
  EXPECT_EQ(gate.observe(true), GateVerdict::Plan);
  EXPECT_EQ(gate.accept(12, 10.5, false), PlanVerdict::Skip);
  EXPECT_EQ(gate.accept(12, 10.5, true), PlanVerdict::RepairsOnly);
  EXPECT_EQ(gate.accept(12, 10, false), PlanVerdict::Execute);
}

TEST(RoundGate, RepairsDoNotWaitForHold) {
  RoundGate gate({.hold = 3, .margin = 2});
  EXPECT_EQ(gate.observe(false), GateVerdict::Balanced);
  EXPECT_EQ(gate.accept(3, 2, true), PlanVerdict::RepairsOnly);
  EXPECT_EQ(gate.observe(true), GateVerdict::Holding);
  EXPECT_EQ(gate.accept(40, 5, true), PlanVerdict::RepairsOnly);  // a big improvement still waits for hold
}

TEST(RoundGate, BalanceNowWaivesTheHoldButNotTheMargin) {
  RoundGate gate({.hold = 3, .margin = 2});
  EXPECT_EQ(gate.observe(true), GateVerdict::Holding);
  EXPECT_EQ(gate.accept(40, 5, false), PlanVerdict::Skip);
  EXPECT_EQ(gate.accept(40, 5, false, true), PlanVerdict::Execute);
  EXPECT_EQ(gate.accept(40, 39, false, true), PlanVerdict::Skip);
  EXPECT_EQ(gate.observe(false), GateVerdict::Balanced);
  EXPECT_EQ(gate.accept(40, 5, false, true), PlanVerdict::Skip) << "nothing to balance";
}

TEST(RoundGate, HoldOfOneActsLikeProxLB) {
  RoundGate gate({.hold = 1, .margin = 0});
  EXPECT_EQ(gate.observe(true), GateVerdict::Plan);
  EXPECT_EQ(gate.accept(5.5, 5.4, false), PlanVerdict::Execute);
}

TEST(RoundGate, ReconfigureKeepsTheCount) {
  RoundGate gate({.hold = 5, .margin = 2});
  gate.observe(true);
  gate.observe(true);
  gate.reconfigure({.hold = 2, .margin = 2});
  EXPECT_EQ(gate.observe(true), GateVerdict::Plan);
}

}  // namespace
}  // namespace pvekit::daemon
