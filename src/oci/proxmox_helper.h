#pragma once

// The proxmox backend and the pve snapshot driver talk to the PVE API through
// libcurl, which brings some 30 shared libraries. They are not in lxcri (a
// static executable, helper.h) but in the helper lxcri-proxmox: lxcri itself,
// dynamically linked, with them linked in.
//
// The protocol is the command line. When a command first needs them (a
// container routed to or recorded with the proxmox backend, a lost container
// looked for in the cluster, the pve snapshot driver), lxcri has changed
// nothing yet (no state directory, no lock held across exec: its lock fds are
// close-on-exec, nothing printed) and execs the helper with its own argv and
// environment. The helper runs the whole command again, so output, errors and
// exit codes are lxcri's. Nothing is added to argv: API tokens stay in the
// config file and token files both read.

#include <cstdint>
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

// What the helper links in.
struct ProxmoxFunctions {
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

// Where the helper of the lxcri at `executable` is.
std::string proxmox_helper_path(const std::string& executable);

// The helper's main: from now on proxmox_functions() returns `functions`.
void link_proxmox_functions(const ProxmoxFunctions& functions);

// The command line a hand-over re-runs (lxcri_main records it).
void set_command_line(char** argv);

// The linked functions in the helper. In lxcri, hands the command over to
// the helper and returns only when it cannot: "the proxmox backend helper
// PATH could not be run: WHY".
core::Result<const ProxmoxFunctions*> proxmox_functions();

}  // namespace pvekit::oci
