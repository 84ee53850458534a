#pragma once

#include <functional>
#include <string>
#include <vector>

#include "balance/config.h"
#include "balance/planner.h"
#include "core/result.h"
#include "pve/client.h"

namespace pvekit::balance {

// TimedOut: PVE's task still ran after max_job_validation; it may yet end
// either way, and until it does its nodes' job slots stay taken.
enum class MoveOutcome { Done, Failed, TimedOut, Skipped };
std::string_view to_string(MoveOutcome outcome);

struct MoveResult {
  Move move;
  MoveOutcome outcome = MoveOutcome::Skipped;
  std::string upid;     // the migration task, empty for HA moves and skipped ones
  std::string message;  // why it failed or was skipped
  double seconds = 0;   // wall time from request to end, by the client's clock
};

struct ExecutionReport {
  std::vector<MoveResult> results;  // in plan order
  // Set when execution stopped before the end of the plan: lost quorum, the
  // cluster changed under the plan, or a move failed. The caller may re-plan.
  bool stopped_early = false;
  std::string stop_reason;
  bool quorum_lost = false;
  size_t done() const;
  size_t failed() const;
  size_t timed_out() const;
};

// Receives progress as moves start and end (for live output).
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void wave_started(size_t wave, size_t waves, size_t moves) = 0;
  virtual void move_started(const Move& move, const std::string& upid) = 0;
  virtual void move_finished(const MoveResult& result) = 0;
};

struct ExecutorOptions {
  bool dry_run = false;
  // Concurrent migrations touching one node (as source or target); 1 unless
  // balancing.parallel.
  int jobs_per_node = 1;
  core::Clock::Duration poll_interval = std::chrono::seconds(2);
  core::Clock::Duration job_timeout = std::chrono::seconds(1800);  // balancing.max_job_validation
  // Consecutive failed status polls of one task tolerated before giving it up.
  int poll_failures_tolerated = 5;
  bool with_local_disks = true;
  bool with_conntrack_state = true;
  int lxc_shutdown_timeout = 60;  // seconds, restart migrations of containers
  // Asked before every wave and every migration (the daemon: still leader,
  // not shutting down). An error stops execution: no further migration
  // starts, running ones are awaited, and the error becomes the stop reason.
  std::function<core::Status()> before_start;
};
ExecutorOptions executor_options(const BalanceConfig& config);

// Runs `plan` wave by wave. Before each wave it checks that the cluster is
// quorate and that every guest of the wave is still on its source node and
// unlocked; otherwise it stops (the plan no longer describes the cluster). A
// wave's moves run in parallel up to jobs_per_node per node. A migration
// takes a job slot on its source and its target until it is seen ended:
// also the plan's running migrations (Plan::running, started before the
// plan) and a move that outlived job_timeout, which is reported TimedOut
// while PVE's task goes on. Moves that wait longer than job_timeout for slots
// only such migrations hold are skipped. Running qemu
// guests migrate online (with local disks / conntrack state as configured),
// running containers by restart migration, HA-managed guests through the HA
// manager. A wave with a failed or timed-out move is finished, then
// execution stops.
// Dry-run records every move as Skipped ("dry run") and calls no API.
// Errors are returned only when nothing could be checked at all; failures of
// single moves are in the report.
core::Result<ExecutionReport> execute(pve::Client& client, const Plan& plan,
                                      const ExecutorOptions& options, ProgressSink& progress);

}  // namespace pvekit::balance
