#pragma once

#include <string>
#include <vector>

#include "balance/config.h"
#include "balance/model.h"
#include "core/result.h"
#include "pve/client.h"
#include "pve/types.h"

namespace pvekit::balance {

// What the reader learned about the cluster besides the planning model.
struct ClusterSnapshot {
  ClusterState state;
  std::string cluster_name;  // empty for a standalone node
  bool quorate = true;
  std::string pve_version;   // "9.1.1"
  // Guests whose config could not be read (e.g. their node went away while
  // reading); they are left out of `state` and listed here with the reason.
  std::vector<std::string> warnings;
};

// Reads a ClusterSnapshot through the PVE API:
//   /version, /cluster/status (quorum), /cluster/resources (nodes, guests,
//   storages), /cluster/tasks and the logs of running migration tasks
//   (Guest::migration), guest configs (local disk sizes), /cluster/ha/resources and
//   /cluster/ha/rules, /pools, and rrddata when the config asks for history
//   (balancing.history) or pressure (mode psi).
// Applies the config's maintenance/ignored nodes and reserves
// (apply_cluster_config). Node status and guest configs are read with
// `parallel_requests` concurrent requests. Fails when the cluster listing
// itself cannot be read; a node whose status fails is treated as offline and
// a guest whose details fail is left out, each with a warning.
core::Result<ClusterSnapshot> read_snapshot(pve::Client& client, const BalanceConfig& config,
                                            int parallel_requests = 4);

// Pure parts of the reader, exposed for tests.

// Sum of the sizes of a guest's disks that live on node-local storages
// (`shared_storages` lists the shared ones). Disk keys: qemu scsiN, virtioN,
// sataN, ideN, efidisk0, tpmstate0; lxc rootfs and mpN. CD-ROMs, "none" and
// pass-through devices (/dev/...) do not count. Bytes.
uint64_t local_disk_bytes(const std::map<std::string, std::string>& config,
                          const std::vector<std::string>& shared_storages);

// The target node a migration task's log names ("starting migration of VM
// 104 to node 'pve3' (10.0.0.3)", as qemu-server and pve-container log it);
// empty when no line does.
std::string migration_target(const std::vector<pve::TaskLogLine>& log);

// The `percentile` (1..100, nearest-rank) of `values`; 0 when empty.
double percentile(std::vector<double> values, int percentile);

}  // namespace pvekit::balance
