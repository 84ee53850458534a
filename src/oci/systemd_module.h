#pragma once

// The systemd cgroup driver's D-Bus client, sd-bus from libsystemd, is the
// module lxcri-systemd.so (module.h): loaded by the commands that talk to
// systemd, never by those that only read or write cgroup files.

#include <memory>

#include "core/result.h"
#include "oci/linux/systemd_cgroup.h"

namespace pvekit::oci {

struct SystemdModule {
  // A connection to systemd: its private socket when we are root, else the
  // system bus. Fails, saying so, where systemd is not the host's init.
  core::Result<std::unique_ptr<linux::SystemdBus>> (*connect)();
};

// extern "C" const SystemdModule* NAME(const char* version)
inline constexpr const char* kSystemdModuleEntry = "pvekit_lxcri_systemd_module";

// Connects through this lxcri's module, loading it on first use.
core::Result<std::unique_ptr<linux::SystemdBus>> connect_systemd();

}  // namespace pvekit::oci
