#include "balance/twin.h"

#include <algorithm>
#include <cmath>
#include <regex>
#include <set>

#include "core/strings.h"
#include "pve/api.h"

namespace pvekit::balance {
namespace {

using core::Json;

// Figures are written unrounded: a plan that weighs two near-equal guests
// must choose the same one on the twin as on the cluster, and rounding
// memory to 4 decimals moved guests by up to 0.8 MiB.
double fraction(double value) { return std::clamp(value, 0.0, 1.0); }

// pvesim truncates fraction * total to whole bytes; half a byte more makes
// that `used` again despite the division's rounding.
double used_fraction(uint64_t used, uint64_t total) {
  return total == 0 ? 0.0 : (static_cast<double>(used) + 0.5) / static_cast<double>(total);
}

// Storage of the guest's root disk: lxc rootfs, else the first qemu disk.
std::string root_storage(const pve::GuestConfig& config) {
  static const std::regex disk_key(R"((scsi|virtio|sata|ide)\d+)");
  std::vector<std::string> keys;
  if (config.get("rootfs")) keys.push_back("rootfs");
  for (const auto& [k, v] : config.values) {
    if (std::regex_match(k, disk_key)) keys.push_back(k);
  }
  for (const auto& key : keys) {
    auto props = pve::GuestConfig::split_property_string(*config.get(key), "volume");
    if (props["media"] == "cdrom") continue;
    auto colon = props["volume"].find(':');
    if (colon != std::string::npos) return props["volume"].substr(0, colon);
  }
  return "";
}

Json guest_entry(const pve::ClusterResource& r, const pve::GuestConfig* config) {
  bool running = r.status == "running";
  Json g = {{"vmid", r.vmid}, {"type", r.type}, {"name", r.name}, {"node", r.node},
            {"status", running ? "running" : "stopped"},
            {"cores", std::max<int64_t>(1, std::lround(r.maxcpu))}, {"memory", r.maxmem}, {"disk", r.maxdisk},
            {"load", {{"cpu", fraction(r.cpu)}, {"cpu_amp", 0}, {"mem", fraction(used_fraction(r.mem, r.maxmem))},
                      {"mem_amp", 0}, {"noise", 0}}}};
  if (!r.tags.empty()) g["tags"] = r.tags;
  if (!r.pool.empty()) g["pool"] = r.pool;
  if (r.template_) g["template"] = true;
  if (!r.lock.empty()) g["lock"] = r.lock;
  if (config) {
    std::string storage = root_storage(*config);
    if (!storage.empty()) g["storage"] = storage;
    Json extra = Json::object();
    for (const auto& [k, v] : config->values) {
      if (k == "ostype" || k.starts_with("net")) extra[k] = v;
    }
    if (!extra.empty()) g["config"] = extra;
  }
  return g;
}

// A node's own use: its figures minus what its running guests account for.
Json node_entry(const pve::ClusterResource& n, const std::vector<pve::ClusterResource>& resources) {
  double guest_mem = 0, guest_cpus = 0;
  for (const auto& r : resources) {
    if ((r.type != "qemu" && r.type != "lxc") || r.node != n.node || r.status != "running") continue;
    guest_mem += static_cast<double>(r.mem);
    guest_cpus += r.cpu * r.maxcpu;
  }
  double base_mem = std::max(0.0, static_cast<double>(n.mem) - guest_mem);
  double base_cpu = n.maxcpu > 0 ? std::max(0.0, n.cpu - guest_cpus / n.maxcpu) : 0.0;
  return {{"name", n.node}, {"cpus", std::max<int64_t>(1, std::lround(n.maxcpu))}, {"memory", n.maxmem},
          {"online", n.status == "online"}, {"base_memory", static_cast<uint64_t>(base_mem)},
          {"base_cpu", fraction(base_cpu)}};
}

Json storage_entry(const pve::StorageConfig& s, const std::vector<pve::ClusterResource>& resources) {
  Json out = {{"id", s.storage}, {"type", s.type}, {"content", s.content}, {"shared", s.shared}};
  if (!s.nodes.empty()) out["nodes"] = s.nodes;
  if (!s.path.empty()) out["path"] = s.path;
  for (const auto& r : resources) {
    if (r.type == "storage" && r.storage == s.storage && r.maxdisk > 0) {
      out["size"] = r.maxdisk;
      break;
    }
  }
  return out;
}

// The volumes a twin copies: what a storage holds besides guest disks
// (which come with their guests) and backups (archives of guests, which
// pvesim's scenario does not model).
bool is_file(const std::string& content) { return content == "vztmpl" || content == "iso" || content == "import"; }

bool holds_files(const std::string& content_list) {
  auto kinds = core::split(content_list, ',', true);
  return std::any_of(kinds.begin(), kinds.end(), is_file);
}

Json volume_entries(const TwinInputs& in) {
  Json out = Json::array();
  for (const auto& r : in.resources) {
    auto files = in.files.find(r.id);
    if (r.type != "storage" || files == in.files.end()) continue;
    for (const auto& v : files->second) {
      Json entry = {{"storage", r.storage}, {"volid", v.volid}, {"content", v.content}, {"format", v.format},
                    {"size", v.size}};
      if (!r.shared) entry["node"] = r.node;
      out.push_back(entry);
    }
  }
  return out;
}

Json ha_entry(const pve::HaRule& rule) {
  Json out = {{"rule", rule.rule}, {"type", rule.type}, {"resources", rule.resources}};
  if (rule.type == "node-affinity") {
    Json nodes = Json::array();
    for (const auto& n : rule.nodes)
      nodes.push_back(n.priority ? n.node + ":" + std::to_string(n.priority) : n.node);
    out["nodes"] = nodes;
    out["strict"] = rule.strict;
  } else {
    out["affinity"] = rule.affinity;
  }
  if (rule.disable) out["disable"] = true;
  if (!rule.comment.empty()) out["comment"] = rule.comment;
  return out;
}

}  // namespace

core::Result<TwinInputs> read_twin_inputs(pve::Client& client) {
  TwinInputs in;
  PVEKIT_ASSIGN(auto status, pve::get_cluster_status(client));
  in.cluster_name = status.name;
  PVEKIT_ASSIGN(in.resources, pve::get_cluster_resources(client));
  PVEKIT_ASSIGN(in.storages, pve::get_storage_configs(client));
  PVEKIT_ASSIGN(in.pools, pve::get_pools(client));
  PVEKIT_ASSIGN(in.ha_resources, pve::get_ha_resources(client));
  PVEKIT_ASSIGN(in.ha_rules, pve::get_ha_rules(client));
  for (const auto& r : in.resources) {
    if ((r.type != "qemu" && r.type != "lxc") || r.vmid <= 0) continue;
    auto type = r.type == "qemu" ? pve::GuestType::Qemu : pve::GuestType::Lxc;
    PVEKIT_ASSIGN(in.configs[r.vmid], pve::get_guest_config(client, r.node, type, r.vmid)
                                          .wrap("config of guest " + std::to_string(r.vmid)));
  }
  std::set<std::string> shared_read;
  for (const auto& r : in.resources) {
    if (r.type != "storage" || r.status != "available" || !holds_files(r.content)) continue;
    if (r.shared && !shared_read.insert(r.storage).second) continue;
    PVEKIT_ASSIGN(auto content, pve::get_storage_content(client, r.node, r.storage)
                                    .wrap("content of storage " + r.storage + " on node " + r.node));
    std::erase_if(content, [](const pve::StorageContent& v) { return !is_file(v.content); });
    in.files[r.id] = std::move(content);
  }
  return in;
}

Json twin_scenario(const TwinInputs& in) {
  Json nodes = Json::array(), guests = Json::array(), storages = Json::array(), pools = Json::array();
  for (const auto& r : in.resources) {
    if (r.type == "node") nodes.push_back(node_entry(r, in.resources));
    if ((r.type == "qemu" || r.type == "lxc") && r.vmid > 0) {
      auto config = in.configs.find(r.vmid);
      guests.push_back(guest_entry(r, config == in.configs.end() ? nullptr : &config->second));
    }
  }
  for (const auto& s : in.storages) storages.push_back(storage_entry(s, in.resources));
  for (const auto& p : in.pools) pools.push_back({{"id", p.poolid}, {"comment", p.comment}});
  Json ha_resources = Json::array(), ha_rules = Json::array();
  for (const auto& h : in.ha_resources) ha_resources.push_back({{"sid", h.sid}, {"state", h.state}});
  for (const auto& rule : in.ha_rules) ha_rules.push_back(ha_entry(rule));
  return {{"cluster", {{"name", in.cluster_name.empty() ? "twin" : in.cluster_name}}},
          {"nodes", nodes}, {"storages", storages}, {"volumes", volume_entries(in)}, {"pools", pools}, {"guests", guests},
          {"ha", {{"resources", ha_resources}, {"rules", ha_rules}}}};
}

std::string twin_yaml(const core::Json& scenario, const std::string& source) {
  return "# A pvesim scenario: a twin of the cluster at " + source +
         ", written by `proxlb snapshot`.\n"
         "# Load is frozen at the figures read. Log in to the twin as root@pam / pvesim, or with the\n"
         "# API token root@pam!pvekit (see docs/pvesim-scenario.md); the cluster's own users are not copied.\n" +
         core::json_to_yaml(scenario);
}

}  // namespace pvekit::balance
