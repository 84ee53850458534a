#pragma once

#include <ostream>

#include "balance/config.h"
#include "balance/planner.h"
#include "balance/snapshot_reader.h"
#include "core/json.h"

// Human and JSON renderings of what proxlb shows. Pure: they only write to
// the given stream. Tables fit an 80-column terminal.
namespace pvekit::balance {

// A usage fraction as percent for display: never negative (no "-0%").
double percent(double fraction);

// A conflict as one line: "rule: message", without repeating the rule when
// the message already starts with it.
std::string conflict_line(const Conflict& conflict);

// The state of each rule in the snapshot's current placement: maintenance
// nodes (empty or not), affinity groups (together or not), anti-affinity
// groups (apart or not), placement limits (pins, pools, HA node affinity),
// and rules that cannot be met as configured (Constraints::conflicts()).
struct RuleState {
  std::string rule;
  bool holds = false;
  std::vector<uint32_t> vmids;
  std::string detail;  // why it holds or not
};
std::vector<RuleState> rule_states(const ClusterState& state, const BalanceConfig& config);

// "[#######-----]": `fraction` (clamped to 0..1) of `width` cells filled.
std::string load_bar(double fraction, int width);

// `proxlb status`: cluster line, one row per node with memory/CPU/disk bars
// and running/all guest counts, the spread against balanciness, the CV
// imbalance, and the state of every rule.
void render_status(const ClusterSnapshot& snapshot, const BalanceConfig& config, std::ostream& out);
core::Json status_json(const ClusterSnapshot& snapshot, const BalanceConfig& config);

// `proxlb plan`: the moves by wave, per-node usage before and after, and the
// rules that cannot be met.
void render_plan(const Plan& plan, std::ostream& out);
core::Json plan_json(const Plan& plan);

// ProxLB's `--json` document for a round: {"nodes": {name: {...}}, "guests":
// {name: {...}}, "groups": {...}} with ProxLB's field names (cpu_total,
// memory_used_percent, node_current, node_target, ...). Node figures are
// those after `moves` (as ProxLB prints its calculations); `initial` is the
// cluster as read before the round. Offline and ignored nodes are left out,
// as ProxLB does. No credentials (ProxLB strips its "meta" section too).
core::Json proxlb_compat_json(const ClusterState& initial, const std::vector<Move>& moves,
                              const BalanceConfig& config);

}  // namespace pvekit::balance
