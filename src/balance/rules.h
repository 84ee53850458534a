#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "balance/config.h"
#include "balance/model.h"

namespace pvekit::balance {

// A set of node indices (nodes in ClusterState order).
class NodeSet {
 public:
  NodeSet() = default;
  explicit NodeSet(size_t nodes, bool all = false);
  void set(size_t node) { words_[node >> 6] |= uint64_t{1} << (node & 63); }
  void reset(size_t node) { words_[node >> 6] &= ~(uint64_t{1} << (node & 63)); }
  bool test(size_t node) const { return (words_[node >> 6] >> (node & 63)) & 1U; }
  size_t count() const;
  bool empty() const { return count() == 0; }
  NodeSet& operator&=(const NodeSet& other);
  NodeSet& operator|=(const NodeSet& other);
  size_t size() const { return size_; }

 private:
  size_t size_ = 0;
  std::vector<uint64_t> words_;
};

// A rule that cannot be met as configured, or a state the planner could not
// repair. `rule` names the rule ("tag plb_pin_node9", "HA rule keep-apart",
// "pool db"); vmids are sorted; message is a full sentence for the admin.
struct Conflict {
  std::string rule;
  std::vector<uint32_t> vmids;
  std::string message;
};

// Capacity figures in the units of the fit check: memory bytes, vCPUs, disk
// bytes. A limit of +infinity means "not limited".
struct Amount {
  double memory = 0.0;
  double cpus = 0.0;
  double disk = 0.0;
};
inline Amount operator+(Amount a, const Amount& b) {
  a.memory += b.memory;
  a.cpus += b.cpus;
  a.disk += b.disk;
  return a;
}
inline Amount operator-(Amount a, const Amount& b) {
  a.memory -= b.memory;
  a.cpus -= b.cpus;
  a.disk -= b.disk;
  return a;
}

// Affinity groups move as a unit: every guest is in exactly one unit (most
// units are a single guest).
struct Unit {
  std::vector<size_t> members;  // guest indices, ascending vmid
  uint32_t vmid = 0;            // lowest member vmid: the unit's name in tie-breaks
  NodeSet allowed;              // nodes every member may run on
  bool movable = false;         // may be moved at all (all members movable)
  bool running = false;         // every member runs: may be moved for balancing
  std::vector<size_t> anti_groups;  // indices into Constraints::anti_groups()
  std::string group;            // affinity rule name(s), empty for a lone guest
  int anchor = -1;              // node of frozen members (the group gathers there); -1: none
};

// Units that must sit on pairwise distinct nodes; when the group has more
// units than nodes, at most max_per_node per node (reported as a conflict).
struct AntiGroup {
  std::string rule;
  std::vector<size_t> units;  // ascending
  int max_per_node = 1;
};

// The rules of a snapshot compiled for cheap queries by the planner. Node and
// guest indices refer to positions in the ClusterState given to compile(),
// which must outlive the Constraints.
class Constraints {
 public:
  static Constraints compile(const ClusterState& state, const BalanceConfig& config);

  const ClusterState& state() const { return *state_; }
  size_t node_count() const { return state_->nodes.size(); }
  size_t guest_count() const { return state_->guests.size(); }
  int node_index(std::string_view name) const;  // -1 when unknown

  // Online, not in maintenance, not ignored: may receive guests and counts in
  // the imbalance.
  bool eligible(size_t node) const { return eligible_.test(node); }
  const NodeSet& eligible_nodes() const { return eligible_; }
  bool evacuate(size_t node) const;  // online maintenance node

  int node_of(size_t guest) const { return guest_node_[guest]; }  // -1: unknown node
  bool movable(size_t guest) const { return frozen_[guest].empty(); }
  const std::string& frozen_reason(size_t guest) const { return frozen_[guest]; }
  bool allowed(size_t guest, size_t node) const { return allowed_[guest].test(node); }
  const NodeSet& allowed_nodes(size_t guest) const { return allowed_[guest]; }

  size_t unit_of(size_t guest) const { return unit_of_[guest]; }
  const std::vector<Unit>& units() const { return units_; }
  const std::vector<AntiGroup>& anti_groups() const { return anti_; }

  // Capacity: limits per node, what a guest takes on a node, and the load
  // each node carries in the snapshot.
  const Amount& limit(size_t node) const { return limits_[node]; }
  const Amount& need(size_t guest) const { return needs_[guest]; }
  const Amount& initial_load(size_t node) const { return loads_[node]; }
  static bool fits(const Amount& load, const Amount& add, const Amount& limit);

  // Rules that cannot all be met, in a stable order.
  const std::vector<Conflict>& conflicts() const { return conflicts_; }

  // Allowed nodes for a guest that does not exist yet (best_node).
  NodeSet allowed_for(const std::vector<std::string>& tags, const std::string& pool) const;

 private:
  void index_nodes(const BalanceConfig& config);
  void classify_guests(const BalanceConfig& config);
  void compute_allowed(const BalanceConfig& config);
  void apply_ha_node_affinity();
  void build_units(const BalanceConfig& config);
  void finish_unit(Unit& unit);
  void build_anti_groups(const BalanceConfig& config);
  void compute_capacity(const BalanceConfig& config);
  void hold_room_for_migrations(bool overprovision);
  void check_unit_capacity();
  NodeSet pin_set(const std::vector<std::string>& pins, const std::string& rule,
                  const std::vector<uint32_t>& vmids, bool report);
  int least_loaded(const BalanceConfig& config) const;
  // A pool's allowed nodes: its pinned ones, plus least_loaded_ when not strict.
  NodeSet pool_set(const PoolRule& rule, NodeSet pinned) const;
  void add_conflict(std::string rule, std::vector<uint32_t> vmids, std::string message);

  const ClusterState* state_ = nullptr;
  std::map<std::string, size_t, std::less<>> node_by_name_;
  std::map<uint32_t, size_t> guest_by_vmid_;
  NodeSet eligible_;
  std::vector<int> guest_node_;
  std::vector<std::string> frozen_;
  std::vector<NodeSet> allowed_;
  std::vector<size_t> unit_of_;
  std::vector<Unit> units_;
  std::vector<AntiGroup> anti_;
  std::vector<Amount> limits_, needs_, loads_;
  std::vector<Conflict> conflicts_;
  std::map<std::string, PoolRule> pools_;
  int least_loaded_ = -1;  // set when a pool is not strict: its extra candidate
};

// Tag helpers (PVE tags are lower-case; see pve::parse_tags).
inline constexpr std::string_view kAffinityTag = "plb_affinity_";
inline constexpr std::string_view kAntiAffinityTag = "plb_anti_affinity_";
inline constexpr std::string_view kPinTag = "plb_pin_";
inline constexpr std::string_view kIgnoreTag = "plb_ignore";
bool has_ignore_tag(const std::vector<std::string>& tags);
std::vector<std::string> pinned_nodes(const std::vector<std::string>& tags);
// Group names ("tag plb_affinity_web") of the affinity / anti-affinity tags;
// ProxLB's older plb_include_ / plb_exclude_ count as the same.
std::vector<std::string> affinity_groups(const std::vector<std::string>& tags);
std::vector<std::string> anti_affinity_groups(const std::vector<std::string>& tags);

}  // namespace pvekit::balance
