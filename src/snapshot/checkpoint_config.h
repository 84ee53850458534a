#pragma once

// lxcri's `checkpoint.*` configuration keys. The runtime's layered config
// (src/oci) calls add_checkpoint_keys() on its schema and
// checkpoint_config_from() on the merged result; a default-constructed
// CheckpointConfig equals the built-in defaults.

#include <cstdint>
#include <string>

#include "core/config.h"
#include "core/result.h"
#include "snapshot/retention.h"

namespace pvekit::snapshot {

enum class DriverKind {
  Auto,   // proxmox backend: pve; --snapshot: by the rootfs file system (btrfs, zfs); else criu
  Zfs,
  Btrfs,
  Criu,
  Pve,
};

struct CheckpointConfig {
  DriverKind driver = DriverKind::Auto;
  // Dataset holding a container's rootfs; "{id}" is replaced by the container
  // id. Empty: the dataset that contains the rootfs (`zfs list -H -o name ROOTFS`).
  std::string zfs_dataset;
  // `zfs rollback -r`: rolling back past newer snapshots destroys them.
  // false: such a rollback is refused by zfs, naming the newer snapshots.
  bool zfs_destroy_newer = false;
  // Directory of a container's btrfs snapshots (one read-only subvolume per
  // snapshot, on the rootfs's file system); "{id}" and "{rootfs}" are replaced.
  std::string btrfs_snapshot_dir = "{rootfs}.snapshots";
  std::string zfs_command = "zfs";
  std::string btrfs_command = "btrfs";
  std::string criu_command = "criu";
  // Applied after each storage snapshot to that container's snapshots.
  RetentionPolicy retention;
  // Proxmox tasks (snapshot, rollback, delete) taking longer are errors.
  int64_t pve_task_timeout_s = 600;
};

void add_checkpoint_keys(core::ConfigSchema& schema);
// Config error naming the key when a value cannot be used (e.g. a malformed max_age).
core::Result<CheckpointConfig> checkpoint_config_from(const core::LayeredConfig& config);

std::string to_string(DriverKind kind);
// "auto", "zfs", "btrfs", "criu", "pve"; Config error naming the value otherwise.
core::Result<DriverKind> parse_driver_kind(const std::string& text);

}  // namespace pvekit::snapshot
