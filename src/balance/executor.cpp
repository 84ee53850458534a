#include "balance/executor.h"

#include <map>

#include <spdlog/spdlog.h>

#include "pve/api.h"

namespace pvekit::balance {
namespace {

using Seconds = std::chrono::duration<double>;

pve::GuestType api_type(GuestType type) {
  return type == GuestType::Qemu ? pve::GuestType::Qemu : pve::GuestType::Lxc;
}

std::string ha_sid(const Move& m) {
  return (m.type == GuestType::Qemu ? "vm:" : "ct:") + std::to_string(m.vmid);
}

// A move in flight.
struct Active {
  size_t index = 0;  // into the plan's moves
  std::string upid;  // empty for HA moves: those are watched via resources
  core::Clock::Duration started{0};
  int poll_failures = 0;
};

class WaveRunner {
 public:
  // `ha` tells which guests of the wave the HA manager moves.
  WaveRunner(pve::Client& client, const Plan& plan, const ExecutorOptions& options,
             const std::map<uint32_t, bool>& ha, ProgressSink& progress, ExecutionReport& report)
      : client_(client), plan_(plan), options_(options), ha_(ha), progress_(progress), report_(report) {}

  // Runs the wave; the reason when before_start halted it (its moves not
  // yet started stay Skipped), empty otherwise.
  std::string run(const std::vector<size_t>& wave) {
    std::vector<size_t> pending = wave;
    while ((!pending.empty() && halted_.empty()) || !active_.empty()) {
      start_what_fits(pending);
      client_.clock().sleep_for(options_.poll_interval);
      poll_active();
    }
    for (size_t i : pending) report_.results[i].message = "not started: " + halted_;
    return halted_;
  }

 private:
  bool fits(const Move& m) const {
    auto busy = [&](const std::string& node) {
      auto it = jobs_.find(node);
      return it != jobs_.end() && it->second >= options_.jobs_per_node;
    };
    return !busy(m.from) && !busy(m.to);
  }

  void start_what_fits(std::vector<size_t>& pending) {
    for (auto it = pending.begin(); it != pending.end() && halted_.empty();) {
      const Move& m = plan_.moves[*it];
      if (!fits(m)) {
        ++it;
        continue;
      }
      if (options_.before_start) {
        if (auto allowed = options_.before_start(); !allowed) {
          halted_ = allowed.error().to_string();
          break;
        }
      }
      start(*it);
      it = pending.erase(it);
    }
  }

  // The UPID of the migration task; empty for HA moves, which have none.
  core::Result<std::string> request(const Move& m) {
    auto ha = ha_.find(m.vmid);
    if (ha != ha_.end() && ha->second) {
      PVEKIT_TRY(pve::ha_migrate(client_, ha_sid(m), m.to));
      return std::string();
    }
    pve::MigrateOptions o{.target = m.to};
    if (m.type == GuestType::Qemu) {
      o.online = m.online;
      o.with_local_disks = options_.with_local_disks && m.local_disk_bytes > 0;
      o.with_conntrack_state = m.online && options_.with_conntrack_state;
    } else if (m.online) {
      o.restart = true;
      o.timeout = options_.lxc_shutdown_timeout;
    }
    return pve::migrate_guest(client_, m.from, api_type(m.type), m.vmid, o);
  }

  void start(size_t index) {
    const Move& m = plan_.moves[index];
    auto upid = request(m);
    if (!upid) {
      finish(index, MoveOutcome::Failed, "", std::move(upid).error().to_string(), client_.clock().monotonic());
      return;
    }
    ++jobs_[m.from];
    ++jobs_[m.to];
    active_.push_back({index, *upid, client_.clock().monotonic(), 0});
    progress_.move_started(m, *upid);
  }

