#pragma once

// lxcri is one static executable (no ld.so, no shared libraries: the least
// memory and start-up time for the commands podman and containerd run most).
// Its parts that need large shared libraries are helper executables beside
// it, run only by the commands that need them:
//   lxcri-proxmox  lxcri itself with the proxmox backend and the pve snapshot
//                  driver linked in (libcurl); lxcri hands a whole command over
//                  to it (proxmox_helper.h).
//   lxcri-systemd  the systemd cgroup driver's D-Bus client (libsystemd), one
//                  call per run (systemd_helper.h).
// They sit in <libdir>/pvekit/ when installed and at the same place relative
// to lxcri in the build tree, and are found from lxcri's own executable (the
// file it was started from, also after the protective re-exec).

#include <string>

#include "core/error.h"

namespace pvekit::oci {

// Where the helper `file_name` of the lxcri at `executable` is. In a helper
// (executable_is_helper), its siblings are beside it.
std::string helper_path(const std::string& executable, const std::string& file_name);

// Marks this process as one of the helpers; their mains call it first.
void set_executable_is_helper();

// "the WHAT helper PATH could not be run: WHY"
core::Error helper_error(const std::string& path, const std::string& what, const std::string& why);

}  // namespace pvekit::oci
