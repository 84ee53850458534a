#include "oci/proxmox_module.h"

#include <dlfcn.h>

#include <filesystem>

#include "oci/linux/selfexec.h"
#include "pvekit/version.h"

namespace pvekit::oci {

using core::Error;
using core::ErrorCategory;

std::string proxmox_module_path(const std::string& executable) {
  // PVEKIT_LXCRI_PROXMOX_MODULE: the install path relative to the install's bindir (CMake).
  return (std::filesystem::path(executable).parent_path() / PVEKIT_LXCRI_PROXMOX_MODULE).lexically_normal().string();
}

core::Result<const ProxmoxModule*> load_proxmox_module(const std::string& path) {
  auto failed = [&](const std::string& why) {
    return Error(ErrorCategory::Runtime, "the proxmox backend module " + path + " could not be loaded: " + why);
  };
  // Never closed: backends and drivers it made live until exit.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return failed(::dlerror());
  auto entry = reinterpret_cast<ProxmoxModuleEntry>(::dlsym(handle, kProxmoxModuleEntry));
  if (entry == nullptr) return failed(std::string("not an lxcri proxmox module (") + ::dlerror() + ")");
  const ProxmoxModule* module = entry(kVersion);
  if (module == nullptr) return failed(std::string("built for another pvekit version than lxcri ") + kVersion);
  return module;
}

core::Result<const ProxmoxModule*> proxmox_module() {
  static const core::Result<const ProxmoxModule*> loaded = []() -> core::Result<const ProxmoxModule*> {
    PVEKIT_ASSIGN(auto executable, linux::original_executable());
    return load_proxmox_module(proxmox_module_path(executable));
  }();
  return loaded;
}

}  // namespace pvekit::oci
