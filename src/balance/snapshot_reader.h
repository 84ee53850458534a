#pragma once

#include <map>
#include <string>
#include <vector>

#include "balance/capacity.h"  // percentile()
#include "balance/config.h"
#include "balance/model.h"
#include "balance/privileges.h"
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

// Guest configs kept between the daemon's rounds, so that a round reads
// only the configs that may have changed. PVE's resource list carries no
// config digest, so a guest's entry is keyed by the fields of
// /cluster/resources that a config change or a migration moves (node, disk
// size, memory, cores, template flag, lock, tags); a guest whose key changed,
// or that is new, is read again. Changes invisible there (a disk moved to
// another storage of the same size) are caught by reading, each round, the
// `refresh_per_round` entries read longest ago, and comparing digests.
class GuestConfigCache {
 public:
  explicit GuestConfigCache(size_t refresh_per_round = 16) : refresh_per_round_(refresh_per_round) {}

  // Config reads of the last round, and how many of those found a changed digest.
  size_t reads() const { return reads_; }
  size_t digest_changes() const { return digest_changes_; }

 private:
  friend void read_guest_details(pve::Client&, const BalanceConfig&, const std::vector<std::string>&, int,
                                 GuestConfigCache*, struct ClusterSnapshot&);
  struct Entry {
    std::string key;
    std::string digest;
    uint64_t local_disk_bytes = 0;
    uint64_t read_in_round = 0;
  };
  size_t refresh_per_round_;
  std::map<uint32_t, Entry> entries_;
  uint64_t round_ = 0;
  size_t reads_ = 0;
  size_t digest_changes_ = 0;
};

// /nodes/{n}/status between the daemon's rounds, in rotation. What the
// planner takes from a node (memory total and used, CPU count and use) is
// in /cluster/resources already: the figures pvestatd publishes every 10 s,
// fresh enough for a plan. What only the node's own status adds is that the
// node answers its API (one that does not is no migration target). So a
// round asks the nodes that are new to it or came back online, plus the
// `per_round` online nodes asked longest ago: every node is asked at least
// every ceil(nodes / per_round) rounds, and a node that did not answer is
// asked again next round. The nodes asked take their figures from their
// status; the others keep those of /cluster/resources.
class NodeStatusRotation {
 public:
  explicit NodeStatusRotation(size_t per_round = 8) : per_round_(per_round < 1 ? 1 : per_round) {}

  // The nodes of `online` to ask this round (starts the round; pure).
  std::vector<std::string> due(const std::vector<std::string>& online);
  // A node answered (asked again only in its turn) or did not (asked again
  // next round).
  void answered(const std::string& node, bool ok);
  size_t reads() const { return reads_; }  // asked in the last round

 private:
  size_t per_round_;
  std::map<std::string, uint64_t> asked_in_round_;  // nodes that answered, by round
  uint64_t round_ = 0;
  size_t reads_ = 0;
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
// With a `cache`, guest configs come from it where they cannot have changed
// (see GuestConfigCache); with a `rotation`, only the node statuses it picks
// are read (see NodeStatusRotation), else every online node's.
core::Result<ClusterSnapshot> read_snapshot(pve::Client& client, const BalanceConfig& config,
                                            int parallel_requests = 4, GuestConfigCache* cache = nullptr,
                                            NodeStatusRotation* rotation = nullptr);

// GET /access/permissions (the caller's privileges; for a privilege-separated
// token its own) checked by require_privileges(). Once per command run, at
// the daemon's start and on SIGHUP, not every round: privileges rarely change
// and a round's requests are counted (bench/proxlb/daemon_requests.py).
core::Status check_privileges(pve::Client& client, PrivilegeUse use);

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

}  // namespace pvekit::balance
