#pragma once

// lxcri's parts that need large shared libraries (libcurl for the proxmox
// backend, libsystemd for the systemd cgroup driver) are modules it dlopens
// on first use, so that the commands podman and containerd run most (state,
// start, kill, delete of cgroupfs containers) do not load them.
//
// A module sits in <libdir>/pvekit/ when installed and at the same place
// relative to lxcri in the build tree, and is found from lxcri's own
// executable (the file it was started from, also after the protective
// re-exec). Module and lxcri come from one tree: the entry point refuses
// another version, so C++ types cross the boundary.
//
// Each carries its own hidden copy of the C++ runtime, spdlog and pvekit's
// libraries (apps/lxcri/CMakeLists.txt). What crosses must therefore not rely
// on one copy: no exceptions, no RTTI across the boundary (values, function
// tables and virtual calls are fine, and memory comes from the one libc), and
// the module logs through lxcri's logger, which the entry point receives.

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "core/result.h"

namespace pvekit::oci {

// Where the module `file_name` of the lxcri at `executable` is.
std::string module_path(const std::string& executable, const std::string& file_name);

// The signature of a module's entry point: its table when `version` is the
// module's pvekit version, else null. The module logs to `logger` from then on.
template <typename Module>
using ModuleEntry = const Module* (*)(const char* version, const std::shared_ptr<spdlog::logger>* logger);

// A module's side of the entry point: adopts lxcri's logger and returns
// `module` when the versions match.
template <typename Module>
const Module* enter_module(const Module& module, const char* own_version, const char* version,
                           const std::shared_ptr<spdlog::logger>* logger) {
  if (std::string_view(version) != own_version) return nullptr;
  if (logger != nullptr && *logger) spdlog::set_default_logger(*logger);
  return &module;
}

// dlopens `path` and returns its `entry` symbol, a ModuleEntry; errors read
// "the WHAT module PATH could not be loaded: WHY".
core::Result<void*> find_module_entry(const std::string& path, const char* entry, const std::string& what);
core::Error module_error(const std::string& path, const std::string& what, const std::string& why);

// The module's table, null-checked against this pvekit version.
template <typename Module>
core::Result<const Module*> load_module(const std::string& path, const char* entry, const std::string& what,
                                        const char* version) {
  PVEKIT_ASSIGN(void* symbol, find_module_entry(path, entry, what));
  const std::shared_ptr<spdlog::logger> logger = spdlog::default_logger();
  const Module* module = reinterpret_cast<ModuleEntry<Module>>(symbol)(version, &logger);
  if (module == nullptr)
    return module_error(path, what, std::string("built for another pvekit version than lxcri ") + version);
  return module;
}

}  // namespace pvekit::oci
