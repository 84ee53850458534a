#pragma once

// Named clusters and helpers for the balancer's unit tests.

#include <string>
#include <vector>

#include "balance/config.h"
#include "balance/generator.h"
#include "balance/model.h"
#include "balance/planner.h"

namespace pvekit::balance::fixtures {

inline Node node(const std::string& name, uint64_t memory_gib = 64, uint32_t cpus = 16) {
  Node n;
  n.name = name;
  n.cpus = cpus;
  n.memory_total = memory_gib * kGiB;
  n.memory_used = 0;
  n.disk_total = 1024 * kGiB;
  n.disk_used = 0;
  return n;
}

// A running guest using all of its `memory_gib`; node figures are updated by add().
inline Guest guest(uint32_t vmid, const std::string& node, uint64_t memory_gib = 4,
                   std::vector<std::string> tags = {}) {
  Guest g;
  g.vmid = vmid;
  g.name = "vm" + std::to_string(vmid);
  g.node = node;
  g.memory_max = memory_gib * kGiB;
  g.memory_used = memory_gib * kGiB;
  g.cpus = 2;
  g.cpu_usage = 0.5;
  g.disk_bytes = 32 * kGiB;
  g.tags = std::move(tags);
  return g;
}

// Adds a guest and keeps its node's used memory / cpu figures consistent.
inline void add(ClusterState& s, Guest g) {
  for (auto& n : s.nodes) {
    if (n.name != g.node) continue;
    if (g.status == GuestStatus::Running) {
      n.memory_used += g.memory_used;
      n.cpu_usage += g.cpu_usage * g.cpus / n.cpus;
    }
    n.disk_used += g.local_disk_bytes;
  }
  s.guests.push_back(std::move(g));
}

// Three equal nodes (64 GiB, 16 cores), three 4 GiB guests on each.
inline ClusterState homogeneous_cluster() {
  ClusterState s;
  for (const char* n : {"node1", "node2", "node3"}) s.nodes.push_back(node(n));
  uint32_t vmid = 100;
  for (const char* n : {"node1", "node2", "node3"})
    for (int i = 0; i < 3; ++i) add(s, guest(vmid++, n));
  return s;
}

// Three equal nodes; node1 carries six 4 GiB guests, the others one each.
inline ClusterState one_hot_node() {
  ClusterState s;
  for (const char* n : {"node1", "node2", "node3"}) s.nodes.push_back(node(n));
  for (uint32_t i = 0; i < 6; ++i) add(s, guest(100 + i, "node1"));
  add(s, guest(200, "node2"));
  add(s, guest(300, "node3"));
  return s;
}

// Four empty nodes; guests are added by each test.
inline ClusterState empty_cluster(size_t nodes = 4) {
  ClusterState s;
  for (size_t i = 1; i <= nodes; ++i) s.nodes.push_back(node("node" + std::to_string(i)));
  return s;
}

// A valid config: password auth, everything else at its default, and a
// migration cost low enough for the small fixtures.
inline BalanceConfig test_config() {
  auto cfg = load_config("proxmox_api:\n  hosts: [pve1]\n  pass: secret\n", "test.yaml", {});
  BalanceConfig c = cfg.ok() ? *cfg : BalanceConfig{};
  c.balancing.balanciness = 1.0;
  c.balancing.migration_cost = {0.0, 0.0001};
  return c;
}

inline const Guest& guest_of(const ClusterState& s, uint32_t vmid) { return *s.find_guest(vmid); }

// Applies the moves of waves [0, upto) to a copy of the state (node
// assignment only).
inline ClusterState after_waves(ClusterState s, const Plan& p, size_t upto) {
  for (size_t w = 0; w < upto && w < p.waves.size(); ++w)
    for (size_t i : p.waves[w])
      for (auto& g : s.guests)
        if (g.vmid == p.moves[i].vmid) g.node = p.moves[i].to;
  return s;
}

inline std::string node_after(const ClusterState& s, const Plan& p, uint32_t vmid) {
  return after_waves(s, p, p.waves.size()).find_guest(vmid)->node;
}

}  // namespace pvekit::balance::fixtures
