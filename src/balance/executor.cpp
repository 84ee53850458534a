#include "balance/executor.h"

#include <algorithm>
#include <map>
#include <optional>

#include <spdlog/spdlog.h>

#include "core/strings.h"
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

// A migration that takes job slots on its nodes: one this execution started
// (`index` into the plan's moves) or one PVE was already running when the
// snapshot was read. It keeps its slots until it is seen ended, also after
// it outlived the job timeout: PVE's task goes on, and so does the load it
// puts on both nodes.
struct Job {
  std::optional<size_t> index;  // the plan's move; nullopt: running before this plan
  uint32_t vmid = 0;
  std::string from, to;  // `to` empty: target unknown, only the source's slot is known to be taken
  std::string upid;  // empty: watched through the guest's resource (HA moves, locks without a task)
  core::Clock::Duration started{0};
  int poll_failures = 0;         // consecutive failed polls
  std::string poll_error;        // the last one's
  bool result_recorded = false;  // timed out or lost track of: now only watched for its end
  bool reported() const { return !index || result_recorded; }
};

// Runs the plan's waves; its jobs outlive a wave when they timed out or were
// running before the plan.
class Runner {
 public:
  Runner(pve::Client& client, const Plan& plan, const ExecutorOptions& options, ProgressSink& progress,
         ExecutionReport& report)
      : client_(client), plan_(plan), options_(options), progress_(progress), report_(report) {
    for (const auto& r : plan.running) {
      Job job{.index = std::nullopt, .vmid = r.vmid, .from = r.migration.source, .to = r.migration.target,
              .upid = r.migration.upid, .started = client_.clock().monotonic()};
      take_slots(job, +1);
      jobs_.push_back(std::move(job));
    }
  }

  // Returns when every move of the wave has a result, or when before_start
  // halted it: then the reason (the wave's moves not started stay Skipped)
  // once the migrations already running ended; empty otherwise. Moves wait
  // for free slots; when only jobs that already have a result (timed out,
  // or running before the plan) keep a node busy for longer than the job
  // timeout, the moves still waiting are skipped.
  std::string run_wave(const std::vector<size_t>& wave, const std::map<uint32_t, bool>& ha) {
    ha_ = &ha;
    std::vector<size_t> pending = wave;
    last_progress_ = client_.clock().monotonic();
    while ((!pending.empty() && halted_.empty()) || own_jobs_running()) {
      start_what_fits(pending);
      if (halted_.empty() && !pending.empty() && !own_jobs_running() &&
          client_.clock().monotonic() - last_progress_ > options_.job_timeout) {
        skip_blocked(pending);
        break;
      }
      client_.clock().sleep_for(options_.poll_interval);
      poll();
    }
    for (size_t i : pending) report_.results[i].message = "not started: " + halted_;
    return halted_;
  }

 private:
  bool own_jobs_running() const {
    return std::any_of(jobs_.begin(), jobs_.end(), [](const Job& j) { return !j.reported(); });
  }

  void take_slots(const Job& job, int delta) {
    jobs_per_node_[job.from] += delta;
    if (!job.to.empty()) jobs_per_node_[job.to] += delta;
  }

  bool busy(const std::string& node) const {
    auto it = jobs_per_node_.find(node);
    return it != jobs_per_node_.end() && it->second >= options_.jobs_per_node;
  }

