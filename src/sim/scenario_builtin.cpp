// The built-in default cluster and the synthetic large-cluster generator.
#include <algorithm>

#include "core/strings.h"
#include "sim/dynamics.h"
#include "sim/scenario.h"

namespace pvekit::sim {
namespace {

constexpr uint64_t kGiB = 1024ull * 1024 * 1024;

Node make_node(const std::string& name, int index, int cpus, uint64_t mem_gib, double now) {
  Node n;
  n.name = name;
  n.nodeid = index + 1;
  n.ip = "10.0.0." + std::to_string(11 + index);
  n.cpus = cpus;
  n.memory = mem_gib * kGiB;
  n.rootfs = 100 * kGiB;
  n.swap = 8 * kGiB;
  n.base_cpu = 0.02;
  n.base_mem = 2 * kGiB + mem_gib * kGiB / 64;
  n.boot_time = now - 86400.0 * (12 + index * 3);
  return n;
}

void add_standard_storages(Cluster& c) {
  c.storages.push_back({"local", "dir", {"iso", "vztmpl", "backup", "import"}, false, {}, 100 * kGiB, "/var/lib/vz"});
  c.storages.push_back({"local-lvm", "lvmthin", {"images", "rootdir"}, false, {}, 800 * kGiB, ""});
  c.storages.push_back({"ceph", "rbd", {"images", "rootdir"}, true, {}, 40 * 1024 * kGiB, ""});
  for (const Node& n : c.nodes) {
    auto& vols = c.volumes[n.name + "/local"];
    vols.push_back({"local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst", "vztmpl", "tzst", 126ull << 20, 1730000000, 0});
    vols.push_back({"local:vztmpl/alpine-3.22-default_20250617_amd64.tar.xz", "vztmpl", "txz", 3ull << 20, 1750000000, 0});
    vols.push_back({"local:iso/debian-13.1.0-amd64-netinst.iso", "iso", "iso", 754ull << 20, 1757000000, 0});
  }
}

Guest make_guest(int vmid, GuestType type, const std::string& node, uint64_t seed, double now) {
  Guest g;
  g.vmid = vmid;
  g.type = type;
  g.node = node;
  g.name = std::string(type == GuestType::Qemu ? "vm" : "ct") + std::to_string(vmid);
  const double r = unit_hash(seed, static_cast<uint64_t>(vmid), 1);
  static const int kCores[] = {1, 2, 2, 4, 4, 8};
  static const uint64_t kMemGiB[] = {1, 2, 4, 4, 8, 16};
  g.cpus = kCores[static_cast<int>(r * 6) % 6];
  g.maxmem = kMemGiB[static_cast<int>(unit_hash(seed, vmid, 2) * 6) % 6] * kGiB;
  g.maxdisk = (type == GuestType::Qemu ? 32 : 8) * kGiB;
  g.swap = type == GuestType::Lxc ? 512ull << 20 : 0;
  g.storage = unit_hash(seed, vmid, 3) < 0.2 ? "local-lvm" : "ceph";
  g.load.cpu = 0.05 + 0.3 * unit_hash(seed, vmid, 4);
  g.load.mem = 0.3 + 0.5 * unit_hash(seed, vmid, 5);
  g.load.peak_hour = 8 + 12 * unit_hash(seed, vmid, 6);
  g.started_at = now - 3600.0 * (1 + 500 * unit_hash(seed, vmid, 7));
  if (type == GuestType::Lxc) {
    g.config["ostype"] = "debian";
    g.config["net0"] = "name=eth0,bridge=vmbr0,ip=dhcp,type=veth";
  } else {
    g.config["ostype"] = "l26";
    g.config["net0"] = "virtio=BC:24:11:00:" + std::to_string(10 + vmid % 90) + ":01,bridge=vmbr0";
  }
  return g;
}

}  // namespace

Cluster default_cluster(double now) {
  Cluster c;
  c.name = "pvesim";
  c.seed = 42;
  const struct { const char* name; int cpus; uint64_t mem; } sizes[] = {
      {"pve1", 64, 256}, {"pve2", 48, 192}, {"pve3", 32, 128}, {"pve4", 24, 96}, {"pve5", 16, 64}};
  for (int i = 0; i < 5; ++i) c.nodes.push_back(make_node(sizes[i].name, i, sizes[i].cpus, sizes[i].mem, now));
  add_standard_storages(c);
  c.pools = {{"prod", "Production guests", {"ceph"}}, {"dev", "Development guests", {}}};
  // Deliberately unbalanced: pve3 and pve4 carry more than their share, pve5 little.
  const char* placement[] = {"pve1", "pve2", "pve3", "pve3", "pve4", "pve4", "pve3", "pve1", "pve2", "pve4",
                             "pve3", "pve5"};
  for (int i = 0; i < 60; ++i) {
    const int vmid = 100 + i;
    Guest g = make_guest(vmid, i % 3 == 2 ? GuestType::Lxc : GuestType::Qemu, placement[i % 12], c.seed, now);
    if (g.node == "pve3" || g.node == "pve4") g.load.cpu += 0.08;
    if (i % 10 == 9) g.status = "stopped";
    g.pool = i < 20 ? "prod" : (i < 40 ? "dev" : "");
    c.guests.emplace(vmid, std::move(g));
  }
  c.guests[100].tags = "plb_affinity_web";
  c.guests[101].tags = "plb_affinity_web";
  c.guests[103].tags = "plb_anti_affinity_db";
  c.guests[106].tags = "plb_anti_affinity_db";
  c.guests[104].tags = "plb_pin_pve1";
  c.guests[105].tags = "plb_ignore";
  for (int vmid : {100, 101, 103, 104, 106}) c.guests[vmid].storage = "ceph";  // HA and tagged guests: shared
  c.guests[100].name = "web1";
  c.guests[101].name = "web2";
  c.ha_resources.push_back({"vm:100", "started", 1, 1, "web frontend", ""});
  c.ha_rules.push_back({"ha-web-prefer-big", "node-affinity", {"vm:100"}, {"pve1:2", "pve2:1"}, "", false, false,
                        "prefer the big nodes"});
  c.access.users.push_back(default_root_user());
  c.datacenter = {{"crs", "ha=static,ha-rebalance-on-start=1"}, {"keyboard", "en-us"}};
  return c;
}

core::Result<GenerateSpec> parse_generate_spec(const std::string& text) {
  GenerateSpec spec;
  for (const std::string& part : core::split(text, ',', true)) {
    auto eq = part.find('=');
    auto value = eq == std::string::npos ? std::nullopt : core::parse_int(part.substr(eq + 1));
    std::string key = eq == std::string::npos ? part : part.substr(0, eq);
    if (!value || *value < 1) {
      return core::Error(core::ErrorCategory::Usage, "--generate: '" + part + "' is not key=positive-integer");
    }
    if (key == "nodes") {
      spec.nodes = static_cast<int>(*value);
    } else if (key == "guests") {
      spec.guests = static_cast<int>(*value);
    } else {
      return core::Error(core::ErrorCategory::Usage, "--generate: unknown key '" + key + "' (nodes, guests)");
    }
  }
  return spec;
}

Cluster generate_cluster(const GenerateSpec& spec, uint64_t seed, double now) {
  Cluster c;
  c.name = "pvesim-large";
  c.seed = seed;
  // Big hosts: 10,000 guests on 50 nodes are about 200 guests a node.
  const int cpus[] = {128, 96, 64};
  const uint64_t mem[] = {1024, 768, 512};
  for (int i = 0; i < spec.nodes; ++i) {
    c.nodes.push_back(make_node("node" + std::to_string(i + 1), i, cpus[i % 3], mem[i % 3], now));
  }
  add_standard_storages(c);
  c.pools = {{"prod", "Production guests", {}}};
  for (int i = 0; i < spec.guests; ++i) {
    const int vmid = 100 + i;
    // Skewed placement: the first third of the nodes carries 45% of the guests.
    const double u = unit_hash(seed, vmid, 9);
    const int third = spec.nodes / 3;
    const int node = third == 0 ? static_cast<int>(u * spec.nodes) % spec.nodes
                     : u < 0.45 ? static_cast<int>(u / 0.45 * third) % third
                                : third + static_cast<int>((u - 0.45) / 0.55 * (spec.nodes - third)) % (spec.nodes - third);
    Guest g = make_guest(vmid, i % 4 == 3 ? GuestType::Lxc : GuestType::Qemu, c.nodes[node].name, seed, now);
    g.load.cpu *= 0.6;
    g.maxmem = std::max<uint64_t>(kGiB, g.maxmem / 2);
    if (i % 15 == 14) g.status = "stopped";
    if (i % 50 == 0) g.tags = "plb_affinity_g" + std::to_string(i / 500);
    if (i % 70 == 1) g.tags = "plb_anti_affinity_a" + std::to_string(i / 700);
    if (i % 3 == 0) g.pool = "prod";
    c.guests.emplace(vmid, std::move(g));
  }
  c.access.users.push_back(default_root_user());
  return c;
}

}  // namespace pvekit::sim
