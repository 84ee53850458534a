#include "oci/checkpoint_support.h"

#include "core/strings.h"
#include "oci/proxmox_helper.h"

namespace pvekit::oci {

using core::Error;
using core::ErrorCategory;

snapshot::Target snapshot_target(const ContainerState& s) {
  return {.id = s.id, .rootfs = s.rootfs, .pve_node = s.pve_node, .pve_vmid = s.pve_vmid};
}

core::Result<std::unique_ptr<SnapshotTools>> open_snapshot_tools(const RuntimeConfig& config,
                                                                 const ContainerState& state, bool named) {
  snapshot::DriverChoice choice{.configured = config.checkpoint.driver,
                                .proxmox_backend = state.backend == "proxmox",
                                .named_snapshot = named};
  if (!choice.proxmox_backend && named && choice.configured == snapshot::DriverKind::Auto) {
    PVEKIT_ASSIGN(choice.rootfs_fs, snapshot::detect_fs(state.rootfs));
  }
  auto tools = std::make_unique<SnapshotTools>();
  PVEKIT_ASSIGN(tools->kind, snapshot::choose_driver(choice));
  switch (tools->kind) {
    case snapshot::DriverKind::Btrfs:
      tools->driver = snapshot::make_btrfs_driver(tools->runner, config.checkpoint);
      break;
    case snapshot::DriverKind::Zfs:
      tools->driver = snapshot::make_zfs_driver(tools->runner, config.checkpoint);
      break;
    case snapshot::DriverKind::Pve: {
      PVEKIT_ASSIGN(auto proxmox, proxmox_functions());
      PVEKIT_ASSIGN(tools->driver, proxmox->pve_driver(config));
      break;
    }
    case snapshot::DriverKind::Criu:
    case snapshot::DriverKind::Auto:
      break;
  }
  return tools;
}

core::Status refuse_criu_flags(snapshot::DriverKind kind, const snapshot::CriuOptions& o) {
  if (kind == snapshot::DriverKind::Criu) return core::ok();
  auto flags = snapshot::criu_only_flags(o);
  if (flags.empty()) return core::ok();
  return Error(ErrorCategory::Usage, core::join(flags, ", ") + ": CRIU options, but the " +
                                         snapshot::to_string(kind) +
                                         " driver takes storage snapshots and cannot honour them");
}

}  // namespace pvekit::oci