  void start_what_fits(std::vector<size_t>& pending) {
    for (auto it = pending.begin(); it != pending.end() && halted_.empty();) {
      const Move& m = plan_.moves[*it];
      if (busy(m.from) || busy(m.to)) {
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

  void skip_blocked(std::vector<size_t>& pending) {
    for (size_t index : pending) {
      const Move& m = plan_.moves[index];
      std::string node = busy(m.from) ? m.from : m.to;
      record(index, MoveResult{m, MoveOutcome::Skipped, "",
                               "not started: " + node + " is still busy with migrations that outlived " +
                                   "max_job_validation",
                               0});
    }
    pending.clear();
  }

  // The UPID of the migration task; empty for HA moves, which have none.
  core::Result<std::string> request(const Move& m) {
    auto ha = ha_->find(m.vmid);
    if (ha != ha_->end() && ha->second) {
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
    const auto now = client_.clock().monotonic();
    last_progress_ = now;
    auto upid = request(m);
    if (!upid) {
      record(index, MoveResult{m, MoveOutcome::Failed, "", std::move(upid).error().to_string(), 0});
      return;
    }
    Job job{.index = index, .vmid = m.vmid, .from = m.from, .to = m.to, .upid = *upid, .started = now};
    take_slots(job, +1);
    jobs_.push_back(std::move(job));
    progress_.move_started(m, *upid);
  }

  // How the job ended: "OK" or the error; nullopt while it runs (or while
  // its state cannot be read).
  std::optional<std::string> ended(Job& job) {
    if (job.upid.empty()) {
      auto resources = pve::get_cluster_resources(client_, pve::ResourceFilter::Vm);
      if (!resources) return poll_failed(job, resources.error());
      job.poll_failures = 0;
      for (const auto& r : *resources) {
        if (r.vmid != job.vmid) continue;
        if (!r.lock.empty() || r.hastate == "migrate" || r.hastate == "relocate") return std::nullopt;
        // The HA manager takes a request up a little later: the plan's move
        // has ended only once the guest is on its target.
        if (job.index && r.node != job.to) return std::nullopt;
        return std::string("OK");
      }
      return std::string("the guest no longer exists");
    }
    auto status = pve::get_task_status(client_, job.upid);
    if (!status) return poll_failed(job, status.error());
    job.poll_failures = 0;
    if (status->running()) return std::nullopt;
    if (status->succeeded()) return std::string("OK");
    return "migration task failed: " + status->exitstatus + error_from_log(job.upid);
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

  // A failed poll: poll() fails the plan's move once the tolerance is used
  // up; the job keeps its slots either way, as PVE may still be migrating.
  std::optional<std::string> poll_failed(Job& job, const core::Error& e) {
    ++job.poll_failures;
    job.poll_error = e.to_string();
    return std::nullopt;
  }

  void poll() {
    const auto now = client_.clock().monotonic();
    for (auto it = jobs_.begin(); it != jobs_.end();) {
      auto end = ended(*it);
      if (!end && !it->reported()) {
        const Move& m = plan_.moves[*it->index];
        if (it->poll_failures > options_.poll_failures_tolerated) {
          record(*it->index, result(*it, MoveOutcome::Failed, "lost track of the migration: " + it->poll_error));
          it->result_recorded = true;
        } else if (now - it->started > options_.job_timeout) {
          auto secs = std::chrono::duration_cast<std::chrono::seconds>(options_.job_timeout).count();
          record(*it->index, result(*it, MoveOutcome::TimedOut,
                                    "still running after max_job_validation (" + std::to_string(secs) +
                                        " s); its job slots on " + m.from + " and " + m.to +
                                        " stay taken until PVE's task ends"));
          it->result_recorded = true;
          last_progress_ = now;
        }
      }
      if (!end) {
        ++it;
        continue;
      }
      last_progress_ = now;
      take_slots(*it, -1);
      if (!it->reported()) {
        bool ok = *end == "OK";
        record(*it->index, result(*it, ok ? MoveOutcome::Done : MoveOutcome::Failed, ok ? "" : *end));
      } else {
        spdlog::info("migration of {} from {} ended ({}); its job slots are free", it->vmid, it->from, *end);
      }
      it = jobs_.erase(it);
    }
  }

  MoveResult result(const Job& job, MoveOutcome outcome, std::string message) {
    return MoveResult{plan_.moves[*job.index], outcome, job.upid, std::move(message),
                      Seconds(client_.clock().monotonic() - job.started).count()};
  }

  void record(size_t index, MoveResult r) {
    if (r.outcome == MoveOutcome::Failed || r.outcome == MoveOutcome::TimedOut)
      spdlog::warn("migration of {} to {} {}: {}", r.move.vmid, r.move.to, to_string(r.outcome), r.message);
    progress_.move_finished(r);
    report_.results[index] = std::move(r);
  }

  pve::Client& client_;
  const Plan& plan_;
  const ExecutorOptions& options_;
  ProgressSink& progress_;
  ExecutionReport& report_;
  const std::map<uint32_t, bool>* ha_ = nullptr;  // the current wave's: which guests the HA manager moves
  std::vector<Job> jobs_;
  std::map<std::string, int> jobs_per_node_;
  core::Clock::Duration last_progress_{0};  // a job started or ended, or timed out
  std::string halted_;  // why before_start stopped new migrations
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
    case MoveOutcome::TimedOut: return "timed out";
    case MoveOutcome::Skipped: return "skipped";
  }
  return "unknown";
}

size_t ExecutionReport::done() const {
  return static_cast<size_t>(std::count_if(results.begin(), results.end(),
                                           [](const MoveResult& r) { return r.outcome == MoveOutcome::Done; }));
}
size_t ExecutionReport::timed_out() const {
  return static_cast<size_t>(std::count_if(results.begin(), results.end(),
                                           [](const MoveResult& r) { return r.outcome == MoveOutcome::TimedOut; }));
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
  Runner runner(client, plan, options, progress, report);
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
    std::string halted = runner.run_wave(plan.waves[w], ha);
    if (!halted.empty()) {
      report.stopped_early = true;
      report.stop_reason = "during wave " + std::to_string(w + 1) + ": " + halted;
      return report;
    }
    // The next wave assumes this one's state: a move that failed, timed out
    // (PVE may still be migrating) or was not started leaves it unreached.
    std::map<MoveOutcome, size_t> missed;
    for (size_t i : plan.waves[w])
      if (report.results[i].outcome != MoveOutcome::Done) ++missed[report.results[i].outcome];
    if (!missed.empty() && w + 1 < plan.waves.size()) {
      std::vector<std::string> parts;
      for (const auto& [outcome, n] : missed)
        parts.push_back(std::to_string(n) + " " + std::string(to_string(outcome)));
      report.stopped_early = true;
      report.stop_reason =
          "migrations of wave " + std::to_string(w + 1) + " not done (" + core::join(parts, ", ") + ")";
      return report;
    }
  }
  return report;
}

}  // namespace pvekit::balance
