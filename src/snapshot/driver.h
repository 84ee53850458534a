#pragma once

// Storage snapshot drivers: one interface for zfs datasets, btrfs subvolumes
// and Proxmox container snapshots, plus the choice of a driver. CRIU process
// checkpoints are not storage snapshots and live in snapshot/criu.h.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "snapshot/checkpoint_config.h"
#include "core/process.h"
#include "snapshot/retention.h"

namespace pvekit::pve {
class Client;
}

namespace pvekit::snapshot {

// The container a driver works on.
struct Target {
  std::string id;
  std::string rootfs;  // absolute
  std::string pve_node;  // proxmox backend
  int64_t pve_vmid = 0;
};

class Driver {
 public:
  virtual ~Driver() = default;
  virtual DriverKind kind() const = 0;
  // Whether the caller must freeze the container around create() for a
  // consistent snapshot; false when the driver quiesces it itself (pve).
  virtual bool needs_freeze() const = 0;
  // Conflict error when `name` exists already.
  virtual core::Status create(const Target& target, const std::string& name) = 0;
  // Puts the container's storage back to `name`. The caller stops the
  // container first, except for drivers that do it themselves (pve), which
  // also start it again afterwards when `start_after` is set.
  virtual core::Status rollback(const Target& target, const std::string& name, bool start_after) = 0;
  // Oldest first.
  virtual core::Result<std::vector<SnapshotInfo>> list(const Target& target) = 0;
  // NotFound error when `name` does not exist.
  virtual core::Status remove(const Target& target, const std::string& name) = 0;
};

// What file system holds a rootfs.
enum class FsKind { Btrfs, Zfs, Other };
// statfs(2) of `path`; System error when it does not exist.
core::Result<FsKind> detect_fs(const std::string& path);

struct DriverChoice {
  DriverKind configured = DriverKind::Auto;
  bool proxmox_backend = false;  // the container lives in Proxmox (state.backend == "proxmox")
  bool named_snapshot = false;   // --snapshot was given
  FsKind rootfs_fs = FsKind::Other;
};
// The driver to use (never Auto): a configured one if it fits the container,
// else pve for the proxmox backend, the rootfs's file system for a named
// snapshot, criu otherwise (runc's checkpoint). Usage error saying why when
// nothing fits.
core::Result<DriverKind> choose_driver(const DriverChoice& choice);

// Removes what `policy` lets go after `just_taken` was created; the names removed.
core::Result<std::vector<std::string>> apply_retention(Driver& driver, const Target& target,
                                                       const RetentionPolicy& policy, int64_t now,
                                                       const std::string& just_taken);

// Drivers; the runner and client must outlive them.
std::unique_ptr<Driver> make_btrfs_driver(core::CommandRunner& runner, const CheckpointConfig& config);
std::unique_ptr<Driver> make_zfs_driver(core::CommandRunner& runner, const CheckpointConfig& config);
// In pvekit_snapshot_pve (libcurl), which lxcri loads with its proxmox module.
std::unique_ptr<Driver> make_pve_driver(pve::Client& client, const CheckpointConfig& config);

}  // namespace pvekit::snapshot
