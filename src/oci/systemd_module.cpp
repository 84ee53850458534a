#include "oci/systemd_module.h"

#include "oci/linux/selfexec.h"
#include "oci/module.h"
#include "pvekit/version.h"

namespace pvekit::oci {

core::Result<std::unique_ptr<linux::SystemdBus>> connect_systemd() {
  static const core::Result<const SystemdModule*> loaded = []() -> core::Result<const SystemdModule*> {
    PVEKIT_ASSIGN(auto executable, linux::original_executable());
    return load_module<SystemdModule>(module_path(executable, "lxcri-systemd.so"), kSystemdModuleEntry,
                                      "systemd cgroup driver", kVersion);
  }();
  PVEKIT_ASSIGN(const SystemdModule* module, loaded);
  return module->connect();
}

}  // namespace pvekit::oci