  // The move's result once it ended; nullopt while it runs.
  std::optional<MoveResult> check(Active& a) {
    const Move& m = plan_.moves[a.index];
    if (a.upid.empty()) {
      auto resources = pve::get_cluster_resources(client_, pve::ResourceFilter::Vm);
      if (!resources) return poll_failed(a, resources.error());
      for (const auto& r : *resources)
        if (r.vmid == m.vmid && r.node == m.to && r.lock.empty() && r.hastate != "migrate")
          return result(a, MoveOutcome::Done, "");
      return std::nullopt;
    }
    auto status = pve::get_task_status(client_, a.upid);
    if (!status) return poll_failed(a, status.error());
    a.poll_failures = 0;
    if (status->running()) return std::nullopt;
    if (status->succeeded()) return result(a, MoveOutcome::Done, "");
    return result(a, MoveOutcome::Failed, "migration task failed: " + status->exitstatus + error_from_log(a.upid));
  }

  // PVE's exit status of a failed migration is terse ("migration aborted");
  // the reason is the task log's last "ERROR:" line before the closing
  // "TASK ERROR: <exit status>".
  std::string error_from_log(const std::string& upid) {
    auto log = pve::get_task_log(client_, upid);
    if (!log) return "";
    for (auto it = log->rbegin(); it != log->rend(); ++it) {
      if (it->t.find("ERROR") != std::string::npos && !it->t.starts_with("TASK ERROR")) return " (" + it->t + ")";
    }
    return "";
  }

  std::optional<MoveResult> poll_failed(Active& a, const core::Error& e) {
    if (++a.poll_failures <= options_.poll_failures_tolerated) return std::nullopt;
    return result(a, MoveOutcome::Failed, "lost track of the migration: " + e.to_string());
  }

  MoveResult result(const Active& a, MoveOutcome outcome, std::string message) {
    return MoveResult{plan_.moves[a.index], outcome, a.upid, std::move(message),
                      Seconds(client_.clock().monotonic() - a.started).count()};
  }

  void poll_active() {
    for (auto it = active_.begin(); it != active_.end();) {
      auto done = check(*it);
      if (!done && client_.clock().monotonic() - it->started > options_.job_timeout) {
        done = result(*it, MoveOutcome::Failed,
                      "still running after max_job_validation (" +
                          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(options_.job_timeout).count()) +
                          " s)");
      }
      if (!done) {
        ++it;
        continue;
      }
      const Move& m = plan_.moves[it->index];
      --jobs_[m.from];
      --jobs_[m.to];
      record(it->index, std::move(*done));
      it = active_.erase(it);
    }
  }

  void finish(size_t index, MoveOutcome outcome, std::string upid, std::string message,
              core::Clock::Duration started) {
    record(index, MoveResult{plan_.moves[index], outcome, std::move(upid), std::move(message),
                             Seconds(client_.clock().monotonic() - started).count()});
  }

  void record(size_t index, MoveResult r) {
    if (r.outcome == MoveOutcome::Failed) spdlog::warn("migration of {} to {} failed: {}", r.move.vmid, r.move.to, r.message);
    progress_.move_finished(r);
    report_.results[index] = std::move(r);
  }

 private:
  pve::Client& client_;
  const Plan& plan_;
  const ExecutorOptions& options_;
  const std::map<uint32_t, bool>& ha_;
  ProgressSink& progress_;
  ExecutionReport& report_;
  std::string halted_;  // why before_start stopped new migrations
  std::vector<Active> active_;
  std::map<std::string, int> jobs_;
};

// Empty when the wave may run; otherwise why not.
core::Result<std::string> precheck(pve::Client& client, const Plan& plan, const std::vector<size_t>& wave,
                                   std::map<uint32_t, bool>& ha, ExecutionReport& report) {
  PVEKIT_ASSIGN(auto status, pve::get_cluster_status(client));
  if (!status.quorate) {
    report.quorum_lost = true;
    return std::string("the cluster lost quorum");
  }
  PVEKIT_ASSIGN(auto resources, pve::get_cluster_resources(client, pve::ResourceFilter::Vm));
  for (size_t i : wave) {
    const Move& m = plan.moves[i];
    auto it = std::find_if(resources.begin(), resources.end(),
                           [&](const pve::ClusterResource& r) { return r.vmid == m.vmid; });
    if (it == resources.end()) return "guest " + std::to_string(m.vmid) + " no longer exists";
    if (it->node != m.from)
      return "guest " + std::to_string(m.vmid) + " is on " + it->node + ", not " + m.from + " as planned";
    if (!it->lock.empty()) return "guest " + std::to_string(m.vmid) + " is locked (" + it->lock + ")";
    ha[m.vmid] = !it->hastate.empty();
  }
  return std::string();
}

}  // namespace

