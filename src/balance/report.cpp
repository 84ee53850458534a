#include "balance/report.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

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
  return known ? fmt::format("{:>3.0f}%", std::clamp(f, 0.0, 9.99) * 100) : "   -";
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

std::string imbalance_verdict(double imbalance, double balanciness) {
  return imbalance > balanciness ? "above balanciness " + fmt::format("{:.1f}%", balanciness) + ": balancing needed"
                                 : "within balanciness " + fmt::format("{:.1f}%", balanciness);
}

void render_conflicts(const std::vector<Conflict>& conflicts, const char* title, std::ostream& out) {
  if (conflicts.empty()) return;
  out << "\n" << title << ":\n";
  for (const auto& c : conflicts) out << "  - " << c.rule << ": " << c.message << "\n";
}

core::Json conflicts_json(const std::vector<Conflict>& conflicts) {
  core::Json out = core::Json::array();
  for (const auto& c : conflicts) out.push_back({{"rule", c.rule}, {"vmids", c.vmids}, {"message", c.message}});
  return out;
}

}  // namespace

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
  out << fmt::format("\n{:<10} {:<7} {:>7}  {:<19}  {:<19}  {:>4}\n", "NODE", "STATE", "GUESTS",
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
  LoadModel load(state, config);
  out << fmt::format("\nImbalance {:.1f}% ({}), {}\n", load.imbalance(),
                     config.balancing.mode == Mode::Used       ? "used"
                     : config.balancing.mode == Mode::Assigned ? "assigned"
                                                               : "psi",
                     imbalance_verdict(load.imbalance(), config.balancing.balanciness));
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
  return {{"cluster", snap.cluster_name}, {"version", snap.pve_version}, {"quorate", snap.quorate},
          {"nodes", nodes}, {"guests", state.guests.size()}, {"imbalance", load.imbalance()},
          {"balanciness", config.balancing.balanciness},
          {"balancing_needed", load.imbalance() > config.balancing.balanciness},
          {"warnings", snap.warnings}};
}

void render_plan(const Plan& plan, std::ostream& out) {
  out << fmt::format("Plan: {} migration{} in {} wave{}, {} to copy; imbalance {:.1f}% -> {:.1f}%\n",
                     plan.moves.size(), plan.moves.size() == 1 ? "" : "s", plan.waves.size(),
                     plan.waves.size() == 1 ? "" : "s",
                     core::format_bytes(static_cast<double>(plan.bytes_moved)), plan.imbalance_before,
                     plan.imbalance_after);
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
  out << fmt::format("\n{:<10}  {:>15}  {:>15}  {:>15}\n", "NODE", "MEMORY", "CPU", "DISK");
  for (const auto& n : plan.nodes) {
    auto cell = [&](size_t r) {
      return fmt::format("{:>3.0f}% -> {:>3.0f}%", n.before[r] * 100, n.after[r] * 100);
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
  return {{"moves", moves}, {"waves", plan.waves.size()}, {"bytes_moved", plan.bytes_moved},
          {"imbalance_before", plan.imbalance_before}, {"imbalance_after", plan.imbalance_after},
          {"balancing_needed", plan.balancing_needed}, {"nodes", nodes},
          {"conflicts", conflicts_json(plan.conflicts)}, {"unresolved", conflicts_json(plan.unresolved)}};
}

}  // namespace pvekit::balance
