#include "balance/snapshot_reader.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/strings.h"
#include "pve/api.h"

namespace pvekit::balance {
namespace {

bool is_disk_key(const std::string& key) {
  static const std::regex disk_key(R"((scsi|virtio|sata|ide|mp)\d+|rootfs|efidisk0|tpmstate0)");
  return std::regex_match(key, disk_key);
}

Node node_from(const pve::ClusterResource& r) {
  Node n;
  n.name = r.node;
  n.online = r.status == "online";
  n.cpus = static_cast<uint32_t>(std::lround(r.maxcpu));
  n.memory_total = r.maxmem;
  n.memory_used = r.mem;
  n.cpu_usage = r.cpu;
  return n;
}

Guest guest_from(const pve::ClusterResource& r) {
  Guest g;
  g.vmid = static_cast<uint32_t>(r.vmid);
  g.name = r.name;
  g.type = r.type == "qemu" ? GuestType::Qemu : GuestType::Lxc;
  g.node = r.node;
  g.status = r.status == "running" ? GuestStatus::Running : GuestStatus::Stopped;
  g.is_template = r.template_;
  g.lock = r.lock;
  g.tags = r.tags;
  g.pool = r.pool;
  g.ha_managed = !r.hastate.empty();
  g.memory_max = r.maxmem;
  g.memory_used = g.status == GuestStatus::Running ? r.mem : 0;
  g.cpus = static_cast<uint32_t>(std::lround(r.maxcpu));
  g.cpu_usage = r.cpu;
  g.disk_bytes = r.maxdisk;
  return g;
}

// Local guest storage of each node: the non-shared storages that hold guest
// disks. Their totals are the node's disk capacity for balancing.
void add_local_storage(const pve::ClusterResource& r, std::vector<Node>& nodes) {
  if (r.shared) return;
  auto content = core::split(r.content, ',', true);
  bool holds_guests = std::find(content.begin(), content.end(), "images") != content.end() ||
                      std::find(content.begin(), content.end(), "rootdir") != content.end();
  if (!holds_guests) return;
  for (auto& n : nodes) {
    if (n.name != r.node) continue;
    n.disk_total += r.maxdisk;
    n.disk_used += r.disk;
    n.local_storages.push_back(r.storage);
  }
}

std::vector<uint32_t> vmids_of(const std::vector<std::string>& sids) {
  std::vector<uint32_t> out;
  for (const auto& sid : sids) {
    auto colon = sid.find(':');
    auto id = core::parse_int(colon == std::string::npos ? sid : sid.substr(colon + 1));
    if (id && *id > 0) out.push_back(static_cast<uint32_t>(*id));
  }
  return out;
}

void add_ha_rules(const std::vector<pve::HaRule>& rules, ClusterState& state) {
  for (const auto& rule : rules) {
    if (rule.type == "node-affinity") {
      NodeAffinityRule out{.id = rule.rule, .resources = vmids_of(rule.resources), .strict = rule.strict,
                           .enabled = !rule.disable};
      for (const auto& n : rule.nodes)
        out.nodes.push_back({n.node, static_cast<int>(n.priority)});
      state.node_affinity.push_back(std::move(out));
    } else if (rule.type == "resource-affinity") {
      state.resource_affinity.push_back({.id = rule.rule, .positive = rule.affinity != "negative",
                                         .resources = vmids_of(rule.resources), .enabled = !rule.disable});
    }
  }
}

// Runs fn(i) for i in [0, count) on up to `threads` threads.
template <typename Fn>
void parallel_for(size_t count, int threads, Fn fn) {
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < count; i = next++) fn(i);
  };
  std::vector<std::thread> pool;
  size_t n = std::min<size_t>(count, static_cast<size_t>(std::max(1, threads)));
  for (size_t t = 1; t < n; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
}

// Usage percentiles of one guest over the history window.
core::Result<GuestHistory> read_history(pve::Client& client, const Guest& guest,
                                        const HistoryConfig& history, double now) {
  pve::Timeframe frame = history.window_hours <= 1 ? pve::Timeframe::Hour
                         : history.window_hours <= 24 ? pve::Timeframe::Day
                                                      : pve::Timeframe::Week;
  auto type = guest.type == GuestType::Qemu ? pve::GuestType::Qemu : pve::GuestType::Lxc;
  PVEKIT_ASSIGN(auto rows, pve::get_guest_rrddata(client, guest.node, type, guest.vmid, frame));
  std::vector<double> cpu, mem;
  double since = now - history.window_hours * 3600.0;
  for (const auto& row : rows) {
    auto t = row.find("time");
    if (t != row.end() && t->second < since) continue;
    if (auto c = row.find("cpu"); c != row.end()) cpu.push_back(c->second);
    if (auto m = row.find("mem"); m != row.end()) mem.push_back(m->second);
  }
  return GuestHistory{.cpu_usage = percentile(cpu, history.percentile),
                      .memory_used = static_cast<uint64_t>(percentile(mem, history.percentile))};
}

// Node pressure (PVE 9 rrddata, percent) averaged over the last hour.
std::optional<Pressure> read_pressure(pve::Client& client, const std::string& node) {
  auto rows = pve::get_node_rrddata(client, node, pve::Timeframe::Hour);
  if (!rows) return std::nullopt;
  double cpu = 0, mem = 0, io = 0;
  int n = 0;
  for (const auto& row : *rows) {
    auto c = row.find("pressurecpusome"), m = row.find("pressurememorysome"), i = row.find("pressureiosome");
    if (c == row.end() || m == row.end() || i == row.end()) continue;
    cpu += c->second, mem += m->second, io += i->second;
    ++n;
  }
  if (n == 0) return std::nullopt;
  return Pressure{cpu / n / 100.0, mem / n / 100.0, io / n / 100.0};
}

}  // namespace

