#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/result.h"

// Plain structs for PVE API answers, with PVE's field names and units. The
// parse_* functions are lenient the way PVE needs: numbers may come as
// strings, booleans as 0/1, missing fields keep their zero value. They fail
// (Parse error) only when the answer has the wrong overall shape.
namespace pvekit::pve {

enum class GuestType { Qemu, Lxc };
std::string_view to_string(GuestType type);  // "qemu", "lxc" (path segment and resource type)

// GET /version
struct Version {
  std::string version;  // "9.1.1"
  std::string release;  // "9.1"
  std::string repoid;   // "42b13ee6f0e9d0f3"
  std::string console;  // default console viewer, may be empty
};
core::Result<Version> parse_version(const core::Json& data);

// One entry of GET /cluster/status with type "node".
struct ClusterNode {
  std::string name;
  std::string id;  // "node/pve1"
  int64_t nodeid = 0;
  std::string ip;
  bool online = false;
  bool local = false;  // the node that answered
  std::string level;   // subscription level, "" when none
};

// GET /cluster/status: the cluster entry plus its nodes. A standalone node
// (no cluster configured) has no cluster entry: clustered is false and it
// counts as quorate.
struct ClusterStatus {
  bool clustered = false;
  std::string name;  // cluster name
  bool quorate = true;
  int64_t nodes_configured = 0;  // "nodes": count including offline nodes
  int64_t config_version = 0;    // corosync config version
  std::vector<ClusterNode> nodes;
  size_t online_count() const;
};
core::Result<ClusterStatus> parse_cluster_status(const core::Json& data);

// One entry of GET /cluster/resources. Which fields are set depends on `type`.
struct ClusterResource {
  std::string id;    // "qemu/100", "lxc/101", "node/pve1", "storage/pve1/local"
  std::string type;  // node, storage, pool, qemu, lxc, openvz, sdn, network
  std::string node;
  int64_t vmid = 0;  // guests only, 0 otherwise
  std::string name;
  std::string status;  // running, stopped, online, offline, available, unknown, ...
  uint64_t maxmem = 0;    // bytes
  uint64_t mem = 0;       // bytes used
  uint64_t memhost = 0;   // bytes the guest uses on the host (PVE 9)
  double maxcpu = 0;      // number of CPUs (vCPUs for guests)
  double cpu = 0;         // usage as a fraction of maxcpu, 0..1
  uint64_t maxdisk = 0;   // bytes
  uint64_t disk = 0;      // bytes used
  uint64_t netin = 0;     // bytes received since start
  uint64_t netout = 0;    // bytes sent since start
  uint64_t diskread = 0;  // bytes
  uint64_t diskwrite = 0; // bytes
  uint64_t uptime = 0;    // seconds
  std::vector<std::string> tags;  // parsed with parse_tags
  bool template_ = false;  // "template"
  std::string lock;        // "migrate", "backup", "snapshot", ... or empty
  std::string hastate;     // HA state when HA-managed, else empty
  std::string pool;
  std::string storage;     // storage id (type storage)
  std::string content;     // comma-separated content types (type storage)
  bool shared = false;     // storage shared by all nodes
  std::string plugintype;  // storage type (dir, lvmthin, zfspool, nfs, rbd, ...)
  std::string level;       // node subscription level
  std::string cgroup_mode; // "cgroup-mode" of nodes, as text
};
core::Result<std::vector<ClusterResource>> parse_cluster_resources(const core::Json& data);
ClusterResource parse_cluster_resource(const core::Json& item);

// One entry of GET /nodes.
struct NodeSummary {
  std::string node;
  std::string status;  // online, offline, unknown
  double cpu = 0;      // fraction 0..1
  double maxcpu = 0;   // CPUs
  uint64_t mem = 0;    // bytes
  uint64_t maxmem = 0; // bytes
  uint64_t disk = 0;   // bytes (root fs)
  uint64_t maxdisk = 0;
  uint64_t uptime = 0;  // seconds
  std::string level;
  std::string ssl_fingerprint;  // SHA-256 of the node certificate, "AA:BB:..."
};
core::Result<std::vector<NodeSummary>> parse_nodes(const core::Json& data);

// GET /nodes/{node}/status
struct NodeStatus {
  double cpu = 0;      // fraction 0..1
  double wait = 0;     // IO wait fraction 0..1
  std::vector<double> loadavg;  // 1, 5, 15 minutes (PVE sends strings)
  uint64_t uptime = 0;          // seconds
  struct Memory {
    uint64_t total = 0, used = 0, free = 0, available = 0;  // bytes
  } memory, swap;
  struct Fs {
    uint64_t total = 0, used = 0, free = 0, avail = 0;  // bytes
  } rootfs;
  struct CpuInfo {
    int64_t cpus = 0, cores = 0, sockets = 0;
    std::string model;
    double mhz = 0;
  } cpuinfo;
  std::string pveversion;      // "pve-manager/9.1.1/..."
  std::string kernel_release;  // current-kernel.release
  std::string boot_mode;       // boot-info.mode: efi, legacy-bios
};
core::Result<NodeStatus> parse_node_status(const core::Json& data);

// One entry of GET /nodes/{node}/qemu or /lxc.
struct Guest {
  GuestType type = GuestType::Qemu;
  int64_t vmid = 0;
  std::string name;
  std::string status;  // running, stopped
  double cpu = 0;      // fraction of cpus, 0..1
  double cpus = 0;     // configured CPUs
  uint64_t mem = 0, maxmem = 0;     // bytes
  uint64_t disk = 0, maxdisk = 0;   // bytes
  uint64_t netin = 0, netout = 0;   // bytes
  uint64_t diskread = 0, diskwrite = 0;  // bytes
  uint64_t uptime = 0;              // seconds
  std::vector<std::string> tags;
  bool template_ = false;
  std::string lock;
  // PVE 9 pressure stall information (fraction of time stalled, 0..1) by
  // field name, e.g. "pressurecpusome", "pressurememoryfull".
  std::map<std::string, double> pressure;
};
core::Result<std::vector<Guest>> parse_guests(const core::Json& data, GuestType type);

// GET /nodes/{node}/{qemu|lxc}/{vmid}/config: every key as text.
struct GuestConfig {
  std::map<std::string, std::string> values;

