#pragma once

// Plain option structs, one per command, filled by the CLI (src/oci/cli.cpp)
// and by tests; no CLI11 types here.

#include <string>
#include <vector>

#include "oci/state_store.h"

namespace pvekit::oci {

struct GlobalOptions {
  std::string root = kDefaultRoot;
  std::string log;                  // log file; empty: stderr
  std::string log_format = "text";  // text | json
  bool debug = false;
  bool systemd_cgroup = false;
  std::string cgroup_root = "/sys/fs/cgroup";  // tests point this at a scratch tree
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

struct PsOptions {
  std::string id;
  std::string format = "table";  // table | json
  std::vector<std::string> ps_args;  // passed to ps(1); default -ef
};

}  // namespace pvekit::oci
