#include "snapshot/checkpoint_config.h"

namespace pvekit::snapshot {

using core::ValueType;

void add_checkpoint_keys(core::ConfigSchema& s) {
  s.add({.path = "checkpoint.driver", .default_value = "auto",
         .help = "snapshot driver: auto (proxmox backend: pve; --snapshot: by the rootfs file system; else criu)",
         .choices = {"auto", "zfs", "btrfs", "criu", "pve"}});
  s.add({.path = "checkpoint.zfs.dataset", .default_value = "",
         .help = "dataset of a container's rootfs, {id} is the container id; empty: the dataset holding the rootfs"});
  s.add({.path = "checkpoint.zfs.destroy_newer", .type = ValueType::Boolean, .default_value = false,
         .help = "let a rollback destroy snapshots newer than its target (zfs rollback -r)"});
  s.add({.path = "checkpoint.zfs.command", .default_value = "zfs", .help = "zfs(8) program"});
  s.add({.path = "checkpoint.btrfs.snapshot_dir", .default_value = "{rootfs}.snapshots",
         .help = "directory of a container's btrfs snapshots on the rootfs's file system; {id}, {rootfs}"});
  s.add({.path = "checkpoint.btrfs.command", .default_value = "btrfs", .help = "btrfs(8) program"});
  s.add({.path = "checkpoint.criu.command", .default_value = "criu", .help = "criu(8) program"});
  s.add({.path = "checkpoint.retention.max_snapshots", .type = ValueType::Integer, .default_value = 0,
         .help = "snapshots kept per container after a checkpoint, newest first; 0: all", .min = 0, .max = 100000});
  s.add({.path = "checkpoint.retention.max_age", .default_value = "",
         .help = "snapshots older than this are removed after a checkpoint (30m, 12h, 7d, 2w); empty: no limit"});
  s.add({.path = "checkpoint.pve.task_timeout", .type = ValueType::Integer, .default_value = 600,
         .help = "seconds to wait for a Proxmox snapshot, rollback or delete task", .min = 1, .max = 86400});
}

core::Result<CheckpointConfig> checkpoint_config_from(const core::LayeredConfig& c) {
  CheckpointConfig out;
  PVEKIT_ASSIGN(out.driver, parse_driver_kind(c.get_string("checkpoint.driver")));
  out.zfs_dataset = c.get_string("checkpoint.zfs.dataset");
  out.zfs_destroy_newer = c.get_bool("checkpoint.zfs.destroy_newer");
  out.zfs_command = c.get_string("checkpoint.zfs.command");
  out.btrfs_snapshot_dir = c.get_string("checkpoint.btrfs.snapshot_dir");
  out.btrfs_command = c.get_string("checkpoint.btrfs.command");
  out.criu_command = c.get_string("checkpoint.criu.command");
  out.retention.max_snapshots = c.get_int("checkpoint.retention.max_snapshots");
  const std::string age = c.get_string("checkpoint.retention.max_age");
  if (!age.empty()) {
    auto seconds = parse_age(age);
    if (!seconds)
      return core::Error(core::ErrorCategory::Config, "checkpoint.retention.max_age: expected an age like 90, "
                                                      "30m, 12h, 7d or 2w, got \"" + age + "\" (from " +
                                                          c.source_of("checkpoint.retention.max_age") + ")");
    out.retention.max_age_s = *seconds;
  }
  out.pve_task_timeout_s = c.get_int("checkpoint.pve.task_timeout");
  return out;
}

std::string to_string(DriverKind kind) {
  switch (kind) {
    case DriverKind::Auto: return "auto";
    case DriverKind::Zfs: return "zfs";
    case DriverKind::Btrfs: return "btrfs";
    case DriverKind::Criu: return "criu";
    case DriverKind::Pve: return "pve";
  }
  return "auto";
}

core::Result<DriverKind> parse_driver_kind(const std::string& text) {
  for (DriverKind k : {DriverKind::Auto, DriverKind::Zfs, DriverKind::Btrfs, DriverKind::Criu, DriverKind::Pve})
    if (to_string(k) == text) return k;
  return core::Error(core::ErrorCategory::Config,
                     "checkpoint.driver: expected auto, zfs, btrfs, criu or pve, got \"" + text + "\"");
}

}  // namespace pvekit::snapshot