  std::optional<std::string> get(const std::string& key) const;
  std::optional<int64_t> get_int(const std::string& key) const;
  bool get_bool(const std::string& key, bool fallback = false) const;
  // memory in MiB (both qemu and lxc use MiB), 0 when unset.
  int64_t memory_mib() const;
  // cores (lxc: cores; qemu: cores * sockets), 0 when unset.
  int64_t cpus() const;
  // name (qemu) or hostname (lxc).
  std::string name() const;
  std::vector<std::string> tags() const;
  // Keys matching prefix + digits, sorted ("net" -> net0, net1; "mp" -> mp0 ...).
  std::vector<std::string> indexed_keys(const std::string& prefix) const;
  // "key=value,key=value" property strings such as net0 split into a map; a
  // leading value without '=' is stored under `default_key` ("local-lvm:8" of rootfs -> volume).
  static std::map<std::string, std::string> split_property_string(const std::string& text,
                                                                 const std::string& default_key);
};
core::Result<GuestConfig> parse_guest_config(const core::Json& data);

enum class Timeframe { Hour, Day, Week, Month, Year };
enum class Consolidation { Average, Max };
std::string_view to_string(Timeframe timeframe);   // "hour", ...
std::string_view to_string(Consolidation cf);      // "AVERAGE", "MAX"

// One rrddata row: field -> value ("time" in Unix seconds, "cpu", "memused",
// "netin", PVE 9 "pressurecpusome", ...). Missing/NaN samples are omitted.
using RrdRow = std::map<std::string, double>;
core::Result<std::vector<RrdRow>> parse_rrddata(const core::Json& data);

// GET /nodes/{node}/tasks/{upid}/status
struct TaskStatus {
  std::string upid;
  std::string node;
  std::string status;      // running, stopped
  std::string exitstatus;  // "OK", "WARNINGS: n", or the error text; empty while running
  std::string type;        // qmigrate, vzstart, ...
  std::string id;
  std::string user;
  int64_t pid = 0;
  int64_t starttime = 0;  // Unix seconds
  bool running() const { return status == "running"; }
  // Stopped without error (PVE counts "WARNINGS: n" as success too).
  bool succeeded() const;
};
core::Result<TaskStatus> parse_task_status(const core::Json& data);
// GET /cluster/tasks and /nodes/{node}/tasks list entries: a task without an
// "endtime" is running; a finished one's "status" is its exit status.
core::Result<std::vector<TaskStatus>> parse_task_list(const core::Json& data);

struct TaskLogLine {
  int64_t n = 0;  // line number, from 1
  std::string t;  // text
};
core::Result<std::vector<TaskLogLine>> parse_task_log(const core::Json& data);

struct Snapshot {
  std::string name;  // "current" is the running state, not a snapshot
  std::string description;
  std::string parent;
  int64_t snaptime = 0;  // Unix seconds; 0 for "current"
};
core::Result<std::vector<Snapshot>> parse_snapshots(const core::Json& data);

// GET /storage: storage configuration.
struct StorageConfig {
  std::string storage;
  std::string type;  // dir, lvmthin, zfspool, nfs, cifs, rbd, cephfs, pbs, ...
  std::vector<std::string> content;  // images, rootdir, vztmpl, iso, backup, snippets, import
  std::vector<std::string> nodes;    // restricted to these nodes; empty: all
  std::string path;
  bool shared = false;
  bool disable = false;
};
core::Result<std::vector<StorageConfig>> parse_storage_configs(const core::Json& data);

// GET /nodes/{node}/storage: storage status on one node.
struct NodeStorage {
  std::string storage;
  std::string type;
  std::vector<std::string> content;
  bool active = false, enabled = false, shared = false;
  uint64_t total = 0, used = 0, avail = 0;  // bytes
  double used_fraction = 0;
};
core::Result<std::vector<NodeStorage>> parse_node_storages(const core::Json& data);

// GET /nodes/{node}/storage/{storage}/content
struct StorageContent {
  std::string volid;    // "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
  std::string content;  // images, rootdir, vztmpl, iso, backup, ...
  std::string format;   // raw, qcow2, subvol, tzst, iso, ...
  uint64_t size = 0;    // bytes
  uint64_t used = 0;    // bytes actually used
  int64_t vmid = 0;     // owner, 0 when none
  int64_t ctime = 0;    // Unix seconds
  std::string notes;
  std::string parent;
  bool protected_ = false;
};
core::Result<std::vector<StorageContent>> parse_storage_content(const core::Json& data);

// GET /cluster/ha/resources
struct HaResource {
  std::string sid;    // "vm:100", "ct:101"
  std::string type;   // vm, ct
  std::string state;  // started, stopped, enabled, disabled, ignored
  std::string group;  // PVE < 9 HA group
  int64_t max_restart = 0;
  int64_t max_relocate = 0;
  bool failback = true;
  std::string comment;
};
core::Result<std::vector<HaResource>> parse_ha_resources(const core::Json& data);

// GET /cluster/ha/rules (PVE 9).
struct HaRule {
  struct NodePriority {
    std::string node;
    int64_t priority = 0;  // higher is preferred; 0 when not given
  };
  std::string rule;
  std::string type;  // node-affinity, resource-affinity
  std::vector<std::string> resources;  // HA sids
  std::vector<NodePriority> nodes;     // node-affinity
  std::string affinity;                // resource-affinity: positive, negative
  bool strict = false;                 // node-affinity: only these nodes
  bool disable = false;
  std::string comment;
};
core::Result<std::vector<HaRule>> parse_ha_rules(const core::Json& data);

// GET /cluster/ha/status/manager_status (the CRM's view).
struct HaManagerStatus {
  struct Service {
    std::string node;
    std::string state;  // started, migrate, relocate, fence, error, ...
    std::string target;  // during migrate/relocate
  };
  std::string master_node;
  double timestamp = 0;  // Unix seconds
  bool quorate = false;
  std::map<std::string, std::string> node_status;  // node -> online, fence, maintenance, ...
  std::map<std::string, Service> services;         // sid -> service
  core::Json raw;  // the whole answer, for fields not modelled here
};
core::Result<HaManagerStatus> parse_ha_manager_status(const core::Json& data);

// The CRS part of GET /cluster/options (datacenter.cfg `crs`): how PVE's
// HA stack places and, since PVE 9.2, rebalances HA resources by itself.
struct CrsOptions {
  std::string ha = "basic";     // basic | static | dynamic
  bool auto_rebalance = false;  // ha-auto-rebalance: the CRS moves HA guests when the load is uneven
  bool rebalance_on_start = false;
};
core::Result<CrsOptions> parse_crs_options(const core::Json& data);

// POST /cluster/ha/resources/{sid}/migrate (PVE 9 answer).
struct HaMigrateResult {
  std::string sid;
  std::string requested_node;
  struct Blocking {
    std::string sid;
    std::string cause;  // resource-affinity
  };
  std::vector<Blocking> blocking_resources;
  std::vector<std::string> comigrated_resources;
};
core::Result<HaMigrateResult> parse_ha_migrate_result(const core::Json& data);

// GET /pools
struct Pool {
  std::string poolid;
  std::string comment;
  std::vector<ClusterResource> members;  // only when PVE includes them
};
core::Result<std::vector<Pool>> parse_pools(const core::Json& data);

}  // namespace pvekit::pve
