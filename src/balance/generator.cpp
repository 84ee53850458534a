#include "balance/generator.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace pvekit::balance {
namespace {

// splitmix64: tiny, fast and identical everywhere (std distributions are not).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  size_t below(size_t n) { return static_cast<size_t>(uniform() * static_cast<double>(n)); }
  bool chance(double p) { return uniform() < p; }

 private:
  uint64_t state_;
};

std::string node_name(size_t i, size_t count) {
  std::string digits = std::to_string(i + 1);
  size_t width = std::max<size_t>(2, std::to_string(count).size());
  return "node" + std::string(width - digits.size(), '0') + digits;
}

// Node sizes scale with guests per node so the cluster has about half its
// memory whatever the options (10 GiB per guest; a guest assigns 7.8 GiB and uses 4.7 GiB on
// average.
Node make_node(Rng& rng, size_t i, const GeneratorOptions& o) {
  size_t per_node = std::max<size_t>(1, o.guests / std::max<size_t>(1, o.nodes));
  uint64_t base_gib = std::max<uint64_t>(64, 10 * per_node);
  uint32_t base_cpus = static_cast<uint32_t>(std::max<size_t>(16, 2 * per_node));
  Node n;
  n.name = node_name(i, o.nodes);
  size_t size = 1 + rng.below(3);  // 1x, 2x or 3x, mean 2x: a mixed cluster
  n.cpus = base_cpus * static_cast<uint32_t>(size);
  n.memory_total = base_gib * size * kGiB / 2;
  n.memory_used = (2 + rng.below(3)) * kGiB;  // the host's own use
  n.disk_total = 2048 * kGiB;
  n.disk_used = 50 * kGiB;
  n.cpu_usage = 0.02;
  return n;
}

Guest make_guest(Rng& rng, size_t i, const GeneratorOptions& o) {
  static const uint64_t mem_gib[] = {1, 1, 2, 2, 4, 4, 8, 16, 32};
  Guest g;
  g.vmid = static_cast<uint32_t>(100 + i);
  g.type = rng.chance(0.2) ? GuestType::Lxc : GuestType::Qemu;
  g.name = (g.type == GuestType::Lxc ? "ct" : "vm") + std::to_string(g.vmid);
  g.memory_max = mem_gib[rng.below(std::size(mem_gib))] * kGiB;
  g.cpus = static_cast<uint32_t>(1 + rng.below(8));
  g.disk_bytes = (8 + rng.below(120)) * kGiB;
  if (rng.chance(o.local_disks)) g.local_disk_bytes = g.disk_bytes;
  g.status = rng.chance(o.stopped) ? GuestStatus::Stopped : GuestStatus::Running;
  if (g.status == GuestStatus::Running) {
    g.memory_used = static_cast<uint64_t>(static_cast<double>(g.memory_max) * (0.3 + 0.6 * rng.uniform()));
    g.cpu_usage = 0.8 * rng.uniform();
  }
  return g;
}

// Skewed placement that respects memory: the first nodes get more guests.
size_t place(Rng& rng, const Guest& g, std::vector<Node>& nodes, double skew) {
  size_t n = nodes.size();
  size_t start = static_cast<size_t>(std::pow(rng.uniform(), 1.0 + 3.0 * skew) * static_cast<double>(n));
  for (size_t k = 0; k < n; ++k) {
    Node& node = nodes[(start + k) % n];
    if (static_cast<double>(node.memory_used + g.memory_used) <= 0.9 * static_cast<double>(node.memory_total))
      return (start + k) % n;
  }
  return start % n;
}

void add_tags(Rng& rng, Guest& g, const GeneratorOptions& o, size_t node_count) {
  size_t groups = o.guests / 40 + 1;
  // Anti-affinity groups stay smaller than the cluster (about nodes/2 members).
  size_t anti_groups = std::max<size_t>(1, static_cast<size_t>(0.05 * o.guests) / std::max<size_t>(1, node_count / 2));
  if (rng.chance(0.05)) g.tags.push_back("plb_affinity_g" + std::to_string(rng.below(groups)));
  if (rng.chance(0.05)) g.tags.push_back("plb_anti_affinity_a" + std::to_string(rng.below(anti_groups)));
  if (rng.chance(0.02)) {
    g.tags.push_back("plb_pin_" + node_name(rng.below(node_count), node_count));
    if (rng.chance(0.5)) g.tags.push_back("plb_pin_" + node_name(rng.below(node_count), node_count));
  }
  if (rng.chance(0.01)) g.tags.push_back("plb_ignore_me");
  if (rng.chance(0.01)) g.lock = "backup";
  if (rng.chance(0.01)) {
    g.is_template = true;
    g.status = GuestStatus::Stopped;
    g.memory_used = 0;
    g.cpu_usage = 0.0;
  }
  std::sort(g.tags.begin(), g.tags.end());
  g.tags.erase(std::unique(g.tags.begin(), g.tags.end()), g.tags.end());
}

void add_ha_rules(Rng& rng, ClusterState& state) {
  size_t n = state.nodes.size(), guests = state.guests.size();
  if (guests < 4 || n < 2) return;
  for (int r = 0; r < 2; ++r) {
    NodeAffinityRule rule{"na" + std::to_string(r), {}, {}, r == 0, true};
    for (int k = 0; k < 3; ++k) rule.resources.push_back(state.guests[rng.below(guests)].vmid);
    rule.nodes.push_back({state.nodes[rng.below(n)].name, 2});
    rule.nodes.push_back({state.nodes[rng.below(n)].name, 1});
    state.node_affinity.push_back(rule);
  }
  ResourceAffinityRule together{"keep-together", true, {}, true};
  ResourceAffinityRule apart{"keep-apart", false, {}, true};
  for (int k = 0; k < 2; ++k) together.resources.push_back(state.guests[rng.below(guests)].vmid);
  for (size_t k = 0; k < std::min<size_t>(3, n); ++k) apart.resources.push_back(state.guests[rng.below(guests)].vmid);
  state.resource_affinity = {together, apart};
  for (auto& g : state.guests) {
    for (const auto& rule : state.node_affinity)
      if (std::count(rule.resources.begin(), rule.resources.end(), g.vmid)) g.ha_managed = true;
  }
}

}  // namespace

ClusterState generate_cluster(const GeneratorOptions& o) {
  Rng rng(o.seed);
  ClusterState state;
  for (size_t i = 0; i < o.nodes; ++i) state.nodes.push_back(make_node(rng, i, o));
  for (size_t i = 0; i < o.guests && !state.nodes.empty(); ++i) {
    Guest g = make_guest(rng, i, o);
    if (o.rules) add_tags(rng, g, o, o.nodes);
    Node& node = state.nodes[place(rng, g, state.nodes, o.skew)];
    g.node = node.name;
    node.memory_used += g.memory_used;
    node.disk_used += g.local_disk_bytes;
    if (g.status == GuestStatus::Running)
      node.cpu_usage = std::min(1.0, node.cpu_usage + g.cpu_usage * g.cpus / node.cpus);
    state.guests.push_back(std::move(g));
  }
  if (o.ha_rules) add_ha_rules(rng, state);
  for (size_t k = 0; k < o.maintenance_nodes && k < o.nodes; ++k)
    state.nodes[o.nodes - 1 - k].maintenance = true;
  for (size_t k = 0; k < o.offline_nodes && o.maintenance_nodes + k < o.nodes; ++k)
    state.nodes[o.nodes - 1 - o.maintenance_nodes - k].online = false;
  return state;
}

}  // namespace pvekit::balance
