#include "balance/commands.h"

#include <sys/stat.h>

#include <set>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "balance/audit.h"
#include "balance/executor.h"
#include "balance/report.h"
#include "balance/snapshot_reader.h"
#include "balance/twin.h"
#include "core/files.h"
#include "core/strings.h"

namespace pvekit::balance {
namespace {

bool file_exists(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0;
}

core::Status require_quorum(const ClusterSnapshot& snap) {
  if (snap.quorate) return core::ok();
  return core::Error(core::ErrorCategory::Rules,
                     "cluster " + snap.cluster_name + " has no quorum; refusing to migrate anything");
}

class TextProgress final : public ProgressSink {
 public:
  explicit TextProgress(std::ostream& out) : out_(out) {}
  void wave_started(size_t wave, size_t waves, size_t moves) override {
    out_ << fmt::format("wave {}/{}: {} migration{}\n", wave + 1, waves, moves, moves == 1 ? "" : "s");
    out_.flush();
  }
  void move_started(const Move& m, const std::string& upid) override {
    out_ << fmt::format("  start  {:>6} {:<16} {} -> {}{}\n", m.vmid, m.name.substr(0, 16), m.from, m.to,
                        upid.empty() ? " (via HA manager)" : "");
    out_.flush();
  }
  void move_finished(const MoveResult& r) override {
    out_ << fmt::format("  {:<6} {:>6} {:<16} {} -> {} in {:.1f} s{}{}\n", to_string(r.outcome), r.move.vmid,
                        r.move.name.substr(0, 16), r.move.from, r.move.to, r.seconds,
                        r.message.empty() ? "" : ": ", r.message);
    out_.flush();
  }

