#pragma once

// Seccomp filters from linux.seccomp via libseccomp. Build the filter early
// (so errors reach the parent) and load it last, just before execve.

#include <memory>

#include "core/result.h"
#include "oci/spec.h"

namespace pvekit::oci::linux {

class SeccompFilter {
 public:
  SeccompFilter(const SeccompFilter&) = delete;
  SeccompFilter& operator=(const SeccompFilter&) = delete;
  SeccompFilter(SeccompFilter&&) noexcept;
  SeccompFilter& operator=(SeccompFilter&&) noexcept;
  ~SeccompFilter();

  // Compiles `spec` into a filter (not loaded). Unknown syscall names are
  // skipped (they may not exist on this architecture), as runc does.
  static core::Result<SeccompFilter> build(const Seccomp& spec);
  core::Status load();

 private:
  explicit SeccompFilter(void* ctx) : ctx_(ctx) {}
  void* ctx_ = nullptr;
};

// SCMP_ACT_* name to libseccomp action value; errno_ret for SCMP_ACT_ERRNO/TRACE (default EPERM).
core::Result<uint32_t> seccomp_action(const std::string& name, std::optional<uint32_t> errno_ret);

}  // namespace pvekit::oci::linux
