// proxlb capacity: reads the cluster and its RRD history (the I/O), then
// hands everything to the pure capacity core and prints its report.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "balance/capacity.h"
#include "balance/commands.h"
#include "balance/snapshot_reader.h"
#include "core/files.h"
#include "pve/api.h"

namespace pvekit::balance {
namespace {

core::Error usage(std::string message) { return core::Error(core::ErrorCategory::Usage, std::move(message)); }

core::Result<pve::Timeframe> timeframe(const std::string& name) {
  if (name == "week") return pve::Timeframe::Week;
  if (name == "month") return pve::Timeframe::Month;
  if (name == "year") return pve::Timeframe::Year;
  return usage("--timeframe '" + name + "': expected week, month or year");
}

// Memory used (bytes) and CPU used (cores) of a node from its rrddata; rows
// without a figure (gaps, NaN) are left out.
NodeHistory to_history(const std::vector<pve::RrdRow>& rows, const Node& node) {
  NodeHistory h;
  for (const auto& row : rows) {
    auto t = row.find("time");
    if (t == row.end()) continue;
    if (auto m = row.find("memused"); m != row.end()) h.memory.push_back({t->second, m->second});
    if (auto c = row.find("cpu"); c != row.end()) {
      auto cores = row.find("maxcpu");
      h.cpu.push_back({t->second, c->second * (cores != row.end() ? cores->second : node.cpus)});
    }
  }
  return h;
}

// Disk used (bytes) of a node: the sum of its local guest storages' "used".
core::Result<std::vector<Sample>> disk_history(pve::Client& client, const Node& node, pve::Timeframe frame) {
  std::vector<std::vector<Sample>> storages;
  for (const auto& storage : node.local_storages) {
    PVEKIT_ASSIGN(auto rows, pve::get_storage_rrddata(client, node.name, storage, frame).wrap("storage " + storage));
    auto& series = storages.emplace_back();
    for (const auto& row : rows) {
      auto t = row.find("time");
      auto used = row.find("used");
      if (t != row.end() && used != row.end()) series.push_back({t->second, used->second});
    }
  }
  std::vector<const std::vector<Sample>*> series;
  for (const auto& s : storages) series.push_back(&s);
  return sum_at_common_times(series);
}

core::Status write_charts(const std::string& dir, const CapacityReport& report) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return core::Error(core::ErrorCategory::System, "--charts " + dir + ": " + std::strerror(errno));
  auto charts = capacity_charts(report);
  for (const auto& [name, svg] : charts) PVEKIT_TRY(core::write_file_atomic(dir + "/" + name, svg).wrap("--charts"));
  spdlog::info("capacity: wrote {} charts to {}", charts.size(), dir);
  return core::ok();
}

}  // namespace

core::Status check_capacity_options(const CapacityCommand& c) {
  if (!(c.threshold > 0 && c.threshold <= 100))
    return usage(fmt::format("--threshold {}: must be above 0 and at most 100 (percent)", c.threshold));
  if (c.failures < 1) return usage("--failures " + std::to_string(c.failures) + ": must be at least 1");
  if (c.what_if.add_guests < 0)
    return usage("--add-guests " + std::to_string(c.what_if.add_guests) + ": must be 0 or more");
  if (c.what_if.guest_cores < 1)
    return usage("--guest-cores " + std::to_string(c.what_if.guest_cores) + ": must be at least 1");
  if (c.what_if.add_guests > 0 && c.what_if.guest_memory == 0) return usage("--guest-memory: must be above 0");
  if (c.json && c.csv) return usage("--json and --csv: choose one");
  return timeframe(c.timeframe).ok() ? core::ok() : core::Status(timeframe(c.timeframe).error());
}

core::Status run_capacity(pve::Client& client, const BalanceConfig& config, const CapacityCommand& command,
                          std::ostream& out) {
  PVEKIT_TRY(check_capacity_options(command));
  PVEKIT_ASSIGN(auto snapshot, read_snapshot(client, config));
  PVEKIT_ASSIGN(auto report, capacity_report(client, snapshot.state, config, command));
  for (const auto& w : snapshot.warnings) report.notes.push_back(w);
  if (command.json) out << capacity_json(report).dump(2) << "\n";
  else if (command.csv) out << render_capacity_csv(report);
  else out << render_capacity_text(report);
  if (!command.charts_dir.empty()) PVEKIT_TRY(write_charts(command.charts_dir, report));
  return core::ok();
}

core::Result<CapacityReport> capacity_report(pve::Client& client, const ClusterState& state,
                                             const BalanceConfig& config, const CapacityCommand& command) {
  PVEKIT_TRY(check_capacity_options(command));
  PVEKIT_ASSIGN(const pve::Timeframe frame, timeframe(command.timeframe));
  std::map<std::string, NodeHistory> history;
  std::vector<std::string> notes;
  for (const auto& node : state.nodes) {
    if (!node.online) continue;
    auto rows = pve::get_node_rrddata(client, node.name, frame);
    if (!rows) {
      notes.push_back("node " + node.name + ": no history (" + rows.error().to_string() + ")");
      continue;
    }
    NodeHistory& h = history[node.name] = to_history(*rows, node);
    if (node.local_storages.empty()) continue;
    auto disk = disk_history(client, node, frame);
    if (disk) h.disk = std::move(*disk);
    else notes.push_back("node " + node.name + ": no disk history (" + disk.error().to_string() + ")");
  }
  PVEKIT_ASSIGN(auto changed, apply_what_if(state, config, command.what_if));
  CapacityOptions options;
  options.forecast.threshold = command.threshold / 100;
  options.failover.failures = command.failures;
  PVEKIT_ASSIGN(auto report, build_capacity_report(state, history, changed, config, options));
  report.timeframe = command.timeframe;
  report.notes.insert(report.notes.end(), notes.begin(), notes.end());
  return report;
}

}  // namespace pvekit::balance