void read_guest_details(pve::Client& client, const BalanceConfig& config, const std::vector<std::string>& shared,
                        int parallel, GuestConfigCache* cache, ClusterSnapshot& snap) {
  auto& guests = snap.state.guests;
  // Which configs to read: all without a cache; with one, those that may
  // have changed and the ones read longest ago.
  std::vector<std::string> keys(guests.size());
  std::vector<bool> read(guests.size(), true);
  if (cache) {
    ++cache->round_;
    std::vector<std::pair<uint64_t, size_t>> unchanged;  // (round read, index)
    std::set<uint32_t> present;
    for (size_t i = 0; i < guests.size(); ++i) {
      const Guest& g = guests[i];
      present.insert(g.vmid);
      keys[i] = fmt::format("{}|{}|{}|{}|{}|{}|{}", g.node, g.disk_bytes, g.memory_max, g.cpus, g.is_template, g.lock,
                            core::join(g.tags, ";"));
      auto it = cache->entries_.find(g.vmid);
      if (it != cache->entries_.end() && it->second.key == keys[i]) {
        read[i] = false;
        unchanged.emplace_back(it->second.read_in_round, i);
      }
    }
    std::sort(unchanged.begin(), unchanged.end());
    for (size_t k = 0; k < unchanged.size() && k < cache->refresh_per_round_; ++k) read[unchanged[k].second] = true;
    std::erase_if(cache->entries_, [&](const auto& e) { return !present.count(e.first); });
  }
  // A guest whose config cannot be read is left out (its disks are unknown);
  // a guest without history is planned on its current figures.
  std::vector<std::string> config_failures(guests.size()), history_failures(guests.size()), digests(guests.size());
  double now = client.clock().now_unix();
  parallel_for(guests.size(), parallel, [&](size_t i) {
    Guest& g = guests[i];
    auto type = g.type == GuestType::Qemu ? pve::GuestType::Qemu : pve::GuestType::Lxc;
    if (read[i]) {
      auto cfg = pve::get_guest_config(client, g.node, type, g.vmid);
      if (!cfg) {
        config_failures[i] = "guest " + std::to_string(g.vmid) + " left out: " + cfg.error().to_string();
        return;
      }
      g.local_disk_bytes = local_disk_bytes(cfg->values, shared);
      digests[i] = cfg->get("digest").value_or("");
    } else {
      g.local_disk_bytes = cache->entries_.at(g.vmid).local_disk_bytes;
    }
    if (config.balancing.history.enable && g.status == GuestStatus::Running) {
      auto h = read_history(client, g, config.balancing.history, now);
      if (h) g.history = *h;
      else history_failures[i] = "guest " + std::to_string(g.vmid) + " without history: " + h.error().to_string();
    }
  });
  std::vector<Guest> kept;
  if (cache) cache->reads_ = cache->digest_changes_ = 0;
  for (size_t i = 0; i < guests.size(); ++i) {
    if (!config_failures[i].empty()) snap.warnings.push_back(config_failures[i]);
    if (!history_failures[i].empty()) snap.warnings.push_back(history_failures[i]);
    if (cache && read[i]) {
      if (config_failures[i].empty()) {
        auto& entry = cache->entries_[guests[i].vmid];
        if (!entry.digest.empty() && entry.digest != digests[i]) ++cache->digest_changes_;
        entry = {keys[i], digests[i], guests[i].local_disk_bytes, cache->round_};
        ++cache->reads_;
      } else {
        cache->entries_.erase(guests[i].vmid);
      }
    }
    if (config_failures[i].empty()) kept.push_back(std::move(guests[i]));
  }
  guests = std::move(kept);
}

