// proxlb as a service: rounds on a schedule, each reading the cluster,
// planning, and acting only when the hysteresis gate and the leadership
// allow; metrics for Prometheus after every round.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "balance/audit.h"
#include "balance/config.h"
#include "balance/model.h"
#include "balance/snapshot_reader.h"
#include "core/clock.h"
#include "core/result.h"
#include "daemon/leadership.h"
#include "daemon/metrics.h"
#include "daemon/round_gate.h"
#include "daemon/schedule.h"
#include "daemon/webhooks.h"
#include "pve/client.h"

namespace pvekit::daemon {

enum class RoundVerdict {
  NotLeader,   // another daemon acts (or leadership is unknown): nothing read
  Balanced,    // no balancing needed and no rule to repair
  Holding,     // needs balancing, but not for `hold` rounds yet
  NotWorthIt,  // the plan narrows the spread by less than `margin`
  DryRun,      // a plan was made; balancing.enable is false
  Executed,    // migrations ran (balancing, rule repairs or both)
};
std::string_view to_string(RoundVerdict verdict);

// A round asked for out of schedule (the dashboard's actions): Plan makes a
// plan and migrates nothing; Balance acts without waiting for service.hold
// (the margin, leadership and the executor's checks still apply).
enum class RoundRequest { None, Plan, Balance };

struct RoundReport {
  RoundVerdict verdict = RoundVerdict::Balanced;
  std::string summary;  // one line for the log and the status
  size_t planned = 0, done = 0, failed = 0;
  double spread_before = 0, spread_after = 0;
  bool stopped_early = false;
  std::string stop_reason;
  bool pve_crs_rebalancing = false;  // PVE's CRS rebalances HA guests; proxlb left them alone
  // The round's plan as `proxlb plan --json` prints it (null when the round
  // made none), and its id in the audit log (empty unless executed).
  core::Json plan = nullptr;
  std::string plan_id;
  std::string plan_text;  // as `proxlb plan` prints it
  // The cluster as `proxlb status --json` / `proxlb status` show it, read
  // this round (null / empty when the round read nothing).
  core::Json cluster = nullptr;
  std::string cluster_text;
  // The cluster as read (null when the round read nothing): the dashboard's
  // capacity view computes on it.
  std::shared_ptr<const balance::ClusterState> state;
  bool leader = false;     // this daemon acted (or would have)
  std::string leadership;  // who acts, in words
  std::string gate;        // the hysteresis: how many rounds of imbalance of service.hold
};

class Daemon {
 public:
  // The metrics' `cluster` label is config.name when set (an entry of
  // clusters:), else the PVE cluster's name once read. `audit`: where each migration is recorded; null: nowhere. `events`:
  // told of executed plans, migrations, leadership changes and failed
  // rounds (the webhooks); null: nobody.
  Daemon(pve::Client& client, Leadership& leadership, MetricsRegistry& metrics, balance::BalanceConfig config,
         balance::AuditLog* audit = nullptr, EventSink* events = nullptr);

  // One round. `may_continue` is asked before every wave and migration,
  // after the leadership (the loop's shutdown check). Errors: the cluster
  // could not be read or has no quorum; the loop logs them and goes on.
  core::Result<RoundReport> round(const std::function<core::Status()>& may_continue,
                                  RoundRequest asked = RoundRequest::None);

  // A reloaded config (SIGHUP): the gate keeps its count of imbalanced
  // rounds, so a reload does not restart the hold; the audit log is reopened
  // (log rotation), its path kept until the next start.
  void reconfigure(balance::BalanceConfig config);
  const balance::BalanceConfig& config() const { return config_; }
  // The `cluster` label: the config's name for the cluster, else PVE's
  // (empty until the first round has read it).
  const std::string& cluster() const { return cluster_; }
  // The API token's privileges for what the config asks (balance, or only
  // read when balancing.enable is false); see balance::check_privileges.
  core::Status check_privileges();

 private:
  core::Result<RoundReport> act(const std::function<core::Status()>& may_continue, RoundRequest asked);
  void publish(const std::string& event, const core::Json& fields);
  void count_error(const core::Error& error);
  // Learns the cluster's name for the metrics' `cluster` label (once), so
  // every series carries it from the first round on; counters start at 0.
  core::Status label_cluster();
  // Reads PVE's CRS settings; while its rebalancing is on, HA-managed guests
  // are locked for this round (they are the CRS's), or the round refuses to
  // act (service.pve_crs_rebalancing: refuse). True when it is on.
  core::Result<bool> leave_to_pve_crs(balance::ClusterState& state);

  pve::Client& client_;
  Leadership& leadership_;
  MetricsRegistry& metrics_;
  balance::BalanceConfig config_;
  RoundGate gate_;
  std::string cluster_;  // metrics label; empty until label_cluster()
  std::optional<bool> crs_rebalancing_;  // as last seen, to log changes once
  balance::GuestConfigCache config_cache_;  // guest configs between rounds
  balance::NodeStatusRotation node_status_;  // which nodes' /nodes/{n}/status a round reads
  balance::AuditLog* audit_;
  EventSink* events_;
  bool leader_ = false;  // as of the last round, for leader_changed
};

// Declares every proxlb_* metric the daemon exports.
core::Status declare_daemon_metrics(MetricsRegistry& metrics);

// The schedule a config asks for: service.schedule.cron when set, else the
// interval; a bad cron expression is a Config error naming the key.
core::Result<Schedule> schedule_of(const balance::ServiceConfig& service);

// What the loop reads and tells while it runs.
struct LoopControl {
  std::atomic<bool> stop{false};    // SIGTERM/SIGINT: finish the running migrations, then return
  std::atomic<bool> reload{false};  // SIGHUP: load the config again before the next round
  // Loads the config again (SIGHUP). An error keeps the old one.
  std::function<core::Result<balance::BalanceConfig>()> load_config;
  // The service manager's notifications ("READY=1", "STATUS=...",
  // "RELOADING=1", "STOPPING=1"); empty: none.
  std::function<void(const std::string&)> notify;
  // Told the schedule when the loop starts (its text, and its period in
  // seconds, 0 for cron) and every round's outcome (status and readiness).
  std::function<void(const std::string&, double)> on_start;
  std::function<void(const core::Result<RoundReport>&)> on_round;
  // Told when the next round is due (Unix time), after each round.
  std::function<void(double)> on_scheduled;
  // Overrides the schedule with a fixed interval (--interval).
  std::optional<std::chrono::milliseconds> interval;
  int max_rounds = 0;  // 0: until stopped (--rounds)
  // A round asked for now (the dashboard): the wait ends at once. A request
  // made during a round waits for its end: never two rounds at once.
  std::atomic<RoundRequest> requested{RoundRequest::None};
};

// Rounds until control.stop: service.delay before the first, then on the
// schedule. Returns when stopped (or after max_rounds); errors only for a
// config that cannot run at all.
core::Status run_loop(Daemon& daemon, core::Clock& clock, LoopControl& control);

}  // namespace pvekit::daemon
