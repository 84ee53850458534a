#include "balance/report.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "balance/rules.h"
#include "balance/score.h"
#include "core/strings.h"

namespace pvekit::balance {
namespace {

double fraction(uint64_t used, uint64_t total) {
  return total == 0 ? 0.0 : static_cast<double>(used) / static_cast<double>(total);
}

std::string node_state(const Node& n) {
  if (!n.online) return "offline";
  if (n.maintenance) return "maint";
  if (n.ignored) return "ignored";
  return "online";
}

std::string percent_cell(double f, bool known) {
  return known ? fmt::format("{:>3.0f}%", percent(f)) : "   -";
}

struct GuestCounts {
  int running = 0;
  int total = 0;
};

GuestCounts count_guests(const ClusterState& state, const std::string& node) {
  GuestCounts c;
  for (const auto& g : state.guests) {
    if (g.node != node) continue;
    ++c.total;
    if (g.status == GuestStatus::Running) ++c.running;
  }
  return c;
}

// What the spread is measured in: "memory, used", or the weights when the
// config mixes resources.
std::string spread_basis(const BalanceConfig& config) {
  const Weights& w = config.balancing.weights;
  int resources = (w.memory > 0) + (w.cpu > 0) + (w.disk > 0);
  if (resources == 1) {
    const char* r = w.memory > 0 ? "memory" : w.cpu > 0 ? "cpu" : "disk";
    return fmt::format("{}, {}", r, to_string(config.balancing.mode));
  }
  return fmt::format("weighted memory {:g} / cpu {:g} / disk {:g}, {}", w.memory, w.cpu, w.disk,
                     to_string(config.balancing.mode));
}

std::string spread_verdict(double spread, double balanciness) {
  return spread > balanciness ? fmt::format("above balanciness {:.1f}: balancing needed", balanciness)
                              : fmt::format("within balanciness {:.1f}", balanciness);
}

void render_conflicts(const std::vector<Conflict>& conflicts, const char* title, std::ostream& out) {
  if (conflicts.empty()) return;
  out << "\n" << title << ":\n";
  for (const auto& c : conflicts) out << "  - " << conflict_line(c) << "\n";
}

std::string vmid_list(const std::vector<uint32_t>& vmids) {
  std::vector<std::string> parts;
  for (auto v : vmids) parts.push_back(std::to_string(v));
  return core::join(parts, ", ");
}

std::vector<uint32_t> unit_vmids(const Constraints& c, const std::vector<size_t>& members) {
  std::vector<uint32_t> out;
  for (size_t m : members) out.push_back(c.state().guests[m].vmid);
  return out;
}

std::vector<std::string> node_names(const Constraints& c, const std::set<int>& nodes) {
  std::vector<std::string> out;
  for (int n : nodes) out.push_back(n < 0 ? std::string("(unknown node)") : c.state().nodes[n].name);
  return out;
}

core::Json conflicts_json(const std::vector<Conflict>& conflicts) {
  core::Json out = core::Json::array();
  for (const auto& c : conflicts) out.push_back({{"rule", c.rule}, {"vmids", c.vmids}, {"message", conflict_line(c)}});
  return out;
}

// `prefix` then the words of `text`, wrapped greedily at `width` columns;
// continuation lines are indented by `indent` spaces. A word longer than a
// line stays whole.
std::string wrap(const std::string& prefix, const std::string& text, size_t width, size_t indent) {
  std::string out, line = prefix;
  bool fresh = true;  // nothing but the prefix / indent on the line yet
  for (const auto& word : core::split(text, ' ', true)) {
    if (!fresh && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line = std::string(indent, ' ');
      fresh = true;
    }
    line += (fresh ? "" : " ") + word;
    fresh = false;
  }
  return out + line + "\n";
}

void render_rules(const std::vector<RuleState>& rules, std::ostream& out) {
  if (rules.empty()) {
    out << "\nRules: none apply (no affinity, anti-affinity, pin, pool, HA, maintenance)\n";
    return;
  }
  size_t broken = static_cast<size_t>(std::count_if(rules.begin(), rules.end(),
                                                    [](const RuleState& r) { return !r.holds; }));
  out << fmt::format("\nRules: {} hold, {} broken\n", rules.size() - broken, broken);
  for (const auto& r : rules)
    out << wrap(fmt::format("  {:<6}  {}: ", r.holds ? "ok" : "BROKEN", r.rule), r.detail, 80, 10);
}

core::Json rules_json(const std::vector<RuleState>& rules) {
  core::Json out = core::Json::array();
  for (const auto& r : rules)
    out.push_back({{"rule", r.rule}, {"holds", r.holds}, {"vmids", r.vmids}, {"detail", r.detail}});
  return out;
}

}  // namespace

double percent(double fraction) {
  // Usage is never negative; rounding noise (a load just moved away) could
  // print as "-0%". max(0.0, -0.0) is +0.0.
  return std::max(0.0, std::clamp(fraction, -1.0, 9.99) * 100);
}

std::string conflict_line(const Conflict& c) {
  // Messages are full sentences that usually start with the rule already.
  if (c.message.rfind(c.rule + ":", 0) == 0 || c.rule.empty()) return c.message;
  return c.rule + ": " + c.message;
}

std::vector<RuleState> rule_states(const ClusterState& state, const BalanceConfig& config) {
  const Constraints c = Constraints::compile(state, config);
  std::vector<RuleState> rules;
  // Maintenance nodes: every guest leaves them.
  for (size_t n = 0; n < c.node_count(); ++n) {
    if (!c.evacuate(n)) continue;
    std::vector<uint32_t> left;
    for (size_t g = 0; g < c.guest_count(); ++g)
      if (c.node_of(g) == static_cast<int>(n)) left.push_back(state.guests[g].vmid);
    std::string rule = "maintenance " + state.nodes[n].name;
    rules.push_back({rule, left.empty(), left,
                     left.empty() ? "no guest left on the node"
                                  : fmt::format("{} guest{} still on the node ({})", left.size(),
                                                left.size() == 1 ? "" : "s", vmid_list(left))});
  }
  // Affinity groups: all members on one node.
  for (const auto& u : c.units()) {
    if (u.members.size() < 2 || u.group.empty()) continue;
    std::set<int> nodes;
    for (size_t m : u.members) nodes.insert(c.node_of(m));
    auto vmids = unit_vmids(c, u.members);
    rules.push_back({u.group, nodes.size() == 1, vmids,
                     nodes.size() == 1
                         ? fmt::format("{} guests together on {}", u.members.size(), node_names(c, nodes).front())
                         : fmt::format("guests {} are spread over {}", vmid_list(vmids),
                                       core::join(node_names(c, nodes), ", "))});
  }
  // Anti-affinity groups: at most max_per_node units per node.
  for (const auto& group : c.anti_groups()) {
    std::map<int, std::vector<uint32_t>> by_node;
    std::vector<uint32_t> all;
    for (size_t u : group.units)
      for (size_t m : c.units()[u].members) {
        by_node[c.node_of(m)].push_back(state.guests[m].vmid);
        all.push_back(state.guests[m].vmid);
      }
    std::vector<std::string> crowded;
    for (const auto& [node, vmids] : by_node) {
      std::set<size_t> units_here;
      for (size_t u : group.units)
        for (size_t m : c.units()[u].members)
          if (c.node_of(m) == node) units_here.insert(u);
      if (static_cast<int>(units_here.size()) > group.max_per_node)
        crowded.push_back(fmt::format("{} share {}", vmid_list(vmids), node_names(c, {node}).front()));
    }
    rules.push_back({group.rule, crowded.empty(), all,
                     crowded.empty() ? fmt::format("{} guests on distinct nodes", all.size())
                                     : core::join(crowded, "; ")});
  }
  // Placement limits (pins, pools, HA node affinity): guests outside their
  // allowed nodes. Guests proxlb never moves (ignored, locked) are left out.
  size_t restricted = 0;
  std::vector<uint32_t> outside;
  std::vector<std::string> where;
  for (size_t g = 0; g < c.guest_count(); ++g) {
    if (!c.movable(g)) continue;
    bool limited = false;
    for (size_t n = 0; n < c.node_count() && !limited; ++n) limited = c.eligible(n) && !c.allowed(g, n);
    if (!limited) continue;
    ++restricted;
    int node = c.node_of(g);
    if (node >= 0 && !c.allowed(g, static_cast<size_t>(node)) && !c.evacuate(static_cast<size_t>(node))) {
      outside.push_back(state.guests[g].vmid);
      std::vector<std::string> allowed;
      for (size_t n = 0; n < c.node_count(); ++n)
        if (c.allowed(g, n)) allowed.push_back(state.nodes[n].name);
      where.push_back(fmt::format("{} on {} (allowed: {})", state.guests[g].vmid, state.nodes[node].name,
                                  allowed.empty() ? "none" : core::join(allowed, ", ")));
    }
  }
  if (restricted > 0) {
    rules.push_back({"placement (pins, pools, HA)", outside.empty(), outside,
                     outside.empty() ? fmt::format("{} restricted guest{} on allowed nodes", restricted,
                                                   restricted == 1 ? "" : "s")
                                     : core::join(where, "; ")});
  }
  // Rules that cannot be met as configured, with the reason.
  for (const auto& conflict : c.conflicts()) rules.push_back({conflict.rule, false, conflict.vmids, conflict_line(conflict)});
  return rules;
}

std::string load_bar(double f, int width) {
  f = std::clamp(f, 0.0, 1.0);
  int filled = static_cast<int>(std::lround(f * width));
  return "[" + std::string(static_cast<size_t>(filled), '#') +
         std::string(static_cast<size_t>(width - filled), '-') + "]";
}

void render_status(const ClusterSnapshot& snap, const BalanceConfig& config, std::ostream& out) {
  const ClusterState state = normalized(snap.state);
  size_t online = static_cast<size_t>(std::count_if(state.nodes.begin(), state.nodes.end(),
                                                    [](const Node& n) { return n.online; }));
  out << fmt::format("Cluster {}  PVE {}  {}  {} nodes ({} online)  {} guests\n",
                     snap.cluster_name.empty() ? "(standalone)" : snap.cluster_name, snap.pve_version,
                     snap.quorate ? "quorate" : "NO QUORUM", state.nodes.size(), online,
                     state.guests.size());
  out << fmt::format("\n{:<10} {:<7} {:>7}  {:<19}  {:<19}  {:>4}\n", "NODE", "STATE", "RUN/ALL",
                     "MEMORY", "CPU", "DISK");
  for (const auto& n : state.nodes) {
    GuestCounts c = count_guests(state, n.name);
    double mem = fraction(n.memory_used, n.memory_total);
    double disk = fraction(n.disk_used, n.disk_total);
    out << fmt::format("{:<10} {:<7} {:>3}/{:<3}  {} {}  {} {}  {}\n", n.name.substr(0, 10),
                       node_state(n), c.running, c.total, load_bar(mem, 12), percent_cell(mem, n.online),
                       load_bar(n.cpu_usage, 12), percent_cell(n.cpu_usage, n.online),
                       percent_cell(disk, n.online && n.disk_total > 0));
  }
  out << "RUN/ALL: running guests / all guests on the node\n";
  LoadModel load(state, config);
  const auto& b = config.balancing;
  out << fmt::format("\nSpread {:.1f} points ({}), {}\n", load.spread(), spread_basis(config),
                     spread_verdict(load.spread(), b.balanciness));
  out << fmt::format("Imbalance {:.1f}% (coefficient of variation){}\n", load.imbalance(),
                     b.imbalance_threshold ? fmt::format(", threshold {:.1f}%: {}", *b.imbalance_threshold,
                                                         load.imbalance() > *b.imbalance_threshold ? "above" : "within")
                                           : "");
  render_rules(rule_states(state, config), out);
  for (const auto& w : snap.warnings) out << "warning: " << w << "\n";
}

core::Json status_json(const ClusterSnapshot& snap, const BalanceConfig& config) {
  const ClusterState state = normalized(snap.state);
  core::Json nodes = core::Json::array();
  for (const auto& n : state.nodes) {
    GuestCounts c = count_guests(state, n.name);
    nodes.push_back({{"node", n.name}, {"state", node_state(n)}, {"guests", c.total},
                     {"running", c.running}, {"cpus", n.cpus}, {"cpu", n.cpu_usage},
                     {"maxmem", n.memory_total}, {"mem", n.memory_used},
                     {"maxdisk", n.disk_total}, {"disk", n.disk_used}});
  }
  LoadModel load(state, config);
  const auto& b = config.balancing;
  Vec3 by = load.spread_by_resource();
  bool needed = load.spread() > b.balanciness || (b.imbalance_threshold && load.imbalance() > *b.imbalance_threshold);
  return {{"cluster", snap.cluster_name}, {"version", snap.pve_version}, {"quorate", snap.quorate},
          {"nodes", nodes}, {"guests", state.guests.size()},
          {"spread", load.spread()},
          {"spread_by_resource", {{"memory", by[kMemory]}, {"cpu", by[kCpu]}, {"disk", by[kDisk]}}},
          {"balanciness", b.balanciness},
          {"imbalance", load.imbalance()},
          {"imbalance_threshold", b.imbalance_threshold ? core::Json(*b.imbalance_threshold) : core::Json(nullptr)},
          {"method", to_string(b.method)}, {"mode", to_string(b.mode)},
          {"balancing_needed", needed},
          {"rules", rules_json(rule_states(state, config))},
          {"warnings", snap.warnings}};
}

void render_plan(const Plan& plan, std::ostream& out) {
  out << fmt::format("Plan: {} migration{} in {} wave{}, {} to copy\n", plan.moves.size(),
                     plan.moves.size() == 1 ? "" : "s", plan.waves.size(), plan.waves.size() == 1 ? "" : "s",
                     core::format_bytes(static_cast<double>(plan.bytes_moved)));
  out << fmt::format("Spread {:.1f} -> {:.1f} points ({}); imbalance {:.1f}% -> {:.1f}%\n", plan.spread_before,
                     plan.spread_after, spread_verdict(plan.spread_after, plan.balanciness),
                     plan.imbalance_before, plan.imbalance_after);
  if (!plan.moves.empty()) {
    out << fmt::format("\n{:>4}  {:>6}  {:<14} {:<4}  {:<10} {:<10} {:<13} {:>9}\n", "WAVE", "VMID",
                       "NAME", "TYPE", "FROM", "TO", "REASON", "COPY");
    for (const auto& m : plan.moves) {
      out << fmt::format("{:>4}  {:>6}  {:<14} {:<4}  {:<10} {:<10} {:<13} {:>9}\n", m.wave + 1, m.vmid,
                         m.name.substr(0, 14), m.type == GuestType::Qemu ? "vm" : "ct",
                         m.from.substr(0, 10), m.to.substr(0, 10), to_string(m.reason),
                         core::format_bytes(static_cast<double>(m.memory_bytes + m.local_disk_bytes)));
    }
  } else if (!plan.balancing_needed) {
    out << "The cluster is balanced; nothing to do.\n";
  } else {
    out << "No migration pays for itself under the current rules and capacity.\n";
  }
  if (!plan.running.empty()) {
    out << fmt::format("\nAlready migrating ({}), planned at their target, room held on both ends:\n",
                       plan.running.size());
    for (const auto& r : plan.running) {
      const auto& m = r.migration;
      out << fmt::format("  {:>6}  {} -> {}\n", r.vmid, m.source,
                         m.target_known() ? m.target : "unknown node (room held on every node)");
    }
  }
  out << fmt::format("\n{:<10}  {:>15}  {:>15}  {:>15}\n", "NODE", "MEMORY", "CPU", "DISK");
  for (const auto& n : plan.nodes) {
    auto cell = [&](size_t r) {
      return fmt::format("{:>3.0f}% -> {:>3.0f}%", percent(n.before[r]), percent(n.after[r]));
    };
    out << fmt::format("{:<10}  {:>15}  {:>15}  {:>15}\n", n.name.substr(0, 10), cell(kMemory), cell(kCpu),
                       cell(kDisk));
  }
  render_conflicts(plan.conflicts, "Rules that cannot all be met", out);
  render_conflicts(plan.unresolved, "Required moves without room", out);
}

core::Json plan_json(const Plan& plan) {
  core::Json moves = core::Json::array();
  for (const auto& m : plan.moves) {
    moves.push_back({{"wave", m.wave + 1}, {"vmid", m.vmid}, {"name", m.name},
                     {"type", std::string(to_string(m.type))}, {"from", m.from}, {"to", m.to},
                     {"reason", std::string(to_string(m.reason))}, {"online", m.online},
                     {"memory_bytes", m.memory_bytes}, {"local_disk_bytes", m.local_disk_bytes},
                     {"gain", m.gain}, {"cost", m.cost}});
  }
  core::Json nodes = core::Json::array();
  for (const auto& n : plan.nodes) {
    nodes.push_back({{"node", n.name},
                     {"before", {{"memory", n.before[kMemory]}, {"cpu", n.before[kCpu]}, {"disk", n.before[kDisk]}}},
                     {"after", {{"memory", n.after[kMemory]}, {"cpu", n.after[kCpu]}, {"disk", n.after[kDisk]}}}});
  }
  core::Json running = core::Json::array();
  for (const auto& r : plan.running) {
    running.push_back({{"vmid", r.vmid}, {"from", r.migration.source},
                       {"to", r.migration.target_known() ? core::Json(r.migration.target) : core::Json(nullptr)},
                       {"upid", r.migration.upid}});
  }
  return {{"moves", moves}, {"waves", plan.waves.size()}, {"bytes_moved", plan.bytes_moved}, {"running", running},
          {"imbalance_before", plan.imbalance_before}, {"imbalance_after", plan.imbalance_after},
          {"spread_before", plan.spread_before}, {"spread_after", plan.spread_after},
          {"balanciness", plan.balanciness},
          {"balancing_needed", plan.balancing_needed}, {"nodes", nodes},
          {"conflicts", conflicts_json(plan.conflicts)}, {"unresolved", conflicts_json(plan.unresolved)}};
}

namespace {

struct CompatNode {
  double cpu_used = 0, cpu_assigned = 0;
  double memory_used = 0, memory_assigned = 0;
  double disk_used = 0, disk_assigned = 0;
};

double ratio_percent(double part, double total) { return total > 0 ? std::max(0.0, part / total * 100) : 0.0; }

core::Json compat_resource(const std::string& r, double total, double used, double assigned) {
  double free = total - used;
  return {{r + "_total", total},
          {r + "_used", used},
          {r + "_free", free},
          {r + "_assigned", assigned},
          {r + "_used_percent", ratio_percent(used, total)},
          {r + "_free_percent", ratio_percent(free, total)},
          {r + "_assigned_percent", ratio_percent(assigned, total)}};
}

}  // namespace

core::Json proxlb_compat_json(const ClusterState& input, const std::vector<Move>& moves, const BalanceConfig& config) {
  const ClusterState state = normalized(input);
  std::map<uint32_t, std::string> target;
  for (const auto& m : moves) target[m.vmid] = m.to;  // the last move of a guest is where it ends
  std::map<std::string, CompatNode> figures;
  for (const auto& n : state.nodes)
    figures[n.name] = {n.cpu_usage * n.cpus, 0, static_cast<double>(n.memory_used), 0,
                       static_cast<double>(n.disk_used), 0};
  core::Json guests = core::Json::object();
  std::map<std::string, std::vector<std::string>> affinity, anti;
  std::vector<std::string> maintenance;
  for (const auto& g : state.guests) {
    auto t = target.find(g.vmid);
    std::string to = t == target.end() ? g.node : t->second;
    double cpu_used = g.status == GuestStatus::Running ? g.cpu_usage * g.cpus : 0.0;
    double mem_used = static_cast<double>(g.memory_used);
    double disk_used = static_cast<double>(g.local_disk_bytes);
    if (to != g.node && figures.count(g.node) && figures.count(to)) {
      auto& from = figures[g.node];
      auto& dest = figures[to];
      from.cpu_used -= cpu_used, dest.cpu_used += cpu_used;
      from.memory_used -= mem_used, dest.memory_used += mem_used;
      from.disk_used -= disk_used, dest.disk_used += disk_used;
    }
    if (figures.count(to)) {
      auto& dest = figures[to];
      dest.cpu_assigned += g.cpus;
      dest.memory_assigned += static_cast<double>(g.memory_max);
      dest.disk_assigned += static_cast<double>(g.disk_bytes);
    }
    // ProxLB keys guests by name; a name used twice gets its vmid appended.
    std::string key = g.name.empty() ? std::to_string(g.vmid) : g.name;
    if (guests.contains(key)) key += "-" + std::to_string(g.vmid);
    // ProxLB names a group by its tag ("plb_affinity_web"), without our "tag " prefix.
    auto tag_names = [](std::vector<std::string> names) {
      for (auto& n : names)
        if (n.rfind("tag ", 0) == 0) n.erase(0, 4);
      return names;
    };
    auto groups_a = tag_names(affinity_groups(g.tags)), groups_x = tag_names(anti_affinity_groups(g.tags));
    for (const auto& a : groups_a) affinity[a].push_back(key);
    for (const auto& a : groups_x) anti[a].push_back(key);
    if (std::find(config.proxmox_cluster.maintenance_nodes.begin(), config.proxmox_cluster.maintenance_nodes.end(),
                  g.node) != config.proxmox_cluster.maintenance_nodes.end())
      maintenance.push_back(key);
    auto pins = pinned_nodes(g.tags);
    guests[key] = {{"name", g.name},
                   {"id", g.vmid},
                   {"type", g.type == GuestType::Qemu ? "vm" : "ct"},
                   {"status", g.status == GuestStatus::Running ? "running" : "stopped"},
                   {"node_current", g.node},
                   {"node_target", to},
                   {"processed", to != g.node},
                   {"cpu_total", g.cpus},
                   {"cpu_used", cpu_used},
                   {"memory_total", g.memory_max},
                   {"memory_used", g.memory_used},
                   {"disk_total", g.disk_bytes},
                   {"disk_used", g.local_disk_bytes},
                   {"tags", g.tags},
                   {"pools", g.pool.empty() ? core::Json::array() : core::Json::array({g.pool})},
                   {"affinity_groups", groups_a},
                   {"anti_affinity_groups", groups_x},
                   {"ignore", has_ignore_tag(g.tags)},
                   {"node_relationships", pins}};
  }
  core::Json nodes = core::Json::object();
  for (const auto& n : state.nodes) {
    if (!n.online || n.ignored) continue;
    const auto& f = figures[n.name];
    core::Json node = {{"name", n.name}, {"maintenance", n.maintenance}};
    node.update(compat_resource("cpu", n.cpus, f.cpu_used, f.cpu_assigned));
    node.update(compat_resource("memory", static_cast<double>(n.memory_total), f.memory_used, f.memory_assigned));
    node.update(compat_resource("disk", static_cast<double>(n.disk_total), f.disk_used, f.disk_assigned));
    nodes[n.name] = node;
  }
  core::Json groups = {{"affinity", core::Json::object()}, {"anti_affinity", core::Json::object()},
                       {"maintenance", maintenance}};
  for (const auto& [name, members] : affinity)
    groups["affinity"][name] = {{"guests", members}, {"counter", members.size()}};
  for (const auto& [name, members] : anti)
    groups["anti_affinity"][name] = {{"guests", members}, {"counter", members.size()}};
  return {{"nodes", nodes}, {"guests", guests}, {"groups", groups}};
}

}  // namespace pvekit::balance
