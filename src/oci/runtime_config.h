#pragma once

// lxcri's own configuration (not the OCI bundle's config.json): layered as
// built-in defaults < /etc/pvekit/lxcri.json (or --config FILE / LXCRI_CONFIG)
// < LXCRI_* environment < command-line flags. docs/lxcri.md lists every key.
// Sections are contributed by their owners: the Proxmox API section comes
// from src/pve (add_api_keys), checkpoint.* from src/snapshot
// (add_checkpoint_keys), the runtime, routing and proxmox sections from here.

#include <map>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/result.h"
#include "oci/routing.h"
#include "pve/api_config.h"
#include "snapshot/checkpoint_config.h"

namespace pvekit::oci {

inline constexpr const char* kConfigEnvPrefix = "LXCRI_";
inline constexpr const char* kDefaultConfigPath = "/etc/pvekit/lxcri.json";

// The template the proxmox backend uploads: the rootfs as a .tar.gz (the
// process goes into the create call), or an OCI image archive (.tar, PVE 9.1;
// the process goes into the image config, see pve/oci_archive.h).
enum class TemplateFormat { TarGz, Oci };

// How the proxmox backend lays a bundle out in the cluster.
struct ProxmoxSettings {
  std::string node;               // target node; empty: this host's name
  std::string template_storage;   // storage with `vztmpl` content for the uploaded rootfs
  TemplateFormat template_format = TemplateFormat::TarGz;
  std::string rootfs_storage;     // storage with `rootdir` content for the container's disk
  int64_t rootfs_size_gib = 8;
  std::vector<std::string> networks;  // net0, net1, ... property strings
  bool unprivileged = true;
  std::string ostype;             // PVE ostype; "unmanaged" leaves the rootfs alone
  std::string pool;
  int64_t shutdown_timeout_s = 60;  // SIGTERM -> shutdown, then the task fails
  int64_t task_timeout_s = 600;
  int64_t poll_interval_ms = 500;
};

struct RuntimeConfig {
  std::string root;
  std::string log;
  std::string log_format = "text";
  bool debug = false;
  std::string default_backend = "linux";
  std::vector<RouteRule> rules;
  pve::ApiConfig proxmox_api;
  ProxmoxSettings proxmox;
  snapshot::CheckpointConfig checkpoint;  // the checkpoint.* section (src/snapshot)
  // security.lsm_unavailable: "refuse" (default) or "warn" when a spec asks
  // for AppArmor/SELinux labels this host cannot apply (linux/lsm.h).
  bool lsm_unavailable_warn = false;
  // The merged layers (values and where each came from), for `lxcri config`.
  core::Json effective;
  std::map<std::string, std::string> sources;
};

// The schema of every lxcri key (built once; lives for the program).
const core::ConfigSchema& lxcri_schema();

// Converts merged layers into the typed config; Config errors name the key.
core::Result<RuntimeConfig> to_runtime_config(const core::LayeredConfig& layers);

struct ConfigSources {
  std::string file;      // --config; empty: LXCRI_CONFIG, else kDefaultConfigPath when present
  std::map<std::string, std::string> environment;
  std::vector<std::pair<std::string, std::string>> flags;  // (key, value) from explicit flags
  std::string default_file = kDefaultConfigPath;           // tests point this elsewhere
};
core::Result<RuntimeConfig> load_runtime_config(const ConfigSources& sources);

// Every key with its effective value and source, secrets redacted:
// {"proxmox.node": {"value": "pve1", "source": "/etc/pvekit/lxcri.json"}, ...}
nlohmann::ordered_json config_report(const RuntimeConfig& config);

}  // namespace pvekit::oci
