#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pvekit::balance {

// A plain snapshot of a Proxmox VE cluster: what the balancer plans from.
// Filled by the snapshot reader (or the generator / test fixtures); the
// balancer never mutates it. All sizes are bytes, all CPU figures are logical
// cores or fractions as stated per field.

// Linux pressure stall information of a node, as fractions 0..1 of time
// (PVE reports percent; the reader divides by 100). "some" = at least one
// task stalled.
struct Pressure {
  double cpu_some = 0.0;
  double memory_some = 0.0;
  double io_some = 0.0;
};

// Capacity kept free on a node (proxlb `node_resource_reserve`).
struct Reserve {
  uint64_t memory = 0;  // bytes
  double cpus = 0.0;    // logical cores
  uint64_t disk = 0;    // bytes of local storage
};

struct Node {
  std::string name;
  bool online = true;       // false: unreachable/fenced; neither source nor target
  bool maintenance = false;  // evacuate: every movable guest must leave
  bool ignored = false;      // proxlb ignore_nodes: neither source nor target
  uint32_t cpus = 0;         // logical cores; 0 means unknown (cpu not balanced)
  uint64_t memory_total = 0;  // bytes
  uint64_t memory_used = 0;   // bytes, includes the host's own use
  uint64_t disk_total = 0;    // bytes of local guest storage; 0: no local storage
  uint64_t disk_used = 0;     // bytes
  std::vector<std::string> local_storages;  // ids of the storages disk_total sums
  double cpu_usage = 0.0;     // fraction 0..1 of all cores, recent average
  std::optional<Pressure> pressure;  // PVE >= 9 only
  Reserve reserve;            // filled from config by apply_cluster_config()
};

enum class GuestType { Qemu, Lxc };
enum class GuestStatus { Running, Stopped };

std::string_view to_string(GuestType type);  // "qemu" | "lxc"

// Usage of a guest over the configured history window at the configured
// percentile (e.g. p95 over 24 h), when the reader fetched RRD data.
struct GuestHistory {
  double cpu_usage = 0.0;    // fraction 0..1 of the guest's cores
  uint64_t memory_used = 0;  // bytes
};

// A migration PVE was running for a guest when the snapshot was read (a
// qmigrate/vzmigrate task, or a `migrate` lock whose task was not found).
// The planner treats the guest as on its way: it counts where it will be,
// never moves it again and holds room for it (see docs/balancing.md,
// "Migrations already running").
struct InFlightMigration {
  std::string source;  // node the task runs on (the guest's node before the migration)
  std::string target;  // node it is migrating to; empty when it could not be learned
  std::string upid;    // the migration task; empty for a lock without a task found
  bool target_known() const { return !target.empty(); }
};

struct Guest {
  uint32_t vmid = 0;
  std::string name;
  GuestType type = GuestType::Qemu;
  std::string node;  // current node name
  GuestStatus status = GuestStatus::Running;
  bool is_template = false;  // templates are never moved
  std::string lock;          // PVE lock ("backup", "migrate", ...); non-empty: never moved
  std::vector<std::string> tags;  // lower-case, as pve::parse_tags returns them
  std::string pool;               // resource pool name, empty if none
  bool ha_managed = false;        // an HA resource (ha-manager moves it)
  uint64_t memory_max = 0;   // bytes assigned
  uint64_t memory_used = 0;  // bytes in use (0 when stopped)
  uint32_t cpus = 0;         // assigned cores (vCPUs)
  double cpu_usage = 0.0;    // fraction 0..1 of the guest's own cores
  uint64_t disk_bytes = 0;   // total size of all disks (shared and local)
  uint64_t local_disk_bytes = 0;  // size of disks on node-local storage: copied on migration
  std::optional<GuestHistory> history;
  std::optional<InFlightMigration> migration;  // set while PVE migrates the guest

  // The node the planner places the guest on: a running migration's target
  // when known, else the node PVE lists it on.
  const std::string& planned_node() const {
    return migration && migration->target_known() ? migration->target : node;
  }
};

// PVE 9 HA node-affinity rule: the resources run on the listed nodes; among
// those online, only the highest priority class is used. Strict: never
// anywhere else; non-strict: anywhere when no listed node is available.
struct NodePriority {
  std::string node;
  int priority = 0;  // higher is preferred
};
struct NodeAffinityRule {
  std::string id;
  std::vector<uint32_t> resources;  // vmids
  std::vector<NodePriority> nodes;
  bool strict = false;
  bool enabled = true;
};

// PVE 9 HA resource-affinity rule: positive keeps the resources on one node,
// negative keeps each on a distinct node.
struct ResourceAffinityRule {
  std::string id;
  bool positive = true;
  std::vector<uint32_t> resources;  // vmids
  bool enabled = true;
};

struct ClusterState {
  std::vector<Node> nodes;    // any order; names unique
  std::vector<Guest> guests;  // any order; vmids unique
  std::vector<NodeAffinityRule> node_affinity;
  std::vector<ResourceAffinityRule> resource_affinity;
  std::vector<std::string> pools;  // names of the cluster's resource pools

  const Node* find_node(std::string_view name) const;
  const Guest* find_guest(uint32_t vmid) const;
};

inline constexpr uint64_t kGiB = 1024ULL * 1024 * 1024;
inline constexpr uint64_t kMiB = 1024ULL * 1024;

}  // namespace pvekit::balance