std::string_view to_string(MoveOutcome outcome) {
  switch (outcome) {
    case MoveOutcome::Done: return "done";
    case MoveOutcome::Failed: return "failed";
    case MoveOutcome::Skipped: return "skipped";
  }
  return "unknown";
}

size_t ExecutionReport::done() const {
  return static_cast<size_t>(std::count_if(results.begin(), results.end(),
                                           [](const MoveResult& r) { return r.outcome == MoveOutcome::Done; }));
}
size_t ExecutionReport::failed() const {
  return static_cast<size_t>(std::count_if(results.begin(), results.end(),
                                           [](const MoveResult& r) { return r.outcome == MoveOutcome::Failed; }));
}

ExecutorOptions executor_options(const BalanceConfig& config) {
  const auto& b = config.balancing;
  ExecutorOptions o;
  o.jobs_per_node = b.parallel ? std::max(1, b.parallel_jobs) : 1;
  o.job_timeout = std::chrono::seconds(b.max_job_validation);
  o.with_local_disks = b.with_local_disks;
  o.with_conntrack_state = b.with_conntrack_state;
  return o;
}

core::Result<ExecutionReport> execute(pve::Client& client, const Plan& plan, const ExecutorOptions& options,
                                      ProgressSink& progress) {
  ExecutionReport report;
  for (const auto& m : plan.moves) report.results.push_back({m, MoveOutcome::Skipped, "", "not reached", 0});
  if (options.dry_run) {
    for (auto& r : report.results) r.message = "dry run";
    return report;
  }
  for (size_t w = 0; w < plan.waves.size(); ++w) {
    if (options.before_start) {
      if (auto allowed = options.before_start(); !allowed) {
        report.stopped_early = true;
        report.stop_reason = "before wave " + std::to_string(w + 1) + ": " + allowed.error().to_string();
        for (size_t i : plan.waves[w]) report.results[i].message = "not started: " + allowed.error().to_string();
        return report;
      }
    }
    std::map<uint32_t, bool> ha;
    auto blocked = precheck(client, plan, plan.waves[w], ha, report);
    if (!blocked) return std::move(blocked).error().wrap("check before wave " + std::to_string(w + 1));
    if (!blocked->empty()) {
      report.stopped_early = true;
      report.stop_reason = "before wave " + std::to_string(w + 1) + ": " + *blocked;
      return report;
    }
    progress.wave_started(w, plan.waves.size(), plan.waves[w].size());
    std::string halted = WaveRunner(client, plan, options, ha, progress, report).run(plan.waves[w]);
    if (!halted.empty()) {
      report.stopped_early = true;
      report.stop_reason = "during wave " + std::to_string(w + 1) + ": " + halted;
      return report;
    }
    size_t failed = 0;
    for (size_t i : plan.waves[w]) failed += report.results[i].outcome == MoveOutcome::Failed;
    if (failed > 0 && w + 1 < plan.waves.size()) {
      report.stopped_early = true;
      report.stop_reason = std::to_string(failed) + " migration(s) of wave " + std::to_string(w + 1) + " failed";
      return report;
    }
  }
  return report;
}

}  // namespace pvekit::balance
