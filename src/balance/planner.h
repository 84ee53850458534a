#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "balance/config.h"
#include "balance/model.h"
#include "balance/rules.h"
#include "balance/score.h"
#include "core/result.h"

namespace pvekit::balance {

enum class MoveReason {
  Evacuate,      // leaves a maintenance node
  Affinity,      // joins its affinity group
  Pin,           // returns to its pinned / HA-preferred nodes
  AntiAffinity,  // leaves a node shared with its anti-affinity group
  Balance,       // lowers the imbalance
  Parking,       // steps aside so another move fits; moves on to its final node in a later wave
  MakeRoom,      // leaves a node so that a required move (evacuation, pin, affinity, anti-affinity) fits there
};
std::string_view to_string(MoveReason reason);

struct Move {
  uint32_t vmid = 0;
  std::string name;
  GuestType type = GuestType::Qemu;
  std::string from, to;  // node names
  MoveReason reason = MoveReason::Balance;
  bool online = true;              // live migration (running guest and balancing.live)
  uint64_t memory_bytes = 0;       // RAM copied by a live migration
  uint64_t local_disk_bytes = 0;   // local disks copied
  double gain = 0.0;  // imbalance points this move (with its unit / swap partner) removed
  double cost = 0.0;  // points it had to remove to be made: min_gain + per_gib * GiB copied
  size_t wave = 0;                 // index into Plan::waves
};

// A migration PVE was already running when the snapshot was read (see
// Guest::migration). It is not one of the plan's moves: the plan starts from
// the state it reaches, and the executor keeps its job slots taken until it
// ends.
struct RunningMigration {
  uint32_t vmid = 0;
  InFlightMigration migration;
};

struct NodeUsage {
  std::string name;
  Vec3 before{}, after{};  // usage fractions (memory, cpu, disk) in the balancing mode
};

// The result of planning: moves in execution order, grouped into waves. All
// moves of a wave may run in parallel; a wave starts when the previous one
// finished. After any subset of a wave's moves, no node exceeds its capacity
// and no hard rule is broken that was not already broken before.
struct Plan {
  std::vector<Move> moves;
  std::vector<std::vector<size_t>> waves;  // indices into moves
  std::vector<RunningMigration> running;   // ascending vmid; none of them is in `moves`
  std::vector<NodeUsage> nodes;            // ascending name
  double imbalance_before = 0.0;           // percent, see score.h
  double imbalance_after = 0.0;
  double spread_before = 0.0;  // points, see LoadModel::spread()
  double spread_after = 0.0;
  double balanciness = 0.0;    // the config's, for the verdict shown with the plan
  bool balancing_needed = false;  // spread above balanciness, imbalance above its threshold or a node above a threshold
  uint64_t bytes_moved = 0;       // memory + local disk of all moves
  std::vector<Conflict> conflicts;   // rules that cannot all be met
  std::vector<Conflict> unresolved;  // required moves that found no room
};

// Plans moves for a snapshot. Pure and deterministic: the same state and
// config give the same plan, whatever order nodes and guests are listed in.
// `state` should already carry apply_cluster_config()'s reserves and flags.
Plan plan(const ClusterState& state, const BalanceConfig& config);

// A guest to be created, for best_node().
struct PlacementRequest {
  uint64_t memory = 0;  // bytes
  uint32_t cpus = 0;
  uint64_t disk = 0;    // bytes on local storage
  std::vector<std::string> tags;
  std::string pool;
};

// The node where a new guest keeps the cluster most even, honouring pins,
// pools, anti-affinity and affinity tags and capacity. Rules error when no
// node qualifies.
core::Result<std::string> best_node(const ClusterState& state, const BalanceConfig& config,
                                    const PlacementRequest& request);

// Sorts nodes by name and guests by vmid (the canonical order plan() uses).
ClusterState normalized(ClusterState state);

}  // namespace pvekit::balance
