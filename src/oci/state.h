#pragma once

// The state of one container as stored in <root>/<id>/state.json, and the
// runc-compatible view printed by `state`.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/json.h"
#include "core/result.h"
#include "oci/status.h"

namespace pvekit::oci {

struct ContainerState {
  std::string oci_version = "1.0.2";
  std::string id;
  // Last status written by a command; the live status comes from live_status().
  ContainerStatus status = ContainerStatus::Creating;
  pid_t pid = 0;  // host pid of the container's init process; 0 when none
  // Start time of `pid` in clock ticks since boot (/proc/PID/stat field 22),
  // so a reused pid is recognised as a different process.
  uint64_t pid_start_time = 0;
  std::string bundle;  // absolute
  std::string rootfs;  // absolute
  std::string created;  // RFC 3339 with nanoseconds, UTC
  std::string owner;  // user name of the creator ("root"), as runc
  std::map<std::string, std::string> annotations;
  // lxcri internals, not part of the OCI state.
  std::string backend = "linux";
  std::string cgroup_path;  // resolved cgroup path (relative to each controller's root)
  std::string cgroup_root = "/sys/fs/cgroup";
  // The systemd cgroup driver's scope and its slice; empty with cgroupfs.
  std::string systemd_unit;
  std::string systemd_slice;
  // Proxmox backend: where the container lives in the cluster.
  std::string pve_node;
  int64_t pve_vmid = 0;
};

// What /proc/PID/stat says about a process.
struct ProcStat {
  char state = '?';  // R, S, D, Z, T, ...
  uint64_t start_time = 0;  // clock ticks since boot
};

// Parses the text of /proc/PID/stat (the comm field may contain spaces and ')').
std::optional<ProcStat> parse_proc_stat(const std::string& text);
// Reads /proc/PID/stat; nullopt when the process does not exist.
std::optional<ProcStat> read_proc_stat(pid_t pid);

// Whether `pid` is still the process recorded with `start_time` and not a zombie.
bool process_alive(pid_t pid, uint64_t start_time);

// The live status from the stored one and the facts: a dead or replaced init
// reads stopped; a created container whose exec fifo is gone reads running.
ContainerStatus derive_status(ContainerStatus stored, bool alive, bool exec_fifo_exists);

core::Json state_to_json(const ContainerState& s);  // internal state.json
core::Result<ContainerState> state_from_json(const core::Json& j);
// runc's `state` output: ociVersion, id, pid, status, bundle, rootfs, created, owner[, annotations].
nlohmann::ordered_json runc_state_json(const ContainerState& s, ContainerStatus live);

// Now as RFC 3339 UTC with nanoseconds ("2026-11-24T00:35:00.123456789Z").
std::string rfc3339_now();

}  // namespace pvekit::oci
