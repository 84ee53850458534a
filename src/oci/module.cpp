#include "oci/module.h"

#include <dlfcn.h>

#include <filesystem>

namespace pvekit::oci {

std::string module_path(const std::string& executable, const std::string& file_name) {
  // PVEKIT_LXCRI_MODULE_DIR: the install's module directory relative to its bindir (CMake).
  return (std::filesystem::path(executable).parent_path() / PVEKIT_LXCRI_MODULE_DIR / file_name)
      .lexically_normal()
      .string();
}

core::Error module_error(const std::string& path, const std::string& what, const std::string& why) {
  return core::Error(core::ErrorCategory::Runtime, "the " + what + " module " + path + " could not be loaded: " + why);
}

core::Result<void*> find_module_entry(const std::string& path, const char* entry, const std::string& what) {
  // Never closed: what a module made lives until exit.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return module_error(path, what, ::dlerror());
  void* symbol = ::dlsym(handle, entry);
  if (symbol == nullptr) return module_error(path, what, "not an lxcri " + what + " module (" + ::dlerror() + ")");
  return symbol;
}

}  // namespace pvekit::oci
