#pragma once

// The true optimum of the planner's own (non-linear) imbalance for tiny
// clusters, by exhaustive search over every placement of the running guests
// that fits. Checks how close the MILP's linear proxies come.

#include <optional>
#include <vector>

#include "common.h"

namespace bench_balance {

struct ExactResult {
  std::vector<Relocation> placement;  // every running guest -> its node
  double leaves = 0;                  // complete placements evaluated
  Timing time;
};

// Empty when nodes^guests exceeds `max_leaves`.
std::optional<ExactResult> exact_optimum(const pb::ClusterState& state, double max_leaves);

}  // namespace bench_balance
