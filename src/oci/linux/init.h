#pragma once

// The container's init stage: runs in the cloned child (already inside the
// new namespaces), sets up the container in order, reports to the parent
// over the sync socket, waits on the exec fifo and execs the user process.

#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "oci/linux/seccomp.h"
#include "oci/linux/lsm.h"
#include "oci/spec.h"

namespace pvekit::oci::linux {

struct InitConfig {
  const Spec* spec = nullptr;
  std::string id;
  std::string bundle;
  std::string rootfs;
  int sync_fd = -1;
  int fifo_fd = -1;  // O_PATH descriptor of <state dir>/exec.fifo
  bool no_pivot = false;
  bool no_new_keyring = false;
  bool new_user_namespace = false;
  int preserve_fds = 0;
  std::vector<std::pair<std::string, std::string>> cgroup_binds;
  int console_fd = -1;  // process.terminal: where the pty master goes
  LsmSupport lsm;       // what exec labels and the mount label can be applied
};

// What the setup leaves for the last steps before execve.
struct PreparedProcess {
  std::string executable;
  std::vector<std::string> env;
  std::optional<SeccompFilter> seccomp;
};

// Never returns: execs the user process or _exits non-zero after sending
// the error to the parent.
[[noreturn]] void run_init(const InitConfig& config);

// Shared with exec (inside the container, after the namespaces and root are
// entered): seccomp compiled (and loaded early without no_new_privs), then
// rlimits, umask, no_new_privs, bounding set, user, capabilities, cwd check
// and the executable's path; a filter with SCMP_ACT_NOTIFY is loaded by now
// and its listener sent over `sync_fd` (SyncType::Seccomp).
core::Status prepare_process(const Spec& spec, PreparedProcess& out, int sync_fd, const LsmSupport& lsm);
// Loads the remaining seccomp filter and execs; returns only the failure.
core::Error exec_process(const Process& process, PreparedProcess& prepared);
// Unblocks every signal and restores default dispositions.
void reset_signals();

}  // namespace pvekit::oci::linux
