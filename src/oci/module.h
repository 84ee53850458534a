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

#include <string>

#include "core/result.h"

namespace pvekit::oci {

// Where the module `file_name` of the lxcri at `executable` is.
std::string module_path(const std::string& executable, const std::string& file_name);

// dlopens `path` and returns its `entry` symbol, an extern "C" function
// const Module* (const char* version); errors read "the WHAT module PATH could
// not be loaded: WHY".
core::Result<void*> find_module_entry(const std::string& path, const char* entry, const std::string& what);
core::Error module_error(const std::string& path, const std::string& what, const std::string& why);

// The module's table, null-checked against this pvekit version.
template <typename Module>
core::Result<const Module*> load_module(const std::string& path, const char* entry, const std::string& what,
                                        const char* version) {
  PVEKIT_ASSIGN(void* symbol, find_module_entry(path, entry, what));
  const Module* module = reinterpret_cast<const Module* (*)(const char*)>(symbol)(version);
  if (module == nullptr)
    return module_error(path, what, std::string("built for another pvekit version than lxcri ") + version);
  return module;
}

}  // namespace pvekit::oci
