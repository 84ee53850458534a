#include "common.h"

#include <algorithm>
#include <map>

namespace bench_balance {
namespace {

double ms_between(const timespec& a, const timespec& b) {
  return static_cast<double>(b.tv_sec - a.tv_sec) * 1e3 + static_cast<double>(b.tv_nsec - a.tv_nsec) / 1e6;
}

bool running(const pb::Guest& g) { return g.status == pb::GuestStatus::Running; }

}  // namespace

pb::BalanceConfig memory_config(double balanciness) {
  pb::BalanceConfig config;
  config.balancing.method = pb::Method::Memory;
  config.balancing.mode = pb::Mode::Used;
  config.balancing.weights = pb::Weights{1.0, 0.0, 0.0};
  config.balancing.balanciness = balanciness;
  return config;
}

size_t node_index(const pb::ClusterState& state, const std::string& name) {
  for (size_t i = 0; i < state.nodes.size(); ++i)
    if (state.nodes[i].name == name) return i;
  return state.nodes.size();
}

void relocate_one(pb::ClusterState& state, const Relocation& r) {
  pb::Guest& g = state.guests[r.guest];
  size_t from = node_index(state, g.node);
  if (from == r.node || from >= state.nodes.size()) return;
  pb::Node& src = state.nodes[from];
  pb::Node& dst = state.nodes[r.node];
  uint64_t mem = running(g) ? g.memory_used : 0;
  src.memory_used -= mem;
  dst.memory_used += mem;
  src.disk_used -= g.local_disk_bytes;
  dst.disk_used += g.local_disk_bytes;
  g.node = dst.name;
}

pb::ClusterState relocate(const pb::ClusterState& state, const std::vector<Relocation>& moves) {
  pb::ClusterState out = state;
  for (const Relocation& r : moves) relocate_one(out, r);
  return out;
}

std::vector<Relocation> relocations_of(const pb::ClusterState& state, const pb::Plan& plan) {
  std::map<uint32_t, size_t> guest_at;
  for (size_t i = 0; i < state.guests.size(); ++i) guest_at[state.guests[i].vmid] = i;
  std::vector<Relocation> out;
  for (const pb::Move& m : plan.moves) out.push_back({guest_at.at(m.vmid), node_index(state, m.to)});
  return out;
}

double imbalance(const pb::ClusterState& state, const pb::BalanceConfig& config) {
  return pb::LoadModel(state, config).imbalance();
}

double spread(const pb::ClusterState& state, const pb::BalanceConfig& config) {
  return pb::LoadModel(state, config).spread();
}

double gib_moved(const pb::ClusterState& state, const std::vector<Relocation>& moves) {
  std::map<size_t, size_t> final_node;
  for (const Relocation& r : moves) final_node[r.guest] = r.node;
  uint64_t bytes = 0;
  for (auto [g, n] : final_node)
    if (node_index(state, state.guests[g].node) != n) bytes += migration_bytes(state.guests[g]);
  return gib(bytes);
}

uint64_t migration_bytes(const pb::Guest& guest) {
  return (running(guest) ? guest.memory_used : 0) + guest.local_disk_bytes;
}

bool fits(const pb::Node& node, const pb::Guest& guest) {
  uint64_t mem = running(guest) ? guest.memory_used : 0;
  uint64_t mem_cap = node.memory_total - std::min(node.memory_total, node.reserve.memory);
  uint64_t disk_cap = node.disk_total - std::min(node.disk_total, node.reserve.disk);
  if (node.memory_used + mem > mem_cap) return false;
  return guest.local_disk_bytes == 0 || node.disk_used + guest.local_disk_bytes <= disk_cap;
}

Stopwatch::Stopwatch() {
  clock_gettime(CLOCK_MONOTONIC, &wall_);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu_);
}

Timing Stopwatch::elapsed() const {
  timespec wall{}, cpu{};
  clock_gettime(CLOCK_MONOTONIC, &wall);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
  return {ms_between(wall_, wall), ms_between(cpu_, cpu)};
}

}  // namespace bench_balance
