#pragma once

#include <ostream>

#include "balance/config.h"
#include "balance/planner.h"
#include "balance/snapshot_reader.h"
#include "core/json.h"

// Human and JSON renderings of what proxlb shows. Pure: they only write to
// the given stream. Tables fit an 80-column terminal.
namespace pvekit::balance {

// "[#######-----]": `fraction` (clamped to 0..1) of `width` cells filled.
std::string load_bar(double fraction, int width);

// `proxlb status`: cluster line, one row per node with memory/CPU/disk bars
// and guest counts, and the imbalance against the balanciness threshold.
void render_status(const ClusterSnapshot& snapshot, const BalanceConfig& config, std::ostream& out);
core::Json status_json(const ClusterSnapshot& snapshot, const BalanceConfig& config);

// `proxlb plan`: the moves by wave, per-node usage before and after, and the
// rules that cannot be met.
void render_plan(const Plan& plan, std::ostream& out);
core::Json plan_json(const Plan& plan);

}  // namespace pvekit::balance
