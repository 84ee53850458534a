#pragma once

// CVE-2019-5736 class defence: a container process must never be able to
// reach the runtime's own binary through /proc/<pid>/exe and overwrite it.
// Before create/run/exec, lxcri re-executes itself from a sealed memfd copy,
// so /proc/self/exe points at an anonymous, immutable file.

#include <string>

#include "core/result.h"

namespace pvekit::oci::linux {

// The environment variable that marks the re-executed copy (loop guard); its
// value is the path of the executable lxcri was started from.
inline constexpr const char* kSelfExecGuard = "_LXCRI_MEMFD_CLONED";

// True when /proc/self/exe is a sealed memfd (F_SEAL_WRITE and F_SEAL_SEAL set).
bool running_from_sealed_memfd();

// Copies /proc/self/exe into a memfd, seals it and fexecve()s it with the
// same argv and environment plus the guard variable. Returns only on failure.
// Does nothing (returns ok) when the guard is already set; it is removed from
// the environment then, so it never reaches hooks or containers.
core::Status reexec_from_sealed_memfd(char** argv);

// The executable lxcri was started from: in the sealed copy, the path the
// guard carried over the re-exec; otherwise /proc/self/exe.
core::Result<std::string> original_executable();

}  // namespace pvekit::oci::linux
