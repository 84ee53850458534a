#pragma once

// The container's init stage: runs in the cloned child (already inside the
// new namespaces), sets up the container in order, reports to the parent
// over the sync socket, waits on the exec fifo and execs the user process.

#include <string>
#include <utility>
#include <vector>

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
};

// Never returns: execs the user process or _exits non-zero after sending
// the error to the parent.
[[noreturn]] void run_init(const InitConfig& config);

}  // namespace pvekit::oci::linux
