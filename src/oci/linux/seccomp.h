#pragma once

// Seccomp filters from linux.seccomp via libseccomp. Build the filter early
// (so errors reach the parent) and load it last, just before execve; a filter
// with SCMP_ACT_NOTIFY is loaded before the container reports ready, and its
// listener goes to the runtime and on to the agent at listenerPath (runc).

#include <sys/types.h>

#include <memory>

#include "core/json.h"
#include "core/result.h"
#include "oci/fd.h"
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
  // Whether an action is SCMP_ACT_NOTIFY (libseccomp then asks for a listener).
  bool notifies() const { return notify_; }
  // Loads the filter; returns the notify listener, empty without SCMP_ACT_NOTIFY.
  core::Result<UniqueFd> load();

 private:
  SeccompFilter(void* ctx, bool notify) : ctx_(ctx), notify_(notify) {}
  void* ctx_ = nullptr;
  bool notify_ = false;
};

// SCMP_ACT_* name to libseccomp action value; errno_ret for SCMP_ACT_ERRNO/TRACE (default EPERM).
core::Result<uint32_t> seccomp_action(const std::string& name, std::optional<uint32_t> errno_ret);

// The containerProcessState (runtime-spec runtime.md) for process `pid` of
// the container whose OCI state is `state`: ociVersion, fds ["seccompFd"],
// pid, metadata (listenerMetadata, left out when empty), state.
nlohmann::ordered_json container_process_state(const nlohmann::ordered_json& state, pid_t pid,
                                               const std::string& metadata);

// Connects to spec.listener_path and sends container_process_state with the
// listener in one message (SCM_RIGHTS), as runc's sendContainerProcessState.
core::Status send_to_seccomp_agent(const Seccomp& spec, const nlohmann::ordered_json& state, pid_t pid, int listener);

}  // namespace pvekit::oci::linux
