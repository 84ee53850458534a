#pragma once

// The optimum placement of a small cluster, solved as a MILP by glpsol
// (GLPK). Binary x[g,n] places every running guest on exactly one node;
// nodes keep their host use and stopped guests; memory (in use) and local
// disk must fit. The objective is a linear proxy of the imbalance; the
// caller evaluates the placement with the planner's LoadModel.

#include <string>
#include <vector>

#include "common.h"

namespace bench_balance {

enum class Objective {
  Spread,        // minimise max - min of node memory usage fractions
  AbsDeviation,  // minimise the sum of |usage - mean usage|
  Cheapest,      // minimise the GiB moved with max - min usage <= a bound
};
std::string to_string(Objective objective);

struct MilpResult {
  bool solved = false;   // a feasible placement was read back
  bool optimal = false;  // glpsol proved it optimal
  std::string status;    // optimal | time limit | infeasible | glpsol failed | mkdtemp failed
  std::vector<Relocation> placement;  // every running guest -> its node
  Timing time;
};

// Path of glpsol ($GLPSOL if set, else /usr/bin, /usr/local/bin), empty when
// it is not installed.
std::string find_glpsol();

// `max_spread` (percentage points of memory usage) bounds the spread for
// Objective::Cheapest and is ignored otherwise.
MilpResult solve_milp(const std::string& glpsol, const pb::ClusterState& state, Objective objective,
                      int time_limit_s, double max_spread = 0.0);

}  // namespace bench_balance
