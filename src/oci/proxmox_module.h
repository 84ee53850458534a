#pragma once

// The proxmox backend and the pve snapshot driver talk to the PVE API through
// libcurl, which brings some 30 shared libraries: they are the module
// lxcri-proxmox.so (module.h).

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/result.h"
#include "oci/backend.h"
#include "oci/runtime_config.h"
#include "oci/state.h"
#include "snapshot/driver.h"

namespace pvekit::oci {

// What the module hands out. Module and lxcri are built from one tree (the
// entry point refuses another version), so C++ types cross the boundary.
struct ProxmoxModule {
  // ProxmoxBackend::connect (src/oci/proxmox/backend.h).
  core::Result<std::unique_ptr<Backend>> (*connect)(const RuntimeConfig& config);
  // The container lxcri created for `id`, found in the cluster; nullopt when there is none.
  core::Result<std::optional<ContainerState>> (*find)(const RuntimeConfig& config, const std::string& id);
  // Every container lxcri created in the cluster except the CTs in `known_vmids`
  // (`list` passes those it has state for: each other CT costs an API call).
  core::Result<std::vector<ContainerState>> (*list_managed)(const RuntimeConfig& config,
                                                            const std::set<int64_t>& known_vmids);
  // The pve snapshot driver with its own API connection (config.proxmox_api).
  core::Result<std::unique_ptr<snapshot::Driver>> (*pve_driver)(const RuntimeConfig& config);
};

// The module's only exported symbol: extern "C" const ProxmoxModule* NAME(const char* version),
// null when `version` is not the module's pvekit version.
inline constexpr const char* kProxmoxModuleEntry = "pvekit_lxcri_proxmox_module";

// Where the module of the lxcri at `executable` is.
std::string proxmox_module_path(const std::string& executable);

// dlopens the module at `path`; "the proxmox backend module PATH could not be
// loaded: WHY" when it is missing or not a matching module.
core::Result<const ProxmoxModule*> load_proxmox_module(const std::string& path);

// The module of this lxcri, loaded on first call and kept for the process.
core::Result<const ProxmoxModule*> proxmox_module();

}  // namespace pvekit::oci
