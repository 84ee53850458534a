#pragma once

// Helpers shared by the planner quality benchmark: configs, applying a set of
// relocations to a snapshot, and measuring every result with the planner's
// own LoadModel so all numbers compare.

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "balance/config.h"
#include "balance/model.h"
#include "balance/planner.h"

namespace bench_balance {

namespace pb = pvekit::balance;

// Guest `guest` (index into ClusterState::guests) goes to node `node`.
struct Relocation {
  size_t guest = 0;
  size_t node = 0;
};

// Memory-only balancing in `used` mode (method memory, weights memory 1).
pb::BalanceConfig memory_config(double balanciness);

size_t node_index(const pb::ClusterState& state, const std::string& name);

// The snapshot after the relocations, applied in order (node memory and
// local disk figures follow the guests).
void relocate_one(pb::ClusterState& state, const Relocation& move);
pb::ClusterState relocate(const pb::ClusterState& state, const std::vector<Relocation>& moves);

// The planner's moves as relocations.
std::vector<Relocation> relocations_of(const pb::ClusterState& state, const pb::Plan& plan);

// Imbalance in percent as the planner measures it (LoadModel::imbalance()).
double imbalance(const pb::ClusterState& state, const pb::BalanceConfig& config);
// ProxLB's spread in points as the planner measures it (LoadModel::spread()).
double spread(const pb::ClusterState& state, const pb::BalanceConfig& config);
// GiB the relocations copy (each guest counted once, as a net move).
double gib_moved(const pb::ClusterState& state, const std::vector<Relocation>& moves);

// Bytes a migration copies: used RAM of a running guest plus its local disks
// (the planner's Move::memory_bytes + local_disk_bytes).
uint64_t migration_bytes(const pb::Guest& guest);

// Whether node `n` can take guest `g` (memory in use and local disk, as the
// planner checks with overprovisioning on).
bool fits(const pb::Node& node, const pb::Guest& guest);

inline double gib(uint64_t bytes) { return static_cast<double>(bytes) / static_cast<double>(pb::kGiB); }

struct Timing {
  double wall_ms = 0.0;
  double cpu_ms = 0.0;
};

class Stopwatch {
 public:
  Stopwatch();
  Timing elapsed() const;

 private:
  timespec wall_{}, cpu_{};
};

}  // namespace bench_balance
