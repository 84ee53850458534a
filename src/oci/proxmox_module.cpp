#include "oci/proxmox_module.h"

#include "oci/linux/selfexec.h"
#include "oci/module.h"
#include "pvekit/version.h"

namespace pvekit::oci {

std::string proxmox_module_path(const std::string& executable) {
  return module_path(executable, "lxcri-proxmox.so");
}

core::Result<const ProxmoxModule*> load_proxmox_module(const std::string& path) {
  return load_module<ProxmoxModule>(path, kProxmoxModuleEntry, "proxmox backend", kVersion);
}

core::Result<const ProxmoxModule*> proxmox_module() {
  static const core::Result<const ProxmoxModule*> loaded = []() -> core::Result<const ProxmoxModule*> {
    PVEKIT_ASSIGN(auto executable, linux::original_executable());
    return load_proxmox_module(proxmox_module_path(executable));
  }();
  return loaded;
}

}  // namespace pvekit::oci