std::vector<std::string> NodeStatusRotation::due(const std::vector<std::string>& online) {
  ++round_;
  // Nodes that left (or went offline) are forgotten: back online, they are new.
  std::erase_if(asked_in_round_, [&](const auto& entry) {
    return std::find(online.begin(), online.end(), entry.first) == online.end();
  });
  std::vector<std::string> picked;
  std::vector<std::pair<uint64_t, std::string>> known;
  for (const auto& name : online) {
    auto it = asked_in_round_.find(name);
    if (it == asked_in_round_.end()) picked.push_back(name);
    else known.emplace_back(it->second, name);
  }
  std::sort(known.begin(), known.end());
  for (size_t i = 0; i < known.size() && i < per_round_; ++i) picked.push_back(known[i].second);
  reads_ = picked.size();
  return picked;
}

void NodeStatusRotation::answered(const std::string& node, bool ok) {
  if (ok) asked_in_round_[node] = round_;
  else asked_in_round_.erase(node);
}

namespace {

// /cluster/resources has each node's memory and CPU count as the cluster
// file system last saw them; /nodes/{n}/status asks the node itself. A node
// that does not answer is not a safe migration target and is left out of
// the balancing like an offline one. With a rotation only its picks are
// asked (NodeStatusRotation).
void read_node_status(pve::Client& client, int parallel, NodeStatusRotation* rotation, ClusterSnapshot& snap) {
  auto& nodes = snap.state.nodes;
  std::vector<std::string> online;
  for (const auto& n : nodes)
    if (n.online) online.push_back(n.name);
  std::vector<Node*> asked;
  const std::vector<std::string> due = rotation ? rotation->due(online) : online;
  for (auto& n : nodes) {
    if (std::find(due.begin(), due.end(), n.name) != due.end()) asked.push_back(&n);
  }
  std::vector<std::string> failures(asked.size());
  parallel_for(asked.size(), parallel, [&](size_t i) {
    Node& n = *asked[i];
    auto status = pve::get_node_status(client, n.name);
    if (!status) {
      failures[i] = "node " + n.name + " treated as offline: " + status.error().to_string();
      n.online = false;
      return;
    }
    if (status->memory.total > 0) {
      n.memory_total = status->memory.total;
      n.memory_used = status->memory.used;
    }
    if (status->cpuinfo.cpus > 0) n.cpus = static_cast<uint32_t>(status->cpuinfo.cpus);
    n.cpu_usage = status->cpu;
  });
  for (size_t i = 0; i < asked.size(); ++i) {
    if (rotation) rotation->answered(asked[i]->name, failures[i].empty());
    if (!failures[i].empty()) snap.warnings.push_back(failures[i]);
  }
}

// Guests PVE is migrating. A running qmigrate/vzmigrate task names the guest
// (the UPID's id) and its source (the UPID's node); the target is only in the
// task log's first lines. A `migrate` lock, or an HA migration, without such
// a task is a migration whose target is unknown.
// `ha_moving`: guests whose HA state is migrate or relocate.
void read_migrations(pve::Client& client, const std::set<uint32_t>& ha_moving, ClusterSnapshot& snap) {
  std::map<uint32_t, InFlightMigration> found;
  auto tasks = pve::get_cluster_tasks(client);
  if (!tasks) {
    snap.warnings.push_back("running migrations not read, locked guests count as migrating to an unknown node: " +
                            tasks.error().to_string());
  } else {
    for (const auto& t : *tasks) {
      if (!t.running() || (t.type != "qmigrate" && t.type != "vzmigrate")) continue;
      auto vmid = core::parse_int(t.id);
      if (!vmid || *vmid <= 0) continue;
      InFlightMigration m{.source = t.node, .target = "", .upid = t.upid};
      auto log = pve::get_task_log(client, t.upid, 0, 20);
      if (log) m.target = migration_target(*log);
      if (m.target.empty())
        snap.warnings.push_back("migration " + t.upid + ": target not found in its log" +
                                (log ? std::string() : ": " + log.error().to_string()));
      found[static_cast<uint32_t>(*vmid)] = std::move(m);
    }
  }
  for (auto& g : snap.state.guests) {
    if (auto it = found.find(g.vmid); it != found.end()) g.migration = it->second;
    else if (g.lock == "migrate" || ha_moving.count(g.vmid)) g.migration = InFlightMigration{.source = g.node};
  }
}

}  // namespace

