#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <vector>

#include "balance/config.h"
#include "balance/model.h"

namespace pvekit::balance {

enum Resource : size_t { kMemory = 0, kCpu = 1, kDisk = 2 };
inline constexpr size_t kResources = 3;
using Vec3 = std::array<double, kResources>;

// Truncates to kScoreBits significant bits (about 10 decimal digits). Incremental sums and the
// order of floating-point additions leave noise in the last bits; without
// truncation two moves with mathematically equal scores could compare
// differently depending on evaluation order, and the plan would change with
// irrelevant details (like the order nodes were listed in). Truncation makes
// equal scores equal, so the tie-breaks (vmid, node name) decide.
inline constexpr int kScoreBits = 33;
double truncate_score(double value);

// Imbalance of a set of usage fractions: the coefficient of variation
// (population standard deviation / mean) divided by its maximum, sqrt(n-1),
// so 0 is perfectly even and 1 is everything on one node. 0 for n < 2 or
// zero total usage (as proxmox-resource-scheduling).
double imbalance_of(const std::vector<double>& usage);

// ProxLB's balanciness figure: the highest minus the lowest of a set of node
// usage percentages, in percentage points. 0 for an empty set.
double spread_of(const std::vector<double>& usage_percent);

// The per-node load the balancer evens out, in the units of `mode`:
//   used:     memory bytes in use (node figure), CPU cores busy, local disk bytes used
//   assigned: memory bytes assigned, vCPUs assigned, local disk bytes of guests
//   psi:      used figures scaled by (1 + node pressure) of that resource
// Only nodes that are online, not ignored and not in maintenance count; a
// resource with zero capacity on a node is left out for that node.
class LoadModel {
 public:
  LoadModel(const ClusterState& state, const BalanceConfig& config);

  // What `guest` adds to its node, before the node's psi factor.
  Vec3 contribution(const Guest& guest) const;
  // Weighted imbalance in percent (0..100), truncated: the coefficient of
  // variation, see imbalance_of(). balancing.imbalance_threshold compares to it.
  // Kept current by apply(): the planner asks for it with every candidate.
  double imbalance() const { return imbalance_; }
  // ProxLB's balanciness figure, which balancing.balanciness compares to: for
  // each weighted resource, the most minus the least used counted node in
  // percentage points (usage of capacity after reserves, in the balancing
  // mode); the weighted mean of those, truncated. With one method (the
  // default weights) it is exactly that resource's max-min spread.
  double spread() const;
  // The spread of each resource alone (0 where no counted node has capacity).
  Vec3 spread_by_resource() const;
  // Imbalance if `contrib` moved from node `from` to node `to`; either may be
  // -1 (a new guest has no source). O(1).
  double imbalance_after(int from, int to, const Vec3& contrib) const;
  // Same for moving two loads at once (a swap: a from->to, b to->from).
  double imbalance_after_swap(int from, int to, const Vec3& a, const Vec3& b) const;
  void apply(int from, int to, const Vec3& contrib);

  Vec3 usage(size_t node) const;  // fractions of capacity
  double weighted_usage(size_t node) const { return weighted_[node]; }  // weighted mean of fractions
  // The weighted usage `contrib` adds to `node`.
  double weighted_share(size_t node, const Vec3& contrib) const;
  bool counted(size_t node) const { return fixed_->counted[node]; }
  size_t node_count() const { return load_.size(); }
  // Percent of the most loaded counted node for each resource.
  Vec3 max_usage_percent() const;

 private:
  struct Sums {
    Vec3 s1{}, s2{};
    std::array<int, kResources> n{};
  };
  void recompute();
  double score(const Sums& sums) const;
  double term(size_t node, size_t r, double load) const;
  double compute_weighted(size_t node) const;

  // What no move changes, shared by copies: the planner copies the model for
  // every move it tries.
  struct Fixed {
    Mode mode = Mode::Used;
    bool use_history = false;
    Vec3 weights{};              // normalised to sum 1
    std::vector<size_t> active;  // resources with a positive weight
    std::vector<Vec3> capacity, factor;
    std::vector<bool> counted;
    // sqrt(n - 1) per resource, n its counted nodes with capacity: for
    // imbalance_after(), which the planner calls for every candidate.
    Vec3 roots{1.0, 1.0, 1.0};
  };
  std::shared_ptr<const Fixed> fixed_;
  std::vector<Vec3> load_;
  std::vector<double> weighted_;  // weighted usage per node, kept current by apply()
  Sums sums_;
  // Each counted node's term per active resource, kept by recompute() for
  // imbalance_after().
  std::vector<Vec3> terms_;
  double imbalance_ = 0.0;  // score(sums_)
};

}  // namespace pvekit::balance
