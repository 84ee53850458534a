// Affinity units, anti-affinity groups and capacity of the compiled rules.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>

#include "balance/rules.h"
#include "core/strings.h"

namespace pvekit::balance {
namespace {

constexpr double kUnlimited = std::numeric_limits<double>::infinity();

struct DisjointSets {
  std::vector<size_t> parent;
  explicit DisjointSets(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  size_t find(size_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }
  void join(size_t a, size_t b) {
    a = find(a);
    b = find(b);
    if (a != b) parent[std::max(a, b)] = std::min(a, b);
  }
};

// Rule name -> guest indices; std::map keeps the rule order stable.
using GroupMap = std::map<std::string, std::vector<size_t>>;

GroupMap collect_groups(const ClusterState& state, const BalanceConfig& config, bool positive,
                        const std::map<uint32_t, size_t>& by_vmid) {
  GroupMap groups;
  const auto& guests = state.guests;
  for (size_t i = 0; i < guests.size(); ++i) {
    auto names = positive ? affinity_groups(guests[i].tags) : anti_affinity_groups(guests[i].tags);
    for (auto& name : names) groups[name].push_back(i);
    auto pool = config.balancing.pools.find(guests[i].pool);
    if (guests[i].pool.empty() || pool == config.balancing.pools.end()) continue;
    if ((pool->second.type == GroupType::Affinity) == positive)
      groups["pool " + guests[i].pool].push_back(i);
  }
  for (const auto& rule : state.resource_affinity) {
    if (!rule.enabled || rule.positive != positive) continue;
    auto& members = groups["HA rule " + rule.id];
    for (uint32_t vmid : rule.resources) {
      auto it = by_vmid.find(vmid);
      if (it != by_vmid.end()) members.push_back(it->second);
    }
  }
  return groups;
}

std::vector<uint32_t> vmids_of(const ClusterState& state, const std::vector<size_t>& guests) {
  std::vector<uint32_t> out;
  for (size_t g : guests) out.push_back(state.guests[g].vmid);
  return out;
}

}  // namespace

void Constraints::build_units(const BalanceConfig& config) {
  size_t n = guest_count();
  DisjointSets sets(n);
  std::map<size_t, std::set<std::string>> names;  // root -> rule names
  GroupMap groups = collect_groups(*state_, config, true, guest_by_vmid_);
  for (const auto& [name, members] : groups) {
    for (size_t m : members) sets.join(members.front(), m);
  }
  for (const auto& [name, members] : groups)
    if (members.size() > 1) names[sets.find(members.front())].insert(name);
  unit_of_.assign(n, 0);
  std::map<size_t, size_t> unit_by_root;
  for (size_t g = 0; g < n; ++g) {
    size_t root = sets.find(g);
    auto [it, fresh] = unit_by_root.emplace(root, units_.size());
    if (fresh) {
      units_.emplace_back();
      if (auto named = names.find(root); named != names.end())
        units_.back().group = core::join({named->second.begin(), named->second.end()}, ", ");
    }
    unit_of_[g] = it->second;
    units_[it->second].members.push_back(g);
  }
  for (auto& unit : units_) finish_unit(unit);
}

void Constraints::finish_unit(Unit& unit) {
  const auto& guests = state_->guests;
  std::sort(unit.members.begin(), unit.members.end(),
            [&](size_t a, size_t b) { return guests[a].vmid < guests[b].vmid; });
  unit.vmid = guests[unit.members.front()].vmid;
  unit.allowed = NodeSet(node_count(), true);
  unit.movable = true;
  unit.running = true;
  std::set<int> anchors;
  for (size_t m : unit.members) {
    unit.allowed &= allowed_[m];
    if (!movable(m)) {
      unit.movable = false;
      anchors.insert(guest_node_[m]);
    }
    if (guests[m].status != GuestStatus::Running) unit.running = false;
  }
  if (unit.members.size() < 2) return;
  auto vmids = vmids_of(*state_, unit.members);
  if (anchors.size() > 1) {
    add_conflict(unit.group, vmids,
                 "affinity group " + unit.group +
                     ": members that cannot move sit on different nodes, so the group cannot be "
                     "brought together");
  } else if (anchors.size() == 1) {
    unit.anchor = *anchors.begin();
  }
  if (unit.allowed.empty() && unit.movable) {
    add_conflict(unit.group, vmids,
                 "affinity group " + unit.group +
                     ": no node is allowed for all members (their pins or HA rules disagree)");
  }
}

void Constraints::build_anti_groups(const BalanceConfig& config) {
  GroupMap groups = collect_groups(*state_, config, false, guest_by_vmid_);
  for (const auto& [name, members] : groups) {
    std::set<size_t> units;
    for (size_t m : members) {
      if (!units.insert(unit_of_[m]).second) {
        add_conflict(name, vmids_of(*state_, members),
                     name + ": asks guests to run apart that the affinity group " +
                         units_[unit_of_[m]].group + " keeps together; they stay together");
      }
    }
    if (units.size() < 2) continue;
    AntiGroup group{name, {units.begin(), units.end()}, 1};
    NodeSet possible(node_count());
    for (size_t u : group.units) possible |= units_[u].allowed;
    size_t nodes = std::max<size_t>(possible.count(), 1);
    if (group.units.size() > nodes) {
      group.max_per_node = static_cast<int>((group.units.size() + nodes - 1) / nodes);
      add_conflict(name, vmids_of(*state_, members),
                   name + ": " + std::to_string(group.units.size()) + " guests (or groups) must run "
                   "apart but only " + std::to_string(possible.count()) +
                   " nodes can take them; up to " + std::to_string(group.max_per_node) +
                   " share a node");
    }
    for (size_t u : group.units) units_[u].anti_groups.push_back(anti_.size());
    anti_.push_back(std::move(group));
  }
}

void Constraints::compute_capacity(const BalanceConfig& config) {
  const auto& b = config.balancing;
  bool overprovision = config.proxmox_cluster.overprovisioning;
  limits_.assign(node_count(), {});
  loads_.assign(node_count(), {});
  for (size_t i = 0; i < node_count(); ++i) {
    const Node& n = state_->nodes[i];
    limits_[i].memory = static_cast<double>(n.memory_total) - static_cast<double>(n.reserve.memory);
    limits_[i].cpus = b.cpu_overcommit > 0 && n.cpus > 0
                          ? n.cpus * b.cpu_overcommit - n.reserve.cpus
                          : kUnlimited;
    limits_[i].disk = static_cast<double>(n.disk_total) - static_cast<double>(n.reserve.disk);
    loads_[i].memory = overprovision ? static_cast<double>(n.memory_used) : 0.0;
    loads_[i].disk = static_cast<double>(n.disk_used);
  }
  needs_.assign(guest_count(), {});
  for (size_t g = 0; g < guest_count(); ++g) {
    const Guest& guest = state_->guests[g];
    bool running = guest.status == GuestStatus::Running;
    uint64_t mem = overprovision ? guest.memory_used : guest.memory_max;
    if (overprovision && b.history.enable && guest.history) mem = guest.history->memory_used;
    needs_[g] = {running ? static_cast<double>(mem) : 0.0, running ? guest.cpus * 1.0 : 0.0,
                 static_cast<double>(guest.local_disk_bytes)};
    int node = guest_node_[g];
    if (node < 0) continue;
    if (!overprovision && running) loads_[node].memory += static_cast<double>(guest.memory_max);
    if (running) loads_[node].cpus += guest.cpus;
  }
  hold_room_for_migrations(overprovision);
}

// PVE keeps a migrating guest on its source until the switch-over and fills
// the target while copying, so until the task ends both ends carry the
// guest's whole need; with the target unknown, every node that could be it
// does. The loads above already count the guest where it is planned (memory
// and CPU) and the node figures where PVE lists it (used memory, disk).
void Constraints::hold_room_for_migrations(bool overprovision) {
  for (size_t g = 0; g < guest_count(); ++g) {
    const Guest& guest = state_->guests[g];
    if (!guest.migration) continue;
    const bool running = guest.status == GuestStatus::Running;
    const int listed = node_index(guest.node);
    NodeSet holders(node_count());
    if (int source = node_index(guest.migration->source); source >= 0) holders.set(static_cast<size_t>(source));
    if (listed >= 0) holders.set(static_cast<size_t>(listed));
    if (guest_node_[g] >= 0) holders.set(static_cast<size_t>(guest_node_[g]));
    if (!guest.migration->target_known()) holders |= eligible_;
    for (size_t n = 0; n < node_count(); ++n) {
      if (!holders.test(n)) continue;
      Amount counted;
      if (static_cast<int>(n) == guest_node_[g] && running) {
        if (!overprovision) counted.memory += static_cast<double>(guest.memory_max);
        counted.cpus += guest.cpus;
      }
      if (static_cast<int>(n) == listed) {
        if (overprovision) counted.memory += needs_[g].memory;
        counted.disk += needs_[g].disk;
      }
      loads_[n].memory += std::max(0.0, needs_[g].memory - counted.memory);
      loads_[n].cpus += std::max(0.0, needs_[g].cpus - counted.cpus);
      loads_[n].disk += std::max(0.0, needs_[g].disk - counted.disk);
    }
  }
}

void Constraints::check_unit_capacity() {
  for (const auto& unit : units_) {
    if (unit.members.size() < 2 || !unit.movable || unit.allowed.empty()) continue;
    Amount total;
    for (size_t m : unit.members) {
      total.memory += needs_[m].memory;
      total.cpus += needs_[m].cpus;
      total.disk += needs_[m].disk;
    }
    bool any = false;
    for (size_t n = 0; n < node_count() && !any; ++n)
      any = unit.allowed.test(n) && fits(Amount{}, total, limits_[n]);
    if (!any) {
      add_conflict(unit.group, vmids_of(*state_, unit.members),
                   "affinity group " + unit.group + " needs " + core::format_bytes(total.memory) +
                       " memory and " + core::format_bytes(total.disk) +
                       " local disk together, which fits on no allowed node");
    }
  }
}

NodeSet Constraints::allowed_for(const std::vector<std::string>& tags, const std::string& pool) const {
  NodeSet set = eligible_;
  auto named = [&](const std::vector<std::string>& names) {
    NodeSet nodes(node_count());
    for (const auto& p : names)
      if (int idx = node_index(p); idx >= 0) nodes.set(static_cast<size_t>(idx));
    return nodes;
  };
  if (auto pins = pinned_nodes(tags); !pins.empty()) set &= named(pins);
  if (auto it = pools_.find(pool); it != pools_.end() && !it->second.pin.empty())
    set &= pool_set(it->second, named(it->second.pin));
  return set;
}

}  // namespace pvekit::balance
