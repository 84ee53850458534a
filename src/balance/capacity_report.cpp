// proxlb capacity: what-if changes and the per-node / cluster statistics.
#include <algorithm>
#include <cmath>

#include "balance/capacity.h"
#include "balance/planner.h"
#include "core/strings.h"

namespace pvekit::balance {
namespace {

core::Error usage(std::string message) { return core::Error(core::ErrorCategory::Usage, std::move(message)); }

std::string node_names(const ClusterState& state) {
  std::vector<std::string> names;
  for (const auto& n : state.nodes) names.push_back(n.name);
  return core::join(names, ", ");
}

Node* find(ClusterState& state, std::string_view name) {
  for (auto& n : state.nodes)
    if (n.name == name) return &n;
  return nullptr;
}

// Memory the node uses beyond its running guests: the host's own share.
uint64_t host_memory(const ClusterState& state, const Node& node) {
  uint64_t guests = 0;
  for (const auto& g : state.guests)
    if (g.node == node.name && g.status == GuestStatus::Running) guests += g.memory_used;
  return node.memory_used > guests ? node.memory_used - guests : 0;
}

void add_load(Node& node, uint64_t memory, double cores, uint64_t disk) {
  node.memory_used += memory;
  if (node.cpus > 0) node.cpu_usage = std::min(1.0, node.cpu_usage + cores / node.cpus);
  node.disk_used += disk;
}

core::Status add_nodes_like(WhatIfResult& r, const std::vector<std::string>& like) {
  for (const auto& name : like) {
    const Node* model = r.state.find_node(name);
    if (!model) return usage("--add-node-like '" + name + "': unknown node (nodes: " + node_names(r.state) + ")");
    Node copy = *model;
    for (int i = 1; r.state.find_node(copy.name = name + "-new" + (i > 1 ? std::to_string(i) : "")); ++i) {
    }
    copy.memory_used = host_memory(r.state, *model);
    copy.cpu_usage = 0;
    copy.disk_used = 0;
    copy.maintenance = false;
    copy.online = true;
    r.notes.push_back("added node " + copy.name + " like " + name + " (" +
                      core::format_bytes(static_cast<double>(copy.memory_total)) + ", " +
                      std::to_string(copy.cpus) + " cores), empty");
    r.state.nodes.push_back(std::move(copy));
  }
  return core::ok();
}

core::Status remove_nodes(WhatIfResult& r, const BalanceConfig& config, const std::vector<std::string>& names) {
  for (const auto& name : names)
    if (!r.state.find_node(name))
      return usage("--remove-node '" + name + "': unknown node (nodes: " + node_names(r.state) + ")");
  if (names.size() >= r.state.nodes.size()) return usage("--remove-node: cannot remove every node");
  auto moved = restart_elsewhere(r.state, config, names);
  size_t placed = 0;
  for (const auto& d : moved) {
    auto it = std::find_if(r.state.guests.begin(), r.state.guests.end(), [&](const Guest& g) { return g.vmid == d.vmid; });
    if (d.target.empty()) {
      r.unplaced.push_back(d);
      r.state.guests.erase(it);
      continue;
    }
    ++placed;
    it->node = d.target;
    it->migration.reset();
    add_load(*find(r.state, d.target), it->memory_used, it->cpu_usage * it->cpus, it->local_disk_bytes);
  }
  size_t stopped = 0;
  std::erase_if(r.state.guests, [&](const Guest& g) {
    const bool gone = std::find(names.begin(), names.end(), g.node) != names.end();
    stopped += gone;
    return gone;
  });
  std::erase_if(r.state.nodes, [&](const Node& n) { return std::find(names.begin(), names.end(), n.name) != names.end(); });
  std::string note = "removed " + core::join(names, ", ") + ": " + std::to_string(placed) + " running guests moved";
  if (!r.unplaced.empty()) note += ", " + std::to_string(r.unplaced.size()) + " found no room";
  if (stopped) note += ", " + std::to_string(stopped) + " stopped guests not counted";
  r.notes.push_back(note);
  return core::ok();
}

// New guests are placed one after another where best-node would put them;
// they count with all their memory used and the cluster's mean CPU use per
// vCPU (they have no history).
void add_guests(WhatIfResult& r, const BalanceConfig& config, const WhatIf& w) {
  double cpu_sum = 0, vcpus = 0;
  uint32_t vmid = 100;
  for (const auto& g : r.state.guests) {
    vmid = std::max(vmid, g.vmid + 1);
    if (g.status == GuestStatus::Running) cpu_sum += g.cpu_usage * g.cpus, vcpus += g.cpus;
  }
  const double cpu_per_vcpu = vcpus > 0 ? cpu_sum / vcpus : 0.0;
  const PlacementRequest request{.memory = w.guest_memory, .cpus = static_cast<uint32_t>(w.guest_cores), .disk = w.guest_disk, .tags = {}, .pool = {}};
  std::map<std::string, int> per_node;
  for (int i = 0; i < w.add_guests; ++i, ++vmid) {
    Guest g;
    g.vmid = vmid;
    g.name = "new" + std::to_string(i + 1);
    g.memory_max = g.memory_used = w.guest_memory;
    g.cpus = static_cast<uint32_t>(w.guest_cores);
    g.cpu_usage = cpu_per_vcpu;
    g.disk_bytes = g.local_disk_bytes = w.guest_disk;
    auto node = best_node(r.state, config, request);
    if (!node) {
      r.unplaced.push_back({g.vmid, g.name, "", {static_cast<double>(g.memory_max), static_cast<double>(g.cpus),
                                                 static_cast<double>(g.local_disk_bytes)}, ""});
      continue;
    }
    g.node = *node;
    ++per_node[g.node];
    add_load(*find(r.state, g.node), g.memory_used, g.cpu_usage * g.cpus, g.local_disk_bytes);
    r.state.guests.push_back(std::move(g));
  }
  std::vector<std::string> where;
  for (const auto& [node, count] : per_node) where.push_back(node + " " + std::to_string(count));
  std::string note = "added " + std::to_string(w.add_guests) + " guests of " +
                     core::format_bytes(static_cast<double>(w.guest_memory)) + ", " + std::to_string(w.guest_cores) +
                     " cores";
  if (!where.empty()) note += ": " + core::join(where, ", ");
  size_t placed = 0;
  for (const auto& [node, count] : per_node) placed += static_cast<size_t>(count);
  const size_t missing = static_cast<size_t>(w.add_guests) - placed;
  if (missing) note += "; " + std::to_string(missing) + " found no room";
  r.notes.push_back(note);
}

struct Figures {
  double memory_used = 0, memory_assigned = 0, cpu_used = 0, cpu_assigned = 0, disk_used = 0, disk_assigned = 0;
};

Figures figures(const ClusterState& state, const Node& node) {
  Figures f{.memory_used = static_cast<double>(node.memory_used),
            .cpu_used = node.cpu_usage * node.cpus,
            .disk_used = static_cast<double>(node.disk_used)};
  for (const auto& g : state.guests) {
    if (g.node != node.name) continue;
    f.disk_assigned += static_cast<double>(g.local_disk_bytes);
    if (g.status != GuestStatus::Running) continue;
    f.memory_assigned += static_cast<double>(g.memory_max);
    f.cpu_assigned += g.cpus;
  }
  return f;
}

std::vector<Sample> shifted(const std::vector<Sample>& s, double by) {
  std::vector<Sample> out = s;
  for (auto& p : out) p.value = std::max(0.0, p.value + by);
  return out;
}

std::vector<Sample> flat(const std::vector<Sample>& times, double value) {
  std::vector<Sample> out = times;
  for (auto& p : out) p.value = value;
  return out;
}


ResourceStats stats(CapacityResource resource, double capacity, double now, const std::vector<Sample>* history,
                    const CapacityOptions& options) {
  ResourceStats r{.resource = resource, .capacity = capacity, .now = now};
  double basis = now;
  if (history && !history->empty()) {
    std::vector<double> values;
    for (const auto& p : *history)
      if (std::isfinite(p.value)) values.push_back(p.value);
    if (!values.empty()) {
      r.p50 = percentile(values, 50);
      r.p90 = percentile(values, 90);
      r.p99 = percentile(values, 99);
      basis = *r.p99;
    }
    r.history = *history;
    r.forecast = forecast(*history, capacity, options.forecast);
  }
  r.headroom = options.forecast.threshold * capacity - basis;
  return r;
}

ScopeReport scope(std::string name, bool cluster, const Figures& f, const Figures& cap, const NodeHistory* h,
                  const CapacityOptions& options) {
  ScopeReport s{.name = std::move(name), .cluster = cluster, .resources = {}};
  s.resources.push_back(stats(CapacityResource::MemoryUsed, cap.memory_used, f.memory_used, h ? &h->memory : nullptr, options));
  s.resources.push_back(stats(CapacityResource::MemoryAssigned, cap.memory_used, f.memory_assigned, nullptr, options));
  s.resources.push_back(stats(CapacityResource::CpuUsed, cap.cpu_used, f.cpu_used, h ? &h->cpu : nullptr, options));
  s.resources.push_back(stats(CapacityResource::CpuAssigned, cap.cpu_used, f.cpu_assigned, nullptr, options));
  if (cap.disk_used > 0) {
    s.resources.push_back(stats(CapacityResource::DiskUsed, cap.disk_used, f.disk_used,
                                h && !h->disk.empty() ? &h->disk : nullptr, options));
    s.resources.push_back(stats(CapacityResource::DiskAssigned, cap.disk_used, f.disk_assigned, nullptr, options));
  }
  return s;
}

}  // namespace

std::vector<Sample> sum_at_common_times(const std::vector<const std::vector<Sample>*>& series) {
  std::map<double, std::pair<double, size_t>> at;
  for (const auto* s : series)
    for (const auto& p : *s)
      if (std::isfinite(p.value)) {
        auto& [sum, n] = at[p.time];
        sum += p.value;
        ++n;
      }
  std::vector<Sample> out;
  for (const auto& [t, v] : at)
    if (v.second == series.size()) out.push_back({t, v.first});
  return out;
}

std::string_view to_string(CapacityResource resource) {
  switch (resource) {
    case CapacityResource::MemoryUsed: return "memory used";
    case CapacityResource::MemoryAssigned: return "memory assigned";
    case CapacityResource::CpuUsed: return "cpu used";
    case CapacityResource::CpuAssigned: return "cpu assigned";
    case CapacityResource::DiskUsed: return "disk used";
    case CapacityResource::DiskAssigned: return "disk assigned";
  }
  return "?";
}
bool is_memory(CapacityResource r) { return r == CapacityResource::MemoryUsed || r == CapacityResource::MemoryAssigned; }
bool is_disk(CapacityResource r) { return r == CapacityResource::DiskUsed || r == CapacityResource::DiskAssigned; }

core::Result<WhatIfResult> apply_what_if(const ClusterState& state, const BalanceConfig& config, const WhatIf& w) {
  WhatIfResult r{.state = state, .notes = {}, .unplaced = {}};
  if (w.add_guests < 0 || (w.add_guests > 0 && (w.guest_memory == 0 || w.guest_cores < 1)))
    return usage("--add-guests: the count must be 0 or more, --guest-memory and --guest-cores above 0");
  PVEKIT_TRY(add_nodes_like(r, w.add_node_like));
  if (!w.remove_nodes.empty()) PVEKIT_TRY(remove_nodes(r, config, w.remove_nodes));
  if (w.add_guests > 0) add_guests(r, config, w);
  return r;
}

core::Result<CapacityReport> build_capacity_report(const ClusterState& original,
                                                   const std::map<std::string, NodeHistory>& history,
                                                   const WhatIfResult& changed, const BalanceConfig& config,
                                                   const CapacityOptions& options) {
  CapacityReport report;
  report.threshold = options.forecast.threshold;
  report.notes = changed.notes;
  const ClusterState state = normalized(changed.state);
  // Times of the history, for the flat history of nodes that have none.
  std::vector<Sample> times, disk_times;
  for (const auto& [name, h] : history) {
    if (h.memory.size() > times.size()) times = h.memory;
    if (h.disk.size() > disk_times.size()) disk_times = h.disk;
  }

  std::map<std::string, NodeHistory> adjusted;
  Figures total, capacity;
  for (const auto& node : state.nodes) {
    if (!node.online) {
      report.notes.push_back("node " + node.name + " is offline: not counted");
      continue;
    }
    const Figures f = figures(state, node);
    const Node* before = original.find_node(node.name);
    auto h = history.find(node.name);
    NodeHistory& a = adjusted[node.name];
    if (before && h != history.end()) {
      const Figures was = figures(original, *before);
      a.memory = shifted(h->second.memory, f.memory_used - was.memory_used);
      a.cpu = shifted(h->second.cpu, f.cpu_used - was.cpu_used);
      a.disk = shifted(h->second.disk, f.disk_used - was.disk_used);
    } else {
      a.memory = flat(times, f.memory_used);
      a.cpu = flat(times, f.cpu_used);
      a.disk = flat(disk_times, f.disk_used);
    }
    const Figures cap{.memory_used = static_cast<double>(node.memory_total),
                      .cpu_used = static_cast<double>(node.cpus),
                      .disk_used = static_cast<double>(node.disk_total)};
    report.scopes.push_back(scope(node.name, false, f, cap, &a, options));
    total.memory_used += f.memory_used, total.memory_assigned += f.memory_assigned;
    total.cpu_used += f.cpu_used, total.cpu_assigned += f.cpu_assigned;
    total.disk_used += f.disk_used, total.disk_assigned += f.disk_assigned;
    capacity.memory_used += cap.memory_used, capacity.cpu_used += cap.cpu_used, capacity.disk_used += cap.disk_used;
  }
  // Disk counts the nodes with local guest storage only; one of them without
  // history leaves the cluster without it.
  std::vector<const std::vector<Sample>*> memory, cpu, disk;
  for (const auto& [name, a] : adjusted) {
    memory.push_back(&a.memory), cpu.push_back(&a.cpu);
    if (const Node* n = state.find_node(name); n && n->disk_total > 0) disk.push_back(&a.disk);
  }
  NodeHistory cluster{.memory = sum_at_common_times(memory), .cpu = sum_at_common_times(cpu),
                      .disk = disk.empty() ? std::vector<Sample>{} : sum_at_common_times(disk)};
  report.scopes.insert(report.scopes.begin(), scope("cluster", true, total, capacity, &cluster, options));

  PVEKIT_ASSIGN(auto failover,
                check_failover(state, config, options.failover, {FailoverScope::Ha, FailoverScope::Running}));
  report.failover_ha = std::move(failover[0]);
  report.failover_running = std::move(failover[1]);
  return report;
}

}  // namespace pvekit::balance
