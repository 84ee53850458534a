#include "balance/rules.h"

#include <algorithm>
#include <bit>
#include <limits>

#include "balance/score.h"
#include "core/strings.h"

namespace pvekit::balance {
namespace {

std::vector<std::string> tags_with_prefix(const std::vector<std::string>& tags,
                                          std::string_view prefix) {
  std::vector<std::string> out;
  for (const auto& t : tags) {
    if (core::starts_with(t, prefix) && t.size() > prefix.size())
      out.push_back(t.substr(prefix.size()));
  }
  return out;
}

// Groups of tags with any of the prefixes, named by the canonical prefix.
std::vector<std::string> tag_groups(const std::vector<std::string>& tags,
                                    std::string_view canonical, std::string_view alias) {
  std::vector<std::string> out;
  for (auto prefix : {canonical, alias}) {
    for (auto& g : tags_with_prefix(tags, prefix))
      out.push_back("tag " + std::string(canonical) + g);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string guest_label(const Guest& g) {
  return std::to_string(g.vmid) + (g.name.empty() ? "" : " (" + g.name + ")");
}

}  // namespace

bool has_ignore_tag(const std::vector<std::string>& tags) {
  return std::any_of(tags.begin(), tags.end(),
                     [](const std::string& t) { return core::starts_with(t, kIgnoreTag); });
}

std::vector<std::string> pinned_nodes(const std::vector<std::string>& tags) {
  return tags_with_prefix(tags, kPinTag);
}

std::vector<std::string> affinity_groups(const std::vector<std::string>& tags) {
  return tag_groups(tags, kAffinityTag, "plb_include_");
}

std::vector<std::string> anti_affinity_groups(const std::vector<std::string>& tags) {
  return tag_groups(tags, kAntiAffinityTag, "plb_exclude_");
}

NodeSet::NodeSet(size_t nodes, bool all) : size_(nodes), words_((nodes + 63) / 64, 0) {
  if (!all) return;
  for (size_t i = 0; i < nodes; ++i) set(i);
}

size_t NodeSet::count() const {
  size_t n = 0;
  for (auto w : words_) n += static_cast<size_t>(std::popcount(w));
  return n;
}

NodeSet& NodeSet::operator&=(const NodeSet& other) {
  for (size_t i = 0; i < words_.size(); ++i) words_[i] &= other.words_[i];
  return *this;
}

NodeSet& NodeSet::operator|=(const NodeSet& other) {
  for (size_t i = 0; i < words_.size(); ++i) words_[i] |= other.words_[i];
  return *this;
}

Constraints Constraints::compile(const ClusterState& state, const BalanceConfig& config) {
  Constraints c;
  c.state_ = &state;
  c.pools_ = config.balancing.pools;
  c.index_nodes(config);
  c.classify_guests(config);
  c.compute_allowed(config);
  c.apply_ha_node_affinity();
  c.compute_capacity(config);
  c.build_units(config);
  c.build_anti_groups(config);
  c.check_unit_capacity();
  return c;
}

int Constraints::node_index(std::string_view name) const {
  auto it = node_by_name_.find(name);
  return it == node_by_name_.end() ? -1 : static_cast<int>(it->second);
}

bool Constraints::evacuate(size_t node) const {
  const Node& n = state_->nodes[node];
  return n.online && n.maintenance && !n.ignored;
}

bool Constraints::fits(const Amount& load, const Amount& add, const Amount& limit) {
  // A zero need never fails: a stopped guest without local disks can go to a
  // node that is already full.
  if (add.memory > 0 && load.memory + add.memory > limit.memory) return false;
  if (add.cpus > 0 && load.cpus + add.cpus > limit.cpus) return false;
  if (add.disk > 0 && load.disk + add.disk > limit.disk) return false;
  return true;
}

void Constraints::add_conflict(std::string rule, std::vector<uint32_t> vmids, std::string message) {
  std::sort(vmids.begin(), vmids.end());
  conflicts_.push_back({std::move(rule), std::move(vmids), std::move(message)});
}

void Constraints::index_nodes(const BalanceConfig&) {
  const auto& nodes = state_->nodes;
  eligible_ = NodeSet(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    node_by_name_[nodes[i].name] = i;
    if (nodes[i].online && !nodes[i].maintenance && !nodes[i].ignored) eligible_.set(i);
  }
}

void Constraints::classify_guests(const BalanceConfig& config) {
  const auto& guests = state_->guests;
  guest_node_.assign(guests.size(), -1);
  frozen_.assign(guests.size(), "");
  for (size_t i = 0; i < guests.size(); ++i) {
    const Guest& g = guests[i];
    guest_by_vmid_[g.vmid] = i;
    guest_node_[i] = node_index(g.planned_node());
    const Node* node = guest_node_[i] < 0 ? nullptr : &state_->nodes[guest_node_[i]];
    std::string& why = frozen_[i];
    if (g.migration && g.migration->target_known()) why = "it is migrating to " + g.migration->target;
    else if (g.migration) why = "it is being migrated (target unknown)";
    else if (!node) why = "its node '" + g.planned_node() + "' is unknown";
    else if (!node->online) why = "its node " + g.node + " is offline";
    else if (node->ignored) why = "its node " + g.node + " is ignored";
    else if (g.is_template) why = "it is a template";
    else if (!g.lock.empty()) why = "it is locked (" + g.lock + ")";
    else if (has_ignore_tag(g.tags)) why = "it is tagged plb_ignore";
    else if (g.type == GuestType::Qemu && !config.balancing.balance_vms) why = "vm is not in balance_types";
    else if (g.type == GuestType::Lxc && !config.balancing.balance_cts) why = "ct is not in balance_types";
    else if (g.local_disk_bytes > 0 && !config.balancing.with_local_disks)
      why = "it has local disks and with_local_disks is off";
  }
}

NodeSet Constraints::pin_set(const std::vector<std::string>& pins, const std::string& rule,
                             const std::vector<uint32_t>& vmids, bool report) {
  NodeSet named(node_count());
  std::vector<std::string> why;
  for (const auto& p : pins) {
    int idx = node_index(p);
    if (idx < 0) why.push_back(p + ": unknown");
    else if (!eligible(static_cast<size_t>(idx))) why.push_back(p + ": cannot take guests");
    if (idx >= 0) named.set(static_cast<size_t>(idx));
  }
  named &= eligible_;
  if (named.empty() && report) {
    add_conflict(rule, vmids,
                 rule + ": none of the pinned nodes can take guests (" + core::join(why, ", ") +
                     "); the guests stay where they are");
  }
  return named;
}

// ProxLB's "most free node": the eligible node least used in the balancing
// mode (ties: the first by name); -1 when there is none.
int Constraints::least_loaded(const BalanceConfig& config) const {
  const LoadModel load(*state_, config);
  int best = -1;
  for (size_t n = 0; n < node_count(); ++n)
    if (eligible(n) && (best < 0 || truncate_score(load.weighted_usage(n)) <
                                        truncate_score(load.weighted_usage(static_cast<size_t>(best)))))
      best = static_cast<int>(n);
  return best;
}

NodeSet Constraints::pool_set(const PoolRule& rule, NodeSet pinned) const {
  if (!rule.strict && least_loaded_ >= 0) pinned.set(static_cast<size_t>(least_loaded_));
  return pinned;
}

void Constraints::compute_allowed(const BalanceConfig& config) {
  const auto& guests = state_->guests;
  // ProxLB's strict: false adds its most free node to a pool's pinned nodes
  // as a candidate: the pins are preferred, not required.
  if (std::any_of(pools_.begin(), pools_.end(), [](const auto& p) { return !p.second.strict && !p.second.pin.empty(); }))
    least_loaded_ = least_loaded(config);
  allowed_.assign(guests.size(), eligible_);
  for (size_t i = 0; i < guests.size(); ++i) {
    auto pins = pinned_nodes(guests[i].tags);
    if (pins.empty()) continue;
    std::string rule = "tag plb_pin_" + core::join(pins, "/plb_pin_");
    allowed_[i] &= pin_set(pins, "guest " + guest_label(guests[i]) + ": " + rule,
                           {guests[i].vmid}, true);
  }
  for (const auto& [pool, rule] : pools_) {
    if (rule.pin.empty()) continue;
    std::vector<uint32_t> members;
    for (const auto& g : guests)
      if (g.pool == pool) members.push_back(g.vmid);
    NodeSet set = pool_set(rule, pin_set(rule.pin, "pool " + pool, members, rule.strict && !members.empty()));
    for (size_t i = 0; i < guests.size(); ++i)
      if (guests[i].pool == pool) allowed_[i] &= set;
  }
}

// PVE's HA manager runs a resource on the highest-priority available nodes
// of its rule; moving it elsewhere would only make HA move it back, so that
// class is the allowed set.
void Constraints::apply_ha_node_affinity() {
  for (const auto& rule : state_->node_affinity) {
    if (!rule.enabled) continue;
    NodeSet best(node_count());
    int top = std::numeric_limits<int>::min();
    for (const auto& np : rule.nodes) {
      int idx = node_index(np.node);
      if (idx < 0 || !eligible(static_cast<size_t>(idx))) continue;
      if (np.priority > top) {
        best = NodeSet(node_count());
        top = np.priority;
      }
      if (np.priority == top) best.set(static_cast<size_t>(idx));
    }
    if (best.empty() && !rule.strict) continue;  // non-strict: anywhere
    if (best.empty()) {
      add_conflict("HA rule " + rule.id, rule.resources,
                   "HA rule " + rule.id + " (strict): none of its nodes can take guests; "
                   "its resources stay where they are");
    }
    for (uint32_t vmid : rule.resources) {
      auto it = guest_by_vmid_.find(vmid);
      if (it != guest_by_vmid_.end()) allowed_[it->second] &= best;
    }
  }
}

}  // namespace pvekit::balance
