#pragma once

// What checkpoint and restore share: picking the snapshot driver for a
// container and owning what it needs (a command runner; the pve driver owns
// its API connection).

#include <memory>
#include <string>

#include "core/result.h"
#include "oci/runtime_config.h"
#include "oci/state.h"
#include "snapshot/criu.h"
#include "snapshot/driver.h"

namespace pvekit::oci {

struct SnapshotTools {
  snapshot::DriverKind kind = snapshot::DriverKind::Criu;
  core::ProcessRunner runner;
  std::unique_ptr<snapshot::Driver> driver;  // null for criu
};

// The driver for `state`'s container per checkpoint.driver (see
// snapshot::choose_driver); `named` says whether a storage snapshot was asked
// for (--snapshot, --list, --delete).
core::Result<std::unique_ptr<SnapshotTools>> open_snapshot_tools(const RuntimeConfig& config,
                                                                 const ContainerState& state, bool named);

snapshot::Target snapshot_target(const ContainerState& state);

// Usage error naming the CRIU-only flags set in `o` when `kind` is a storage driver.
core::Status refuse_criu_flags(snapshot::DriverKind kind, const snapshot::CriuOptions& o);

}  // namespace pvekit::oci
