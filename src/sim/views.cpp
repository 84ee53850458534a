#include "sim/views.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "core/strings.h"
#include "sim/actions.h"
#include "sim/dynamics.h"

namespace pvekit::sim {
namespace {

using core::Json;

int b(bool v) { return v ? 1 : 0; }

std::string sha1_hex(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha1(), nullptr);
  std::string out;
  for (unsigned int i = 0; i < len; ++i) out += fmt::format("{:02x}", md[i]);
  return out;
}

double r4(double v) { return std::round(v * 1e4) / 1e4; }

std::string fixed2(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

bool node_online(const World& w, const std::string& name) {
  const Node* n = w.cluster.find_node(name);
  return n && n->online;
}

int64_t uptime_of(const Guest& g, double now) {
  return g.status == "running" ? static_cast<int64_t>(std::max(0.0, now - g.started_at)) : 0;
}

const GuestSample& sample_of(const LiveView& live, const Guest& g) {
  static const GuestSample kZero;
  auto it = live.guests.find(g.vmid);
  return it == live.guests.end() ? kZero : it->second;
}

// Cumulative counters since start: the current rate times uptime.
struct Counters {
  int64_t netin, netout, diskread, diskwrite;
};
Counters counters(const GuestSample& s, int64_t uptime) {
  const double up = static_cast<double>(uptime);
  return {std::llround(s.netin * up), std::llround(s.netout * up), std::llround(s.diskread * up),
          std::llround(s.diskwrite * up)};
}

void add_counters(Json& j, const GuestSample& s, int64_t uptime) {
  const Counters c = counters(s, uptime);
  j["netin"] = c.netin;
  j["netout"] = c.netout;
  j["diskread"] = c.diskread;
  j["diskwrite"] = c.diskwrite;
}

uint64_t guest_disk_used(const Guest& g) {
  return g.type == GuestType::Lxc && g.status == "running" ? g.maxdisk * 35 / 100 : 0;
}

// A container's swap in use: none until its memory passes 80 % of its
// limit, then up to half its swap limit.
uint64_t swap_used(const Guest& g, const GuestSample& s) {
  if (g.maxmem == 0) return 0;
  const double over = static_cast<double>(s.mem) / static_cast<double>(g.maxmem) - 0.8;
  return static_cast<uint64_t>(static_cast<double>(g.swap) * std::clamp(over / 0.4, 0.0, 0.5));
}

// What `vmstatus($vmid, 1)` adds for a running VM from QMP (qemu-server's
// PVE::QemuServer): per-drive query-blockstats figures, per-tap counters from
// /proc/net/dev (netin is what the host transmits), query-proxmox-support,
// and the balloon statistics of query-balloon.
void add_qmp_figures(Json& j, const Guest& g, const GuestSample& s, int64_t uptime, double now) {
  const Counters c = counters(s, uptime);
  const std::string disk = "scsi0";  // the root disk in guest_config()
  // The model has byte rates only: requests count as 16 KiB each with fixed
  // latencies, so the figures agree with diskread/diskwrite.
  const int64_t rd_ops = c.diskread / 16384, wr_ops = c.diskwrite / 16384;
  j["blockstat"] = {{disk,
                     {{"rd_bytes", c.diskread}, {"wr_bytes", c.diskwrite}, {"rd_operations", rd_ops},
                      {"wr_operations", wr_ops}, {"flush_operations", wr_ops / 8}, {"unmap_bytes", 0},
                      {"unmap_operations", 0}, {"zone_append_bytes", 0}, {"zone_append_operations", 0},
                      {"rd_total_time_ns", rd_ops * 180000}, {"wr_total_time_ns", wr_ops * 420000},
                      {"flush_total_time_ns", wr_ops / 8 * 900000}, {"unmap_total_time_ns", 0},
                      {"zone_append_total_time_ns", 0}, {"rd_merged", 0}, {"wr_merged", 0}, {"unmap_merged", 0},
                      {"zone_append_merged", 0}, {"wr_highest_offset", std::min<uint64_t>(g.maxdisk, 8ull << 30)},
                      {"idle_time_ns", 1200000000}, {"failed_rd_operations", 0}, {"failed_wr_operations", 0},
                      {"failed_flush_operations", 0}, {"failed_unmap_operations", 0},
                      {"failed_zone_append_operations", 0}, {"invalid_rd_operations", 0},
                      {"invalid_wr_operations", 0}, {"invalid_flush_operations", 0},
                      {"invalid_unmap_operations", 0}, {"invalid_zone_append_operations", 0},
                      {"account_invalid", true}, {"account_failed", true}, {"timed_stats", Json::array()}}}};
  // One tap device per netN; the model's traffic goes through the first.
  Json nics = Json::object();
  int index = 0;
  for (const auto& [key, value] : g.config) {
    if (key.size() > 3 && core::starts_with(key, "net") && std::isdigit(static_cast<unsigned char>(key[3]))) {
      const std::string tap = "tap" + std::to_string(g.vmid) + "i" + key.substr(3);
      nics[tap] = index++ == 0 ? Json{{"netin", c.netin}, {"netout", c.netout}} : Json{{"netin", 0}, {"netout", 0}};
    }
  }
  j["nics"] = nics;
  j["proxmox-support"] = {{"backup-fleecing", true}, {"backup-max-workers", true}, {"pbs-dirty-bitmap", true},
                          {"pbs-dirty-bitmap-migration", true}, {"pbs-dirty-bitmap-savevm", true},
                          {"pbs-library-version", "1.5.2 (UNKNOWN)"}, {"pbs-masterkey", true},
                          {"query-bitmap-info", true}};
  // The balloon driver reports the guest's view: total and free memory.
  const uint64_t free_mem = g.maxmem > s.mem ? g.maxmem - s.mem : 0;
  j["balloon"] = g.maxmem;
  j["freemem"] = free_mem;
  j["ballooninfo"] = {{"actual", g.maxmem}, {"max_mem", g.maxmem}, {"total_mem", g.maxmem}, {"free_mem", free_mem},
                      {"mem_swapped_in", 0}, {"mem_swapped_out", 0}, {"major_page_faults", c.diskread / 65536},
                      {"minor_page_faults", c.diskread / 512},
                      {"last_update", static_cast<int64_t>(now)}};
}

Json guest_resource(const World& w, const Guest& g, const LiveView& live, double now) {
  const std::string type(type_path(g.type));
  Json j = {{"id", type + "/" + std::to_string(g.vmid)}, {"type", type}, {"vmid", g.vmid}, {"name", g.name},
            {"node", g.node}, {"maxcpu", g.cpus}, {"maxmem", g.maxmem}, {"maxdisk", g.maxdisk},
            {"template", b(g.is_template)}};
  if (!node_online(w, g.node)) {
    j["status"] = "unknown";
  } else {
    const GuestSample& s = sample_of(live, g);
    const int64_t up = uptime_of(g, now);
    j["status"] = g.status;
    j["cpu"] = r4(s.cpu);
    j["mem"] = s.mem;
    j["memhost"] = s.mem;
    j["disk"] = guest_disk_used(g);
    j["uptime"] = up;
    add_counters(j, s, up);
  }
  if (!g.tags.empty()) j["tags"] = g.tags;
  if (!g.pool.empty()) j["pool"] = g.pool;
  if (!g.lock.empty()) j["lock"] = g.lock;
  if (const HaResource* ha = w.cluster.find_ha(ha_sid(g))) j["hastate"] = ha->state;
  return j;
}

Json node_resource(const Node& n, const LiveView& live, double now) {
  Json j = {{"id", "node/" + n.name}, {"type", "node"}, {"node", n.name}, {"level", ""},
            {"status", n.online ? "online" : "offline"}, {"maxcpu", n.cpus}, {"maxmem", n.memory},
            {"maxdisk", n.rootfs}};
  if (n.online) {
    const NodeSample& s = live.nodes.at(n.name);
    j.update({{"cpu", r4(s.cpu)}, {"mem", s.mem}, {"disk", n.rootfs * 22 / 100},
              {"uptime", static_cast<int64_t>(now - n.boot_time)}, {"cgroup-mode", 2}});
  }
  return j;
}

std::string content_list(const Storage& s) { return core::join(s.content, ","); }

Json storage_resource(const Storage& s, const Node& n, uint64_t used) {
  Json j = {{"id", "storage/" + n.name + "/" + s.id}, {"type", "storage"}, {"storage", s.id}, {"node", n.name},
            {"plugintype", s.type}, {"content", content_list(s)}, {"shared", b(s.shared)},
            {"status", n.online ? "available" : "unknown"}};
  if (n.online) {
    j["maxdisk"] = s.total;
    j["disk"] = std::min(used, s.total);
  }
  return j;
}

}  // namespace

std::vector<const Guest*> guests_on_storage(const World& w, const Storage& s, const std::string& node) {
  std::vector<const Guest*> out;
  for (const auto& [vmid, g] : w.cluster.guests) {
    if (g.storage == s.id && (s.shared || g.node == node)) out.push_back(&g);
  }
  return out;
}

uint64_t storage_volumes(const World& w, const Storage& s, const std::string& node) {
  uint64_t used = 0;
  auto it = w.cluster.volumes.find(Cluster::volume_key(s, node));
  if (it != w.cluster.volumes.end()) {
    for (const Volume& v : it->second) used += v.size;
  }
  return used;
}

uint64_t storage_used(const World& w, const Storage& s, const std::string& node, double now) {
  uint64_t used = storage_volumes(w, s, node);
  for (const Guest* g : guests_on_storage(w, s, node)) used += guest_volume_used(*g, status_time(now));
  return std::min(used, s.total);
}

namespace {

// The entries of one kind of /cluster/resources: pool, node, vm, storage,
// sdn or network.
Json resources_of_kind(const World& w, const LiveView& live, std::string_view kind, double now) {
  Json out = Json::array();
  if (kind == "pool") {
    // pve-manager's PVE::API2::Cluster resources: id "/pool/<name>".
    for (const Pool& p : w.cluster.pools) out.push_back({{"id", "/pool/" + p.id}, {"type", "pool"}, {"pool", p.id}});
  } else if (kind == "node") {
    for (const Node& n : w.cluster.nodes) out.push_back(node_resource(n, live, now));
  } else if (kind == "vm") {
    for (const auto& [vmid, g] : w.cluster.guests) out.push_back(guest_resource(w, g, live, now));
  } else if (kind == "storage") {
    // Storage usage is summed per storage and node in one pass over guests.
    std::map<std::string, uint64_t> used;
    for (const auto& [vmid, g] : w.cluster.guests) {
      const Storage* s = w.cluster.find_storage(g.storage);
      if (s) used[Cluster::volume_key(*s, g.node)] += guest_volume_used(g, status_time(now));
    }
    for (const Node& n : w.cluster.nodes) {
      for (const Storage& s : w.cluster.storages) {
        if (!w.cluster.storage_on_node(s, n.name)) continue;
        const std::string key = Cluster::volume_key(s, n.name);
        out.push_back(storage_resource(s, n, used[key] + storage_volumes(w, s, n.name)));
      }
    }
  } else if (kind == "sdn") {
    for (const Node& n : w.cluster.nodes) {
      out.push_back({{"id", "sdn/" + n.name + "/localnetwork"}, {"type", "sdn"}, {"sdn", "localnetwork"},
                     {"node", n.name}, {"status", n.online ? "ok" : "unknown"}});
    }
  } else if (kind == "network") {
    // PVE 9.1's network entries (schema: network, network-type zone|fabric):
    // every node's local zone.
    for (const Node& n : w.cluster.nodes) {
      out.push_back({{"id", "network/" + n.name + "/zone/localnetwork"}, {"type", "network"},
                     {"network", "localnetwork"}, {"network-type", "zone"}, {"node", n.name},
                     {"status", n.online ? "ok" : "unknown"}});
    }
  }
  return out;
}

// The kinds in PVE's order (pools first). The `type` filter takes vm, node,
// storage or sdn and keeps exactly those entries; pool and network entries
// come only without a filter.
constexpr std::string_view kResourceKinds[] = {"pool", "vm", "node", "storage", "sdn", "network"};

bool kind_wanted(std::string_view kind, const std::string& type) { return type.empty() || type == kind; }

}  // namespace

Json cluster_resources(const World& w, const LiveView& live, const std::string& type, double now) {
  Json out = Json::array();
  for (std::string_view kind : kResourceKinds) {
    if (!kind_wanted(kind, type)) continue;
    for (Json& j : resources_of_kind(w, live, kind, now)) out.push_back(std::move(j));
  }
  return out;
}

Json cluster_status(const World& w) {
  int online = 0;
  for (const Node& n : w.cluster.nodes) online += b(n.online);
  Json out = Json::array();
  out.push_back({{"type", "cluster"}, {"id", "cluster"}, {"name", w.cluster.name},
                 {"nodes", static_cast<int>(w.cluster.nodes.size())}, {"quorate", b(w.cluster.quorate)},
                 {"version", static_cast<int>(w.cluster.nodes.size()) + 2}});
  for (const Node& n : w.cluster.nodes) {
    out.push_back({{"type", "node"}, {"id", "node/" + n.name}, {"name", n.name}, {"nodeid", n.nodeid},
                   {"ip", n.ip}, {"online", b(n.online)}, {"local", b(&n == w.cluster.local_node())},
                   {"level", ""}});
  }
  return out;
}

Json nodes_list(const World& w, const LiveView& live, const std::string& fingerprint, double now) {
  Json out = Json::array();
  for (const Node& n : w.cluster.nodes) {
    Json j = node_resource(n, live, now);
    j.erase("cgroup-mode");
    if (!fingerprint.empty()) j["ssl_fingerprint"] = fingerprint;
    out.push_back(std::move(j));
  }
  return out;
}

Json version_info() { return {{"version", "9.1.1"}, {"release", "9.1"}, {"repoid", "42db4a6cf33dac83"}}; }

Json node_status(const Node& n, const LiveView& live, double now) {
  const NodeSample& s = live.nodes.at(n.name);
  const uint64_t root_used = n.rootfs * 22 / 100;
  return {{"cpu", r4(s.cpu)},
          {"wait", r4(s.iowait)},
          {"loadavg", {fixed2(s.loadavg[0]), fixed2(s.loadavg[1]), fixed2(s.loadavg[2])}},
          {"uptime", static_cast<int64_t>(now - n.boot_time)},
          {"idle", 0},
          {"cpuinfo", {{"cpus", n.cpus}, {"cores", std::max(1, n.cpus / 2)}, {"sockets", 1}, {"model", n.cpu_model},
                       {"mhz", "2999.998"}, {"hvm", "1"}, {"user_hz", 100},
                       {"flags", "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush "
                                 "mmx fxsr sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm svm"}}},
          {"memory", {{"total", n.memory}, {"used", s.mem}, {"free", n.memory - s.mem},
                      {"available", n.memory - s.mem}}},
          {"swap", {{"total", n.swap}, {"used", s.swap}, {"free", n.swap - s.swap}}},
          {"rootfs", {{"total", n.rootfs}, {"used", root_used}, {"free", n.rootfs - root_used},
                      {"avail", n.rootfs - root_used}}},
          {"ksm", {{"shared", 0}}},
          {"kversion", "Linux 6.17.2-1-pve #1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2025-10-21T11:55Z) x86_64"},
          {"current-kernel", {{"sysname", "Linux"}, {"release", "6.17.2-1-pve"}, {"machine", "x86_64"},
                              {"version", "#1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2025-10-21T11:55Z)"}}},
          {"boot-info", {{"mode", "efi"}, {"secureboot", 0}}},
          {"pveversion", "pve-manager/9.1.1/42db4a6cf33dac83"}};
}

Json guest_list_entry(const World& w, const Guest& g, const LiveView& live, double now, bool full) {
  Json j = guest_resource(w, g, live, now);
  j.erase("id");
  j.erase("node");
  j.erase("type");
  j.erase("hastate");
  j.erase("pool");
  j["cpus"] = g.cpus;
  j.erase("maxcpu");
  if (g.type == GuestType::Lxc) {
    j["type"] = "lxc";
    j["maxswap"] = g.swap;
  }
  if (g.status == "running") j["pid"] = 10000 + g.vmid % 50000;
  if (full && g.type == GuestType::Qemu) j["qmpstatus"] = g.suspended ? "paused" : g.status;
  const GuestSample& s = sample_of(live, g);
  // PVE 9 reports all six pressure figures (avg10 of the guest's cgroup
  // pressure files) for VMs and containers alike.
  j.update({{"pressurecpusome", r4(s.pressure_cpu)}, {"pressurecpufull", r4(s.pressure_cpu / 2)},
            {"pressureiosome", r4(s.pressure_io)}, {"pressureiofull", r4(s.pressure_io / 2)},
            {"pressurememorysome", r4(s.pressure_mem)}, {"pressurememoryfull", r4(s.pressure_mem / 2)}});
  if (g.type == GuestType::Lxc) j["swap"] = g.status == "running" ? swap_used(g, s) : 0;
  return j;
}

Json guest_status(const World& w, const Guest& g, const LiveView& live, double now) {
  Json j = guest_list_entry(w, g, live, now, true);
  const HaResource* ha = w.cluster.find_ha(ha_sid(g));
  j["ha"] = ha ? Json{{"managed", 1}, {"state", ha->state}} : Json{{"managed", 0}};
  if (g.type == GuestType::Qemu) {
    j["agent"] = 0;
    if (g.status == "running" && node_online(w, g.node)) {
      j["running-machine"] = "pc-i440fx-10.0+pve0";
      j["running-qemu"] = "10.0.2";
      add_qmp_figures(j, g, sample_of(live, g), uptime_of(g, now), now);
    }
  }
  return j;
}

namespace {

// The guest's config without digest: what its config file holds.
Json config_keys(const Guest& g) {
  Json j;
  const uint64_t mem_mib = g.maxmem >> 20;
  const std::string disk = g.storage.empty() ? "local-lvm" : g.storage;
  const std::string size = std::to_string(g.maxdisk >> 30) + "G";
  if (g.type == GuestType::Qemu) {
    j = {{"name", g.name}, {"cores", g.cpus}, {"sockets", 1}, {"memory", std::to_string(mem_mib)},
         {"scsihw", "virtio-scsi-single"}, {"boot", "order=scsi0;net0"},
         {"scsi0", disk + ":vm-" + std::to_string(g.vmid) + "-disk-0,iothread=1,size=" + size},
         {"smbios1", "uuid=6f1c3f2e-0000-4000-8000-" + std::to_string(100000000000 + g.vmid)}};
  } else {
    j = {{"hostname", g.name}, {"cores", g.cpus}, {"memory", mem_mib}, {"swap", g.swap >> 20},
         {"rootfs", disk + ":subvol-" + std::to_string(g.vmid) + "-disk-0,size=" + size}, {"unprivileged", 1}};
  }
  for (const auto& [k, v] : g.config) {
    if (k == "parent" && v.empty()) continue;
    // Raw LXC keys are one list in PVE's answer: "lxc": [[key, value], ...].
    if (core::starts_with(k, "lxc.")) j["lxc"].push_back({k, v});
    else j[k] = v;
  }
  if (!g.tags.empty()) j["tags"] = g.tags;
  if (!g.lock.empty()) j["lock"] = g.lock;
  if (g.is_template) j["template"] = 1;
  return j;
}

std::string plain(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// One section of a config file as PVE writes it (PVE::QemuServer /
// PVE::LXC::Config write_config): the description as '#' lines, the keys
// sorted as "key: value", raw lxc.* keys last in their order.
std::string config_section(const Json& keys) {
  std::string out;
  if (keys.contains("description")) {
    for (const std::string& line : core::split(plain(keys["description"]), '\n')) out += "#" + line + "\n";
  }
  for (const auto& [key, value] : keys.items()) {  // nlohmann's object keys are sorted
    if (key == "description" || key == "lxc") continue;
    out += key + ": " + plain(value) + "\n";
  }
  if (keys.contains("lxc")) {
    for (const Json& pair : keys["lxc"]) out += plain(pair[0]) + ": " + plain(pair[1]) + "\n";
  }
  return out;
}

}  // namespace

std::string config_file_text(const Guest& g) {
  std::string out = config_section(config_keys(g));
  for (const Snapshot& snap : g.snapshots) {
    Guest then = g;
    restore_config(then, snap.saved);
    Json keys = config_keys(then);
    keys.erase("lock");
    if (!snap.parent.empty()) keys["parent"] = snap.parent;
    keys["snaptime"] = snap.snaptime;
    if (!snap.description.empty()) keys["description"] = snap.description;
    out += "\n[" + snap.name + "]\n" + config_section(keys);
  }
  return out;
}

// PVE's digest: Digest::SHA::sha1_hex of the config file's text.
Json guest_config(const Guest& g) {
  Json j = config_keys(g);
  j["digest"] = sha1_hex(config_file_text(g));
  return j;
}

Json snapshot_list(const Guest& g) {
  Json out = Json::array();
  for (const Snapshot& s : g.snapshots) {
    Json j = {{"name", s.name}, {"description", s.description}, {"snaptime", s.snaptime}};
    if (!s.parent.empty()) j["parent"] = s.parent;
    out.push_back(std::move(j));
  }
  Json current = {{"name", "current"}, {"description", "You are here!"}, {"running", b(g.status == "running")}};
  auto parent = g.config.find("parent");
  if (parent != g.config.end() && !parent->second.empty()) current["parent"] = parent->second;
  out.push_back(std::move(current));
  return out;
}

namespace {

void append_string(std::string& out, const std::string& s) {
  const bool plain = std::all_of(s.begin(), s.end(), [](char c) {
    return c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20;
  });
  if (plain) {
    out += '"';
    out += s;
    out += '"';
  } else {
    out += Json(s).dump();
  }
}

// One guest of /cluster/resources, the fields of guest_resource().
void write_guest(std::string& out, const Guest& g, const LiveView& live, double now, bool node_up,
                 const HaResource* ha) {
  auto it = std::back_inserter(out);
  const std::string_view type = type_path(g.type);
  fmt::format_to(it, R"({{"id":"{}/{}","type":"{}","vmid":{},"name":)", type, g.vmid, type, g.vmid);
  append_string(out, g.name);
  out += ",\"node\":";
  append_string(out, g.node);
  fmt::format_to(it, R"(,"maxcpu":{},"maxmem":{},"maxdisk":{},"template":{})", g.cpus, g.maxmem, g.maxdisk,
                 b(g.is_template));
  if (!node_up) {
    out += R"(,"status":"unknown")";
  } else {
    const GuestSample& s = sample_of(live, g);
    const int64_t up = uptime_of(g, now);
    const Counters c = counters(s, up);
    out += ",\"status\":";
    append_string(out, g.status);
    fmt::format_to(it, R"(,"cpu":{},"mem":{},"memhost":{},"disk":{},"uptime":{},"netin":{},"netout":{},)"
                       R"("diskread":{},"diskwrite":{})",
                   r4(s.cpu), s.mem, s.mem, guest_disk_used(g), up, c.netin, c.netout, c.diskread, c.diskwrite);
  }
  const std::pair<const char*, const std::string*> optional_fields[] = {
      {"tags", &g.tags}, {"pool", &g.pool}, {"lock", &g.lock}};
  for (const auto& [key, value] : optional_fields) {
    if (value->empty()) continue;
    fmt::format_to(it, R"(,"{}":)", key);
    append_string(out, *value);
  }
  if (ha) {
    out += ",\"hastate\":";
    append_string(out, ha->state);
  }
  out += '}';
}

}  // namespace

std::string cluster_resources_body(const World& w, const LiveView& live, const std::string& type, double now) {
  std::string out = "{\"data\":[";
  bool first = true;
  auto separator = [&] {
    if (!first) out += ',';
    first = false;
  };
  for (std::string_view kind : kResourceKinds) {
    if (!kind_wanted(kind, type)) continue;
    if (kind != "vm") {
      for (const Json& j : resources_of_kind(w, live, kind, now)) {
        separator();
        out += j.dump();
      }
      continue;
    }
    std::unordered_set<std::string> offline;
    for (const Node& n : w.cluster.nodes) {
      if (!n.online) offline.insert(n.name);
    }
    std::unordered_map<std::string, const HaResource*> ha;
    for (const HaResource& r : w.cluster.ha_resources) ha[r.sid] = &r;
    out.reserve(out.size() + w.cluster.guests.size() * 400);
    for (const auto& [vmid, g] : w.cluster.guests) {
      separator();
      auto h = ha.empty() ? ha.end() : ha.find(ha_sid(g));
      write_guest(out, g, live, now, !offline.count(g.node), h == ha.end() ? nullptr : h->second);
    }
  }
  out += "]}";
  return out;
}

}  // namespace pvekit::sim
