#pragma once

// Plain option structs, one per command, filled by the CLI (src/oci/cli.cpp)
// and by tests; no CLI11 types here.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "oci/runtime_config.h"
#include "oci/state_store.h"
#include "snapshot/criu.h"

namespace pvekit::oci {

struct GlobalOptions {
  std::string root = kDefaultRoot;
  std::string log;                  // log file; empty: stderr
  std::string log_format = "text";  // text | json
  bool debug = false;
  bool systemd_cgroup = false;
  std::string cgroup_root = "/sys/fs/cgroup";  // tests point this at a scratch tree
  std::string config_file;  // --config; empty: LXCRI_CONFIG or /etc/pvekit/lxcri.json
  RuntimeConfig config;     // the effective layered configuration (runtime_config.h)
};

struct CreateOptions {
  std::string id;
  std::string bundle = ".";
  std::string console_socket;
  std::string pid_file;
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;
};

struct RunOptions {
  CreateOptions create;
  bool detach = false;
  bool keep = false;  // keep the container's state after it exits
};

struct StartOptions {
  std::string id;
};

struct StateOptions {
  std::string id;
};

struct KillOptions {
  std::string id;
  std::string signal = "SIGTERM";
  bool all = false;
};

struct DeleteOptions {
  std::string id;
  bool force = false;
};

struct ListOptions {
  std::string format = "table";  // table | json
  bool quiet = false;
};

struct SpecOptions {
  std::string bundle;  // empty: current directory
  bool rootless = false;
};

struct PauseOptions {
  std::string id;
};

struct ResumeOptions {
  std::string id;
};

struct ExecOptions {
  std::string id;
  std::string process_file;  // --process: a process.json replacing the spec's process
  std::vector<std::string> args;
  bool tty = false;
  bool detach = false;
  std::vector<std::string> env;
  std::string cwd;
  std::string user;  // uid[:gid]
  std::vector<uint32_t> additional_gids;
  std::vector<std::string> caps;
  bool no_new_privs = false;
  std::string pid_file;
  std::string console_socket;
  int preserve_fds = 0;
  std::string process_label;
  std::string apparmor;
  std::vector<std::string> cgroups;  // --cgroup [<controller>:]<path>, as runc
  bool ignore_paused = false;
};

// runc update's flags; strings keep runc's spelling ("64m", "-1") until parsed.
struct UpdateOptions {
  std::string id;
  std::string resources_file;  // -r: LinuxResources JSON ("-" for stdin); the flags are ignored then
  std::optional<std::string> memory, memory_swap, memory_reservation, kernel_memory, kernel_memory_tcp;
  std::optional<int64_t> cpu_quota, pids_limit;
  std::optional<uint64_t> cpu_period, cpu_shares;
  std::optional<uint16_t> blkio_weight;
  std::optional<std::string> cpuset_cpus, cpuset_mems;
};

struct EventsOptions {
  std::string id;
  bool stats = false;  // one stats event, then exit
  std::string interval = "5s";
};

struct PsOptions {
  std::string id;
  std::string format = "table";  // table | json
  std::vector<std::string> ps_args;  // passed to ps(1); default -ef
};

// runc's checkpoint flags plus storage snapshots (docs/lxcri.md "Checkpoint and restore").
struct CheckpointOptions {
  std::string id;
  std::string snapshot;           // --snapshot NAME: a storage snapshot (zfs, btrfs, pve); empty: criu, or an automatic name
  bool list = false;              // --list: print the container's snapshots
  std::string remove;             // --delete NAME
  std::string format = "table";   // --list output: table | json
  snapshot::CriuOptions criu;
};

struct RestoreOptions {
  CreateOptions create;           // id, --bundle, --pid-file, --no-pivot, --console-socket
  bool detach = false;
  bool no_subreaper = false;      // lxcri never becomes a subreaper, so this always holds
  std::string snapshot;           // --snapshot NAME: roll the storage back, then run the container
  snapshot::CriuOptions criu;
};

}  // namespace pvekit::oci
