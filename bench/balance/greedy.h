#pragma once

// A memory-only greedy balancer in the style of ProxLB, the baseline the
// planner is compared with. It knows no rules beyond capacity.

#include <cstdint>
#include <vector>

#include "common.h"

namespace bench_balance {

struct GreedyResult {
  std::vector<Relocation> moves;
  uint64_t bytes_moved = 0;  // as migration_bytes()
};

// While the spread between the most and the least used node (memory percent
// of capacity) exceeds `balanciness` points: take the most used node, walk
// its running guests largest memory first and move the first one that fits
// on the least used node and narrows the gap between the two (no
// overshoot); stop when none does.
GreedyResult greedy_balance(const pb::ClusterState& state, double balanciness);

}  // namespace bench_balance