std::string migration_target(const std::vector<pve::TaskLogLine>& log) {
  // QemuMigrate / PVE::LXC::Migrate phase 1:
  //   "<time> starting migration of VM 104 to node 'pve3' (10.0.0.3)"
  static const std::regex starting(R"(starting migration of (?:VM|CT) \d+ to node '([^']+)')");
  for (const auto& line : log) {
    std::smatch m;
    if (std::regex_search(line.t, m, starting)) return m[1].str();
  }
  return "";
}

uint64_t local_disk_bytes(const std::map<std::string, std::string>& config,
                          const std::vector<std::string>& shared_storages) {
  uint64_t total = 0;
  for (const auto& [key, value] : config) {
    if (!is_disk_key(key)) continue;
    auto props = pve::GuestConfig::split_property_string(value, "volume");
    const std::string& volume = props["volume"];
    if (volume.empty() || volume == "none" || core::starts_with(volume, "/dev/")) continue;
    if (props["media"] == "cdrom") continue;
    auto colon = volume.find(':');
    if (colon == std::string::npos) continue;  // a bind mount (lxc mpN=/host/path)
    std::string storage = volume.substr(0, colon);
    if (std::find(shared_storages.begin(), shared_storages.end(), storage) != shared_storages.end())
      continue;
    if (auto size = core::parse_size(props["size"])) total += *size;
  }
  return total;
}

core::Status check_privileges(pve::Client& client, PrivilegeUse use) {
  const pve::ClientOptions& o = client.options();
  std::string who = "user " + o.user;
  if (!o.token_secret.empty()) {
    who = "the API token " + (o.token_id.find('!') == std::string::npos ? o.user + "!" + o.token_id : o.token_id);
  }
  PVEKIT_ASSIGN(auto permissions, client.get("/access/permissions"));
  return require_privileges(permissions, use, who);
}

core::Result<ClusterSnapshot> read_snapshot(pve::Client& client, const BalanceConfig& config,
                                            int parallel_requests, GuestConfigCache* cache,
                                            NodeStatusRotation* rotation) {
  ClusterSnapshot snap;
  PVEKIT_ASSIGN(auto version, pve::get_version(client));
  snap.pve_version = version.version;
  PVEKIT_ASSIGN(auto status, pve::get_cluster_status(client));
  snap.cluster_name = status.name;
  snap.quorate = status.quorate;
  PVEKIT_ASSIGN(auto resources, pve::get_cluster_resources(client));

  std::vector<std::string> shared;
  std::set<uint32_t> ha_moving;
  for (const auto& r : resources) {
    if (r.type == "node") snap.state.nodes.push_back(node_from(r));
    else if ((r.type == "qemu" || r.type == "lxc") && r.vmid > 0) snap.state.guests.push_back(guest_from(r));
    if (r.hastate == "migrate" || r.hastate == "relocate") ha_moving.insert(static_cast<uint32_t>(r.vmid));
  }
  for (const auto& r : resources) {
    if (r.type != "storage") continue;
    if (r.shared && std::find(shared.begin(), shared.end(), r.storage) == shared.end())
      shared.push_back(r.storage);
    add_local_storage(r, snap.state.nodes);
  }

  PVEKIT_ASSIGN(auto ha_resources, pve::get_ha_resources(client));
  std::vector<std::string> ha_sids;
  for (const auto& h : ha_resources) ha_sids.push_back(h.sid);
  for (uint32_t vmid : vmids_of(ha_sids)) {
    for (auto& g : snap.state.guests)
      if (g.vmid == vmid) g.ha_managed = true;
  }
  PVEKIT_ASSIGN(auto ha_rules, pve::get_ha_rules(client));
  add_ha_rules(ha_rules, snap.state);
  PVEKIT_ASSIGN(auto pools, pve::get_pools(client));
  for (const auto& p : pools) snap.state.pools.push_back(p.poolid);

  read_migrations(client, ha_moving, snap);
  read_node_status(client, parallel_requests, rotation, snap);
  read_guest_details(client, config, shared, parallel_requests, cache, snap);
  if (config.balancing.mode == Mode::Psi) {
    for (auto& n : snap.state.nodes)
      if (n.online) n.pressure = read_pressure(client, n.name);
  }
  apply_cluster_config(config, snap.state);
  for (const auto& w : snap.warnings) spdlog::warn("snapshot: {}", w);
  return snap;
}

}  // namespace pvekit::balance
