#pragma once

// CVE-2019-5736 class defence: a container process must never be able to
// reach the runtime's own binary through /proc/<pid>/exe and overwrite it.
// Before create/run/exec, lxcri makes sure /proc/self/exe cannot be written
// through, re-executing itself if needed:
//   1. from a private, detached, read-only bind mount of its binary
//      (open_tree + mount_setattr): nothing is copied, so the cost does not
//      grow with the binary; the mount is in no namespace, so nothing can
//      remount it writable (runc 1.2 seals with a mount too);
//   2. where mounts cannot be made (no CAP_SYS_ADMIN), from a sealed memfd copy.
// The decision looks only at what /proc/self/exe is: no environment variable
// or argument can switch the protection off.

#include <string>

#include "core/result.h"
#include "oci/fd.h"

namespace pvekit::oci::linux {

// Carries the path lxcri was started from over the re-exec (for
// original_executable); trusted only in a protected copy.
inline constexpr const char* kOriginalExeEnv = "_LXCRI_ORIGINAL_EXE";

// How /proc/self/exe is protected right now.
enum class ExeProtection {
  None,
  ReadonlyMount,  // on a read-only mount (ours, or the binary was installed on one)
  SealedMemfd,    // a memfd with F_SEAL_WRITE and F_SEAL_SEAL
};
ExeProtection exe_protection();

// Which protected copy to make; Auto tries the mount first.
enum class SealMethod { Auto, ReadonlyMount, Memfd };

// A descriptor of a protected copy of /proc/self/exe that execveat can run:
// the read-only mount's root, or the sealed memfd.
core::Result<UniqueFd> protected_copy_of_self(SealMethod method);

// Returns at once when /proc/self/exe is protected already; otherwise
// re-executes lxcri with the same argv and environment from a protected copy
// and returns only on failure.
core::Status ensure_protected_exe(char** argv, SealMethod method = SealMethod::Auto);

// The executable lxcri was started from: in a protected copy, the path
// carried over the re-exec; otherwise /proc/self/exe.
core::Result<std::string> original_executable();

}  // namespace pvekit::oci::linux
