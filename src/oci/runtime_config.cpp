#include "oci/runtime_config.h"

#include <unistd.h>

#include "core/files.h"
#include "core/strings.h"
#include "oci/state_store.h"
#include "snapshot/checkpoint_config.h"

namespace pvekit::oci {
namespace {

using core::Error;
using core::ErrorCategory;
using core::config_key_error;
using core::Json;
using core::KeySpec;
using core::ValueType;

void add_runtime_keys(core::ConfigSchema& s) {
  s.add({.path = "root", .default_value = kDefaultRoot, .help = "directory of the containers' state (--root)"});
  s.add({.path = "log", .default_value = "", .help = "log file; empty: stderr (--log)"});
  s.add({.path = "log_format", .default_value = "text", .help = "text or json (--log-format)",
         .choices = {"text", "json"}});
  s.add({.path = "debug", .type = ValueType::Boolean, .default_value = false, .help = "debug logging (--debug)"});
  s.add({.path = "default_backend", .default_value = "linux",
         .help = "backend of containers no rule or annotation routes", .choices = known_backends()});
  s.add({.path = "security.lsm_unavailable", .default_value = "refuse",
         .help = "refuse or warn: a spec asking for AppArmor/SELinux labels this host cannot apply"});
  s.add({.path = "routing.rules", .type = ValueType::Object, .default_value = Json::object(),
         .help = "name -> {backend, id, annotations, bundle}; tried in name order, first match wins"});
}

void add_proxmox_keys(core::ConfigSchema& s) {
  s.add({.path = "proxmox.node", .default_value = "", .help = "node to create containers on; empty: this host's name"});
  s.add({.path = "proxmox.template_storage", .default_value = "local",
         .help = "storage with 'vztmpl' content receiving the bundle's rootfs archive"});
  s.add({.path = "proxmox.template_format", .default_value = "tar.gz",
         .help = "the uploaded template: the rootfs as tar.gz, or an OCI image archive (oci, PVE 9.1)",
         .choices = {"tar.gz", "oci"}});
  s.add({.path = "proxmox.rootfs_storage", .default_value = "local-lvm",
         .help = "storage with 'rootdir' content for the container's root disk"});
  s.add({.path = "proxmox.rootfs_size", .type = ValueType::Integer, .default_value = 8,
         .help = "root disk size in GiB", .min = 1, .max = 65536});
  s.add({.path = "proxmox.networks", .type = ValueType::StringList,
         .default_value = Json::array({"name=eth0,bridge=vmbr0,ip=dhcp"}),
         .help = "net0, net1, ... as PVE property strings"});
  s.add({.path = "proxmox.unprivileged", .type = ValueType::Boolean, .default_value = true,
         .help = "unprivileged containers unless the spec has no user namespace and this is false"});
  s.add({.path = "proxmox.ostype", .default_value = "unmanaged", .help = "PVE ostype of created containers",
         .choices = {"debian", "devuan", "ubuntu", "centos", "fedora", "opensuse", "archlinux", "alpine", "gentoo",
                     "nixos", "unmanaged"}});
  s.add({.path = "proxmox.pool", .default_value = "", .help = "resource pool of created containers"});
  s.add({.path = "proxmox.shutdown_timeout", .type = ValueType::Integer, .default_value = 60,
         .help = "seconds a SIGTERM (shutdown) may take", .min = 1, .max = 3600});
  s.add({.path = "proxmox.task_timeout", .type = ValueType::Integer, .default_value = 600,
         .help = "seconds any other PVE task may take", .min = 1, .max = 86400});
  s.add({.path = "proxmox.poll_interval_ms", .type = ValueType::Integer, .default_value = 500,
         .help = "task status polling interval", .min = 10, .max = 60000});
}

core::ConfigSchema build_schema() {
  core::ConfigSchema s;
  add_runtime_keys(s);
  pve::add_api_keys(s);
  add_proxmox_keys(s);
  snapshot::add_checkpoint_keys(s);
  return s;
}

core::Result<ProxmoxSettings> read_proxmox(const core::LayeredConfig& c) {
  ProxmoxSettings p;
  p.node = c.get_string("proxmox.node");
  p.template_storage = c.get_string("proxmox.template_storage");
  p.template_format = c.get_string("proxmox.template_format") == "oci" ? TemplateFormat::Oci : TemplateFormat::TarGz;
  p.rootfs_storage = c.get_string("proxmox.rootfs_storage");
  if (p.template_storage.empty()) return config_key_error("proxmox.template_storage", "must not be empty");
  if (p.rootfs_storage.empty()) return config_key_error("proxmox.rootfs_storage", "must not be empty");
  p.rootfs_size_gib = c.get_int("proxmox.rootfs_size");
  p.networks = c.get_list("proxmox.networks");
  if (p.networks.size() > 32) return config_key_error("proxmox.networks", "PVE allows at most 32 (net0..net31)");
  for (size_t i = 0; i < p.networks.size(); ++i) {
    if (p.networks[i].find("name=") == std::string::npos)
      return config_key_error("proxmox.networks", "entry " + std::to_string(i) + " (\"" + p.networks[i] +
                                                  "\") lacks name=IFNAME");
  }
  p.unprivileged = c.get_bool("proxmox.unprivileged");
  p.ostype = c.get_string("proxmox.ostype");
  p.pool = c.get_string("proxmox.pool");
  p.shutdown_timeout_s = c.get_int("proxmox.shutdown_timeout");
  p.task_timeout_s = c.get_int("proxmox.task_timeout");
  p.poll_interval_ms = c.get_int("proxmox.poll_interval_ms");
  return p;
}

}  // namespace

const core::ConfigSchema& lxcri_schema() {
  static const core::ConfigSchema schema = build_schema();
  return schema;
}

core::Result<RuntimeConfig> to_runtime_config(const core::LayeredConfig& c) {
  RuntimeConfig r;
  r.root = c.get_string("root");
  if (r.root.empty() || r.root[0] != '/')
    return config_key_error("root", "must be an absolute path, got \"" + r.root + "\"");
  r.log = c.get_string("log");
  r.log_format = c.get_string("log_format");
  r.debug = c.get_bool("debug");
  r.default_backend = c.get_string("default_backend");
  std::string lsm = c.get_string("security.lsm_unavailable");
  if (lsm != "refuse" && lsm != "warn")
    return config_key_error("security.lsm_unavailable", "must be refuse or warn, got \"" + lsm + "\"");
  r.lsm_unavailable_warn = lsm == "warn";
  PVEKIT_ASSIGN(r.rules, parse_route_rules(c.get("routing.rules")));
  PVEKIT_ASSIGN(r.proxmox_api, pve::read_api_config(c));
  PVEKIT_ASSIGN(r.proxmox, read_proxmox(c));
  PVEKIT_ASSIGN(r.checkpoint, snapshot::checkpoint_config_from(c));
  r.effective = c.dump(true);
  for (const auto& key : lxcri_schema().keys()) r.sources[key.path] = c.source_of(key.path);
  return r;
}

core::Result<RuntimeConfig> load_runtime_config(const ConfigSources& sources) {
  core::LayeredConfig layers(lxcri_schema());
  std::string file = sources.file;
  if (file.empty()) {
    if (auto it = sources.environment.find("LXCRI_CONFIG"); it != sources.environment.end()) file = it->second;
  }
  if (file.empty() && ::access(sources.default_file.c_str(), F_OK) == 0) file = sources.default_file;
  if (!file.empty()) PVEKIT_TRY(layers.merge_file(file));
  PVEKIT_TRY(layers.merge_environment(sources.environment, kConfigEnvPrefix, {"LXCRI_CONFIG"}));
  for (const auto& [key, value] : sources.flags) PVEKIT_TRY(layers.set(key, value, "flag " + key));
  auto config = to_runtime_config(layers);
  if (!config.ok() && !file.empty()) return std::move(config).error().wrap(file);
  return config;
}

nlohmann::ordered_json config_report(const RuntimeConfig& config) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& key : lxcri_schema().keys()) {
    const Json* node = &config.effective;
    for (const auto& part : core::split(key.path, '.')) {
      node = node->is_object() && node->contains(part) ? &(*node)[part] : nullptr;
      if (!node) break;
    }
    auto it = config.sources.find(key.path);
    out[key.path] = {{"value", node ? *node : Json()}, {"source", it == config.sources.end() ? "" : it->second}};
  }
  return out;
}

}  // namespace pvekit::oci