 private:
  std::ostream& out_;
};

// Guests whose migration failed in an earlier round of this run are frozen
// for the next plans, so a broken guest is not retried again and again.
void freeze_failed(const std::set<uint32_t>& failed, ClusterState& state) {
  for (auto& g : state.guests) {
    if (failed.count(g.vmid) && g.lock.empty()) g.lock = "proxlb: migration failed in this run";
  }
}

class SilentProgress final : public ProgressSink {
 public:
  void wave_started(size_t, size_t, size_t) override {}
  void move_started(const Move&, const std::string&) override {}
  void move_finished(const MoveResult&) override {}
};

core::Json report_json(const ExecutionReport& report) {
  core::Json results = core::Json::array();
  for (const auto& r : report.results) {
    results.push_back({{"vmid", r.move.vmid}, {"from", r.move.from}, {"to", r.move.to},
                       {"outcome", std::string(to_string(r.outcome))}, {"upid", r.upid},
                       {"message", r.message}, {"seconds", r.seconds}});
  }
  return {{"results", results}, {"stopped_early", report.stopped_early}, {"stop_reason", report.stop_reason}};
}

// `balance --json`: one entry per plan made (more than one when the cluster
// changed under a plan), each with its execution report.
std::string rounds_json(const core::Json& rounds, const CommandOptions& options) {
  return core::Json{{"dry_run", options.dry_run}, {"rounds", rounds}}.dump(2);
}

// What a ProxLB-style round records for its JSON document: the cluster as
// first read and every move planned (ProxLB reports node_current/node_target).
struct CompatRecord {
  bool have_snapshot = false;
  ClusterState initial;
  std::vector<Move> moves;
};

core::Status failed_status(size_t failures) {
  if (failures == 0) return core::ok();
  return core::Error(core::ErrorCategory::Api, std::to_string(failures) + " migration(s) failed or timed out");
}

core::Status run_rounds(pve::Client& client, const BalanceConfig& config, const CommandOptions& options,
                        const ExecutorOptions& exec, ProgressSink& progress, std::ostream& out, CompatRecord* record);

// The audit log of a one-shot round: only when service.audit_log is set (the
// default path is the daemon's), and never for a dry run.
core::Result<std::unique_ptr<AuditLog>> open_audit_log(const BalanceConfig& config, bool dry_run) {
  if (dry_run || !config.service.audit_log_set || config.service.audit_log.empty()) {
    return std::unique_ptr<AuditLog>();
  }
  return AuditLog::open(config.service.audit_log).wrap("service.audit_log");
}

}  // namespace

core::Result<BalanceConfig> load_proxlb_config(const ConfigSources& sources) {
  core::LayeredConfig layers(proxlb_schema());
  std::string path = sources.path;
  if (path.empty() && file_exists(kDefaultConfigPath)) path = kDefaultConfigPath;
  if (!path.empty()) PVEKIT_TRY(layers.merge_file(path));
  PVEKIT_TRY(layers.merge_environment(sources.environment, kEnvPrefix, {"PROXLB_CONFIG"}));
  for (const auto& [key, value] : sources.overrides) PVEKIT_TRY(layers.set(key, value, "--set " + key));
  auto converted = to_balance_config(layers);
  if (!converted && path.empty()) {
    return std::move(converted).error().wrap(std::string("no config file (give -c FILE, set PROXLB_CONFIG or create ") +
                                             kDefaultConfigPath + ")");
  }
  return converted;
}

core::Status run_status(pve::Client& client, const BalanceConfig& config, const CommandOptions& options,
                        std::ostream& out) {
  PVEKIT_TRY(check_privileges(client, PrivilegeUse::Read));
  PVEKIT_ASSIGN(auto snap, read_snapshot(client, config).wrap("read cluster"));
  if (options.json) out << status_json(snap, config).dump(2) << "\n";
  else render_status(snap, config, out);
  return core::ok();
}

core::Status run_plan(pve::Client& client, const BalanceConfig& config, const CommandOptions& options,
                      std::ostream& out) {
  PVEKIT_TRY(check_privileges(client, PrivilegeUse::Read));
  PVEKIT_ASSIGN(auto snap, read_snapshot(client, config).wrap("read cluster"));
  Plan p = plan(snap.state, config);
  if (options.json) out << plan_json(p).dump(2) << "\n";
  else render_plan(p, out);
  return core::ok();
}

core::Status run_balance(pve::Client& client, const BalanceConfig& config, const CommandOptions& options,
                         std::ostream& out) {
  TextProgress text(out);
  SilentProgress silent;
  ProgressSink& progress = options.json ? static_cast<ProgressSink&>(silent) : text;
  ExecutorOptions exec = executor_options(config);
  CommandOptions effective = options;
  // As ProxLB: with balancing.enable false the round only plans.
  if (!config.balancing.enable) {
    effective.dry_run = true;
    if (!options.dry_run) spdlog::warn("balancing.enable is false: planning only, no migration is started");
  }
  exec.dry_run = effective.dry_run;
  return run_rounds(client, config, effective, exec, progress, out, nullptr);
}

namespace {

// The plan-execute-replan loop of `balance` (and of a ProxLB-style round,
// which passes `record`).
core::Status run_rounds(pve::Client& client, const BalanceConfig& config, const CommandOptions& options,
                        const ExecutorOptions& exec, ProgressSink& progress, std::ostream& out, CompatRecord* record) {
  PVEKIT_TRY(check_privileges(client, options.dry_run ? PrivilegeUse::Read : PrivilegeUse::Balance));
  PVEKIT_ASSIGN(auto audit, open_audit_log(config, options.dry_run));
  core::Json rounds = core::Json::array();
  std::set<uint32_t> failed;
  size_t failures = 0;
  for (int round = 0; round <= options.max_replans; ++round) {
    PVEKIT_ASSIGN(auto snap, read_snapshot(client, config).wrap("read cluster"));
    PVEKIT_TRY(require_quorum(snap));
    freeze_failed(failed, snap.state);
    Plan p = plan(snap.state, config);
    if (record) {
      if (!record->have_snapshot) record->initial = snap.state, record->have_snapshot = true;
      record->moves.insert(record->moves.end(), p.moves.begin(), p.moves.end());
    }
    if (!options.json) render_plan(p, out);
    if (options.dry_run || p.moves.empty()) {
      rounds.push_back({{"plan", plan_json(p)}});
      if (options.json) out << rounds_json(rounds, options) << "\n";
      else if (options.dry_run) out << "\ndry run: no migration was started\n";
      return failed_status(failures);
    }
    if (!options.json) out << "\n";
    AuditingProgress audited(progress, audit.get(),
                             {.plan_id = new_plan_id(client.clock().now_unix()),
                              .cluster = snap.cluster_name,
                              .by = "balance"},
                             client.clock());
    PVEKIT_ASSIGN(auto report, execute(client, p, exec, audited));
    for (const auto& r : report.results) {
      if (r.outcome == MoveOutcome::Failed) failed.insert(r.move.vmid);
    }
    failures += report.failed() + report.timed_out();
    rounds.push_back({{"plan", plan_json(p)}, {"execution", report_json(report)}});
    if (!options.json) {
      out << fmt::format("\n{} of {} migrations done, {} failed", report.done(), p.moves.size(), report.failed());
      if (report.timed_out() > 0) out << fmt::format(", {} timed out (PVE may still be migrating)", report.timed_out());
      out << "\n";
    }
    if (report.quorum_lost) {
      if (options.json) out << rounds_json(rounds, options) << "\n";
      return core::Error(core::ErrorCategory::Rules, "stopped: " + report.stop_reason);
    }
    if (!report.stopped_early) {
      if (options.json) out << rounds_json(rounds, options) << "\n";
      return failed_status(failures);
    }
    if (!options.json) out << "stopped: " << report.stop_reason << "; planning again\n\n";
  }
  if (options.json) out << rounds_json(rounds, options) << "\n";
  std::string gave_up = "gave up after " + std::to_string(options.max_replans + 1) + " plans";
  if (failures > 0) return failed_status(failures).error().wrap(gave_up);
  return core::Error(core::ErrorCategory::Api, "the cluster kept changing under the plan; " + gave_up);
}

}  // namespace

core::Status run_compat_round(pve::Client& client, const BalanceConfig& config, const CommandOptions& options,
                              std::ostream& out) {
  if (!options.json) return run_balance(client, config, options, out);
  // -j: the round runs silently (ProxLB prints only the document); its own
  // result decides the exit status after the document is printed.
  SilentProgress silent;
  ExecutorOptions exec = executor_options(config);
  CommandOptions quiet = options;
  quiet.dry_run = options.dry_run || !config.balancing.enable;
  exec.dry_run = quiet.dry_run;
  std::ostringstream discard;
  CompatRecord record;
  core::Status status = run_rounds(client, config, quiet, exec, silent, discard, &record);
  if (record.have_snapshot) out << proxlb_compat_json(record.initial, record.moves, config).dump(4) << "\n";
  return status;
}

core::Status run_snapshot(pve::Client& client, const std::string& output, const CommandOptions& options,
                          std::ostream& out) {
  PVEKIT_ASSIGN(auto inputs, read_twin_inputs(client).wrap("read cluster"));
  core::Json scenario = twin_scenario(inputs);
  std::string text = options.json ? scenario.dump(2) + "\n" : twin_yaml(scenario, client.current_host());
  if (output == "-") {
    out << text;
    return core::ok();
  }
  PVEKIT_TRY(core::write_file_atomic(output, text).wrap("write snapshot"));
  size_t guests = scenario["guests"].size(), nodes = scenario["nodes"].size();
  out << "wrote " << output << ": " << nodes << " nodes, " << guests << " guests\n"
      << "rehearse with: pvesim --scenario " << output << "\n";
  return core::ok();
}

core::Status run_best_node(pve::Client& client, const BalanceConfig& config, const PlacementRequest& request,
                           const CommandOptions& options, std::ostream& out) {
  PVEKIT_TRY(check_privileges(client, PrivilegeUse::Read));
  PVEKIT_ASSIGN(auto snap, read_snapshot(client, config).wrap("read cluster"));
  PVEKIT_ASSIGN(std::string node, best_node(snap.state, config, request));
  if (options.json) out << core::Json{{"node", node}}.dump() << "\n";
  else out << node << "\n";
  return core::ok();
}

}  // namespace pvekit::balance
