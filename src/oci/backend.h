#pragma once

// What a container backend does; the commands in src/oci/commands/ hold the
// backend-independent logic (state checks, locking, hooks, output) and call
// one of these. Implementations: linux (src/oci/linux/), proxmox (src/oci/proxmox/).

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
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
  // process.terminal: a connected AF_UNIX socket that receives the pty master
  // (--console-socket, or run's own pair in the foreground); -1 otherwise.
  int console_fd = -1;
  // Saves the state as far as it is known (cgroup, then init pid), so that a
  // create killed half-way leaves what it made visible to `list` and
  // removable by `delete --force`.
  std::function<core::Status(const ContainerState&)> record_progress;
};

// A process to start inside a running container (`exec`).
struct ExecRequest {
  Spec spec;  // the container's stored spec with `process` replaced by the one to run
  int console_fd = -1;  // as CreateRequest::console_fd, for process.terminal
  int preserve_fds = 0;
  // exec --cgroup: controller ("" for all) -> existing path below the
  // container's cgroup to start the process in; empty: the container's cgroup.
  std::map<std::string, std::string> sub_cgroups;
};

// New resource limits for a running container (`update`); only the fields set change.
struct ResourceUpdate {
  Resources resources;
};

// Reports OOM kills in a container as they happen (`events`), instead of at
// the next stats interval.
class OomWatch {
 public:
  struct Seen {
    uint64_t oom_kills = 0;  // kernel OOM kills in the container since the last wait
    bool emptied = false;    // no process is left in the container's cgroup (or it is gone)
  };
  virtual ~OomWatch() = default;
  // Waits up to `timeout`, returning early when the kernel notifies a change.
  virtual core::Result<Seen> wait(std::chrono::milliseconds timeout) = 0;
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
  // The live status from the stored one; backends that ask a remote side
  // (proxmox) override it to report failures instead of guessing.
  virtual core::Result<ContainerStatus> live_status(const ContainerState& state, bool exec_fifo_exists) {
    return derive_status(state.status, alive(state), exec_fifo_exists);
  }
  virtual core::Status kill(const ContainerState& state, int signal, bool all) = 0;
  // Kills whatever still runs and releases resources (cgroups). Idempotent.
  virtual core::Status destroy(const ContainerState& state) = 0;
  virtual core::Status pause(const ContainerState& state) = 0;
  virtual core::Status resume(const ContainerState& state) = 0;
  virtual core::Result<std::vector<pid_t>> pids(const ContainerState& state) = 0;

  // Optional operations; a backend without them says so.
  // Starts request.spec.process in the container; returns the pid of a child of
  // the caller whose exit status is the process's.
  virtual core::Result<pid_t> exec(const ContainerState& state, const ExecRequest& request) {
    (void)state, (void)request;
    return unsupported("exec");
  }
  virtual core::Status update(const ContainerState& state, const ResourceUpdate& update) {
    (void)state, (void)update;
    return unsupported("update");
  }
  // runc's `events --stats` "data" object (cpu, memory, pids, blkio).
  virtual core::Result<core::Json> stats(const ContainerState& state) {
    (void)state;
    return unsupported("events --stats");
  }
  // OOM kill notifications for `events`; without them, events reports OOM
  // kills from the stats' counter at each interval.
  virtual core::Result<std::unique_ptr<OomWatch>> watch_oom(const ContainerState& state) {
    (void)state;
    return unsupported("OOM notifications");
  }

 protected:
  core::Error unsupported(const std::string& what) const {
    return core::Error(core::ErrorCategory::Usage, "backend " + name() + " does not support " + what);
  }
};

// The backend a container uses (state.backend, or a routing decision):
// "linux" or "proxmox" (src/oci/routing.cpp).
core::Result<std::unique_ptr<Backend>> make_backend(const std::string& name, const GlobalOptions& global);

}  // namespace pvekit::oci
