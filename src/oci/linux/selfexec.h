#pragma once

// CVE-2019-5736 class defence: a container process must never be able to
// reach the runtime's own binary through /proc/<pid>/exe and overwrite it.
// Before create/run/exec, lxcri re-executes itself from a sealed memfd copy,
// so /proc/self/exe points at an anonymous, immutable file.

#include "core/result.h"

namespace pvekit::oci::linux {

// The environment variable that marks the re-executed copy (loop guard).
inline constexpr const char* kSelfExecGuard = "_LXCRI_MEMFD_CLONED";

// True when /proc/self/exe is a sealed memfd (F_SEAL_WRITE and F_SEAL_SEAL set).
bool running_from_sealed_memfd();

// Copies /proc/self/exe into a memfd, seals it and fexecve()s it with the
// same argv and environment plus the guard variable. Returns only on failure.
// Does nothing (returns ok) when the guard is already set; it is removed from
// the environment then, so it never reaches hooks or containers.
core::Status reexec_from_sealed_memfd(char** argv);

}  // namespace pvekit::oci::linux
