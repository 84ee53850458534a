#pragma once

// What a container backend does; the commands in src/oci/commands/ hold the
// backend-independent logic (state checks, locking, hooks, output) and call
// one of these. Implementations: linux (src/oci/linux/); proxmox later.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "oci/options.h"
#include "oci/spec.h"
#include "oci/state.h"

namespace pvekit::oci {

struct CreateRequest {
  std::string id;
  std::string bundle;     // absolute
  std::string rootfs;     // absolute
  std::string state_dir;  // <root>/<id>, exists and is locked
  Spec spec;
  CreateOptions options;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;

  // Sets up the container up to the point where only the user process's
  // execve is left, and returns its state (status Created, pid set). On
  // failure nothing is left behind: no process, no cgroup.
  virtual core::Result<ContainerState> create(const CreateRequest& request) = 0;
  // Lets the created container exec its process.
  virtual core::Status start(const ContainerState& state, const std::string& state_dir) = 0;
  virtual bool alive(const ContainerState& state) = 0;
  virtual core::Status kill(const ContainerState& state, int signal, bool all) = 0;
  // Kills whatever still runs and releases resources (cgroups). Idempotent.
  virtual core::Status destroy(const ContainerState& state) = 0;
  virtual core::Status pause(const ContainerState& state) = 0;
  virtual core::Status resume(const ContainerState& state) = 0;
  virtual core::Result<std::vector<pid_t>> pids(const ContainerState& state) = 0;
};

// The backend a stored container uses (state.backend); only "linux" exists so far.
core::Result<std::unique_ptr<Backend>> make_backend(const std::string& name, const GlobalOptions& global);

}  // namespace pvekit::oci
