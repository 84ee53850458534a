#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "pve/client.h"
#include "pve/types.h"

// Typed PVE API calls on top of Client. Every function returns the parsed
// answer or the Client's error (with "METHOD /path" context). Functions that
// start a PVE task return its UPID; pass it to wait_task().
namespace pvekit::pve {

// "/nodes/<node>", with the node name encoded.
std::string node_path(const std::string& node);
// "/nodes/<node>/<qemu|lxc>/<vmid>".
std::string guest_path(const std::string& node, GuestType type, int64_t vmid);

// ---- cluster (api_cluster.cpp) -------------------------------------------------

core::Result<Version> get_version(Client& client);
core::Result<ClusterStatus> get_cluster_status(Client& client);

enum class ResourceFilter { All, Vm, Storage, Node, Sdn };
// GET /cluster/resources[?type=vm|storage|node|sdn]
core::Result<std::vector<ClusterResource>> get_cluster_resources(Client& client,
                                                                 ResourceFilter filter = ResourceFilter::All);
// GET /cluster/nextid: the lowest free vmid (>= 100).
core::Result<int64_t> get_next_vmid(Client& client);
core::Result<std::vector<Pool>> get_pools(Client& client);

core::Result<std::vector<HaResource>> get_ha_resources(Client& client);
// GET /cluster/ha/rules; type "" for all, else node-affinity / resource-affinity.
core::Result<std::vector<HaRule>> get_ha_rules(Client& client, const std::string& type = "");
core::Result<HaManagerStatus> get_ha_manager_status(Client& client);
// GET /cluster/options, its `crs` property (needs Sys.Audit on /).
core::Result<CrsOptions> get_crs_options(Client& client);
// POST /cluster/ha/resources/{sid}/migrate: asks the HA manager to move `sid`
// ("vm:100") to `node`. The move itself happens asynchronously.
core::Result<HaMigrateResult> ha_migrate(Client& client, const std::string& sid, const std::string& node);

// ---- nodes and guests (api_nodes.cpp) ---------------------------------------------

core::Result<std::vector<NodeSummary>> get_nodes(Client& client);
core::Result<NodeStatus> get_node_status(Client& client, const std::string& node);
core::Result<std::vector<Guest>> list_guests(Client& client, const std::string& node, GuestType type);
core::Result<GuestConfig> get_guest_config(Client& client, const std::string& node, GuestType type,
                                           int64_t vmid);
// GET /nodes/{node}/{qemu|lxc}/{vmid}/status/current
core::Result<Guest> get_guest_status(Client& client, const std::string& node, GuestType type, int64_t vmid);
core::Result<std::vector<RrdRow>> get_node_rrddata(Client& client, const std::string& node,
                                                   Timeframe timeframe,
                                                   Consolidation cf = Consolidation::Average);
core::Result<std::vector<RrdRow>> get_guest_rrddata(Client& client, const std::string& node,
                                                    GuestType type, int64_t vmid, Timeframe timeframe,
                                                    Consolidation cf = Consolidation::Average);
// GET /nodes/{node}/storage/{storage}/rrddata: rows of "total" and "used".
core::Result<std::vector<RrdRow>> get_storage_rrddata(Client& client, const std::string& node,
                                                      const std::string& storage, Timeframe timeframe,
                                                      Consolidation cf = Consolidation::Average);

// ---- tasks (api_tasks.cpp) -----------------------------------------------------------

// GET /cluster/tasks: the cluster's recent tasks of every node, running ones
// included, newest first.
core::Result<std::vector<TaskStatus>> get_cluster_tasks(Client& client);
// The node is taken from the UPID; Parse error when it is malformed.
core::Result<TaskStatus> get_task_status(Client& client, const std::string& upid);
// Log lines from `start` (0-based), at most `limit`.
core::Result<std::vector<TaskLogLine>> get_task_log(Client& client, const std::string& upid,
                                                    int64_t start = 0, int64_t limit = 500);

struct WaitOptions {
  core::Clock::Duration timeout = std::chrono::minutes(10);  // measured on the client's clock
  core::Clock::Duration poll_interval = std::chrono::seconds(1);
};
// Polls the task until it is stopped. Returns its final status when the
// exitstatus is OK (or WARNINGS); otherwise an Api error whose message is
// PVE's exitstatus text ("migration aborted"). Api error "still running after
// N s" when the timeout passes first. Context: "task <UPID>".
core::Result<TaskStatus> wait_task(Client& client, const std::string& upid, const WaitOptions& options = {});

// ---- guest actions (api_guests.cpp) -------------------------------------------------------

// Options of POST /nodes/{node}/{qemu|lxc}/{vmid}/migrate. Some apply only to
// one guest type; setting one for the other type is a Config error.
struct MigrateOptions {
  std::string target;                  // target node (required)
  bool online = false;                 // qemu: live migration; lxc: leave off (PVE fails the task of a running CT: no live CT migration; use restart)
  bool with_local_disks = false;       // qemu only: "with-local-disks"
  bool with_conntrack_state = false;   // qemu only: "with-conntrack-state" (PVE 9)
  bool restart = false;                // lxc only: restart migration (stop, move, start)
  std::optional<int64_t> timeout;      // lxc only: shutdown timeout for restart mode, seconds
  std::optional<int64_t> bwlimit;      // KiB/s
  std::string targetstorage;           // storage mapping; qemu "targetstorage", lxc "target-storage"
};
core::Result<Params> migrate_params(GuestType type, const MigrateOptions& options);
core::Result<std::string> migrate_guest(Client& client, const std::string& node, GuestType type,
                                        int64_t vmid, const MigrateOptions& options);

// Options of POST /nodes/{node}/lxc (create a container).
struct LxcCreateOptions {
  int64_t vmid = 0;         // required, >= 100 (see get_next_vmid)
  std::string ostemplate;   // volume id, "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst" (required)
  std::string hostname;
  std::string rootfs;       // "local-lvm:8" (8 GiB on local-lvm) or a full property string
  std::string storage;      // default storage
  std::optional<int64_t> memory;  // MiB
  std::optional<int64_t> swap;    // MiB
  std::optional<int64_t> cores;
  std::optional<double> cpulimit;  // CPUs, 0 = unlimited
  std::map<int, std::string> net;  // index -> "name=eth0,bridge=vmbr0,ip=dhcp"
  std::map<int, std::string> mp;   // index -> mount point property string
  std::optional<bool> unprivileged;
  std::optional<bool> onboot;
  bool start = false;              // start after creation
  std::string ostype;
  std::string arch;
  std::string pool;
  std::vector<std::string> tags;
  std::string description;
  std::string features;            // "nesting=1,keyctl=1"
  std::string nameserver;
  std::string searchdomain;
  std::string ssh_public_keys;
  std::string password;            // root password inside the container (secret; never logged)
  std::string entrypoint;          // PVE 9.1 OCI containers: init command
  std::map<std::string, std::string> extra;  // any other PVE parameter, verbatim
};
core::Result<Params> lxc_create_params(const LxcCreateOptions& options);
core::Result<std::string> lxc_create(Client& client, const std::string& node, const LxcCreateOptions& options);
core::Result<std::string> lxc_start(Client& client, const std::string& node, int64_t vmid);
core::Result<std::string> lxc_stop(Client& client, const std::string& node, int64_t vmid);
// Clean shutdown; after `timeout_s` (default PVE's 60) stops hard if force_stop.
core::Result<std::string> lxc_shutdown(Client& client, const std::string& node, int64_t vmid,
                                       std::optional<int64_t> timeout_s = std::nullopt,
                                       bool force_stop = false);
core::Result<std::string> lxc_suspend(Client& client, const std::string& node, int64_t vmid);
core::Result<std::string> lxc_resume(Client& client, const std::string& node, int64_t vmid);
// DELETE; purge also removes it from backup jobs, replication and HA.
core::Result<std::string> lxc_delete(Client& client, const std::string& node, int64_t vmid,
                                     bool purge = false, bool force = false);

core::Result<std::string> lxc_snapshot_create(Client& client, const std::string& node, int64_t vmid,
                                              const std::string& name, const std::string& description = "");
core::Result<std::vector<Snapshot>> lxc_snapshot_list(Client& client, const std::string& node, int64_t vmid);
core::Result<std::string> lxc_snapshot_rollback(Client& client, const std::string& node, int64_t vmid,
                                                const std::string& name, bool start = false);
core::Result<std::string> lxc_snapshot_delete(Client& client, const std::string& node, int64_t vmid,
                                              const std::string& name, bool force = false);

// ---- storage (api_storage.cpp) ---------------------------------------------------------------

// GET /storage[?type=...]: storage configuration of the cluster.
core::Result<std::vector<StorageConfig>> get_storage_configs(Client& client, const std::string& type = "");
// GET /nodes/{node}/storage[?content=...]
core::Result<std::vector<NodeStorage>> get_node_storages(Client& client, const std::string& node,
                                                         const std::string& content = "");
// GET /nodes/{node}/storage/{storage}/content[?content=...][&vmid=...]
core::Result<std::vector<StorageContent>> get_storage_content(Client& client, const std::string& node,
                                                              const std::string& storage,
                                                              const std::string& content = "",
                                                              std::optional<int64_t> vmid = std::nullopt);

struct UploadOptions {
  std::string node;
  std::string storage;
  std::string content = "vztmpl";  // vztmpl, iso, import
  std::string file;                // local path to read
  std::string filename;            // name on the storage; default: the file's base name
  std::string checksum;            // optional, with checksum_algorithm
  std::string checksum_algorithm;  // md5, sha1, sha224, sha256, sha384, sha512
  std::chrono::milliseconds timeout{std::chrono::minutes(30)};
};
// A multipart/form-data body for the upload (exposed for tests).
struct Multipart {
  std::string content_type;  // "multipart/form-data; boundary=..."
  std::string body;
};
Multipart build_upload_body(const UploadOptions& options, const std::string& filename,
                            const std::string& data);
// POST /nodes/{node}/storage/{storage}/upload; returns the UPID of the import task.
// The file is read into memory.
core::Result<std::string> upload_to_storage(Client& client, const UploadOptions& options);
// DELETE /nodes/{node}/storage/{storage}/content/{volume}: returns the UPID of the removal task.
core::Result<std::string> delete_volume(Client& client, const std::string& node, const std::string& volid);

}  // namespace pvekit::pve
