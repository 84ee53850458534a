#include "daemon/daemon.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "balance/executor.h"
#include "balance/planner.h"
#include "balance/report.h"
#include "balance/snapshot_reader.h"
#include "pve/api.h"

namespace pvekit::daemon {
namespace {

using namespace std::chrono_literals;
using balance::MoveOutcome;
using balance::MoveReason;

constexpr const char* kResourceNames[] = {"memory", "cpu", "disk"};

bool is_repair(MoveReason reason) {
  return reason == MoveReason::Evacuate || reason == MoveReason::Affinity || reason == MoveReason::Pin ||
         reason == MoveReason::AntiAffinity;
}

// "cluster NAME: " for an entry of clusters:, so that the interleaved lines
// of several clusters' loops say whose they are; "" for a lone cluster.
std::string log_prefix(const balance::BalanceConfig& config) {
  return config.name.empty() ? std::string() : "cluster " + config.name + ": ";
}

// Logs each migration and counts the ones started.
class RoundProgress final : public balance::ProgressSink {
 public:
  // `started`: told of each migration as it starts (the dashboard's progress).
  RoundProgress(MetricsRegistry& metrics, const std::string& cluster, std::string prefix,
                std::function<void(const core::Json&)> started)
      : metrics_(metrics), cluster_(cluster), prefix_(std::move(prefix)), started_(std::move(started)) {}
  void wave_started(size_t wave, size_t waves, size_t moves) override {
    spdlog::info("{}wave {}/{}: {} migration(s)", prefix_, wave + 1, waves, moves);
  }
  void move_started(const balance::Move& m, const std::string& upid) override {
    (void)metrics_.add("proxlb_migrations_started_total", {cluster_}, 1);
    spdlog::info("{}migrating {} ({}) {} -> {} ({}){}", prefix_, m.vmid, m.name, m.from, m.to, to_string(m.reason),
                 upid.empty() ? " via the HA manager" : "");
    started_({{"vmid", m.vmid}, {"name", m.name}, {"from", m.from}, {"to", m.to},
              {"reason", std::string(to_string(m.reason))}, {"upid", upid}});
  }
  void move_finished(const balance::MoveResult& r) override {
    spdlog::log(r.outcome == MoveOutcome::Failed ? spdlog::level::warn : spdlog::level::info,
                "{}migration of {} {} -> {}: {} in {:.1f} s{}{}", prefix_, r.move.vmid, r.move.from, r.move.to,
                to_string(r.outcome), r.seconds, r.message.empty() ? "" : ": ", r.message);
  }

 private:
  MetricsRegistry& metrics_;
  const std::string& cluster_;
  std::string prefix_;
  std::function<void(const core::Json&)> started_;
};

std::string plan_text(const balance::Plan& plan) {
  std::ostringstream text;
  balance::render_plan(plan, text);
  return text.str();
}

GateSettings gate_settings(const balance::BalanceConfig& config) {
  return {.hold = config.service.hold, .margin = config.service.margin};
}

double seconds_since(const core::Clock& clock, core::Clock::Duration start) {
  return std::chrono::duration<double>(clock.monotonic() - start).count();
}

// Local civil time of a Unix time, to the minute (what cron matches).
CivilMinute civil_minute(double unix_time) {
  time_t t = static_cast<time_t>(std::floor(unix_time));
  struct tm local{};
  localtime_r(&t, &local);
  using namespace std::chrono;
  auto date = sys_days(year_month_day(year(local.tm_year + 1900), month(static_cast<unsigned>(local.tm_mon + 1)),
                                      day(static_cast<unsigned>(local.tm_mday))));
  return CivilMinute(date) + hours(local.tm_hour) + minutes(local.tm_min);
}

// The Unix time of a local civil minute (mktime settles DST gaps and folds).
double unix_of(CivilMinute minute) {
  using namespace std::chrono;
  auto day = floor<days>(minute);
  year_month_day ymd(day);
  hh_mm_ss time(minute - day);
  struct tm local{};
  local.tm_year = static_cast<int>(ymd.year()) - 1900;
  local.tm_mon = static_cast<int>(static_cast<unsigned>(ymd.month())) - 1;
  local.tm_mday = static_cast<int>(static_cast<unsigned>(ymd.day()));
  local.tm_hour = static_cast<int>(time.hours().count());
  local.tm_min = static_cast<int>(time.minutes().count());
  local.tm_isdst = -1;
  return static_cast<double>(mktime(&local));
}

}  // namespace

std::string_view to_string(RoundVerdict verdict) {
  switch (verdict) {
    case RoundVerdict::NotLeader: return "not_leader";
    case RoundVerdict::Balanced: return "balanced";
    case RoundVerdict::Holding: return "holding";
    case RoundVerdict::NotWorthIt: return "not_worth_it";
    case RoundVerdict::DryRun: return "dry_run";
    case RoundVerdict::Executed: return "executed";
  }
  return "unknown";
}

core::Status declare_daemon_metrics(MetricsRegistry& m) {
  using T = MetricType;
  const std::vector<std::string> c = {"cluster"};
  PVEKIT_TRY(m.declare("proxlb_leader", T::Gauge, "1 when this daemon is the one that acts, else 0.", c));
  PVEKIT_TRY(m.declare("proxlb_spread_points", T::Gauge,
                       "Max-min spread of node usage in percentage points per resource (ProxLB's balanciness "
                       "measure), at the start of the last round.",
                       {"cluster", "resource"}));
  PVEKIT_TRY(m.declare("proxlb_imbalance_percent", T::Gauge,
                       "Weighted coefficient of variation of node usage (balancing.imbalance_threshold's "
                       "measure), at the start of the last round.",
                       c));
  PVEKIT_TRY(m.declare("proxlb_node_usage_ratio", T::Gauge,
                       "Used share of a node's resource in the balancing mode, at the start of the last round.",
                       {"cluster", "node", "resource"}));
  PVEKIT_TRY(m.declare("proxlb_node_guests", T::Gauge, "Guests on a node.", {"cluster", "node"}));
  PVEKIT_TRY(m.declare("proxlb_hold_rounds", T::Gauge,
                       "Consecutive rounds that needed balancing (balancing waits for service.hold of them).", c));
  PVEKIT_TRY(m.declare("proxlb_migrations_planned_total", T::Counter, "Migrations in plans that were executed.", c));
  PVEKIT_TRY(m.declare("proxlb_migrations_started_total", T::Counter, "Migrations started.", c));
  PVEKIT_TRY(m.declare("proxlb_migrations_succeeded_total", T::Counter, "Migrations that ended well.", c));
  PVEKIT_TRY(m.declare("proxlb_migrations_failed_total", T::Counter, "Migrations that failed.", c));
  PVEKIT_TRY(m.declare("proxlb_migrated_bytes_total", T::Counter,
                       "Memory and local disk copied by migrations that ended well.", c));
  PVEKIT_TRY(m.declare("proxlb_audit_write_errors_total", T::Counter,
                       "Migrations the audit log (service.audit_log) could not record.", c));
  PVEKIT_TRY(m.declare("proxlb_plan_duration_seconds", T::Gauge, "Time the last plan took.", c));
  PVEKIT_TRY(m.declare("proxlb_round_duration_seconds", T::Gauge, "Time the last round took.", c));
  PVEKIT_TRY(m.declare("proxlb_rounds_total", T::Counter, "Rounds by verdict.", {"cluster", "verdict"}));
  PVEKIT_TRY(m.declare("proxlb_api_errors_total", T::Counter,
                       "Rounds that failed on the PVE API, by kind (transport, api, auth, ...).",
                       {"cluster", "kind"}));
  PVEKIT_TRY(m.declare("proxlb_guest_config_reads_total", T::Counter,
                       "Guest configs read; between rounds only those that may have changed are read again.", c));
  PVEKIT_TRY(m.declare("proxlb_pve_crs_rebalancing", T::Gauge,
                       "1 when PVE's own CRS rebalances HA guests (crs: ha-auto-rebalance=1); proxlb then leaves "
                       "them alone.",
                       c));
  PVEKIT_TRY(m.declare("proxlb_last_successful_round_timestamp_seconds", T::Gauge,
                       "Unix time at which the last round that read the cluster ended.", c));
  return core::ok();
}

core::Result<Schedule> schedule_of(const balance::ServiceConfig& service) {
  if (!service.schedule_cron.empty()) {
    auto cron = CronExpression::parse(service.schedule_cron);
    if (!cron) return core::Error(cron.error()).wrap("service.schedule.cron");
    return Schedule(*cron);
  }
  return Schedule(Interval{std::chrono::seconds(service.schedule_seconds())});
}

Daemon::Daemon(pve::Client& client, Leadership& leadership, MetricsRegistry& metrics, balance::BalanceConfig config,
               balance::AuditLog* audit, EventSink* events)
    : client_(client),
      leadership_(leadership),
      metrics_(metrics),
      config_(std::move(config)),
      gate_(gate_settings(config_)),
      audit_(audit),
      events_(events) {}

void Daemon::publish(const std::string& event, const core::Json& fields) {
  if (events_) events_->publish(event, cluster_, fields);
}

void Daemon::reconfigure(balance::BalanceConfig config) {
  if (config.service.audit_log != config_.service.audit_log) {
    spdlog::warn("service.audit_log changes take effect at the next start; still writing {}",
                 config_.service.audit_log.empty() ? "none" : config_.service.audit_log);
  }
  // SIGHUP is also logrotate's signal to reopen the audit log.
  if (audit_) {
    if (auto reopened = audit_->reopen(); !reopened) spdlog::error("audit: {}", reopened.error().to_string());
  }
  config_ = std::move(config);
  gate_.reconfigure(gate_settings(config_));
}

core::Status Daemon::check_privileges() {
  return balance::check_privileges(client_, config_.balancing.enable ? balance::PrivilegeUse::Balance
                                                                     : balance::PrivilegeUse::Read);
}

void Daemon::count_error(const core::Error& error) {
  std::string kind(core::to_string(error.category()));
  std::transform(kind.begin(), kind.end(), kind.begin(), [](unsigned char c) { return std::tolower(c); });
  (void)metrics_.add("proxlb_api_errors_total", {cluster_, kind}, 1);
}

core::Result<bool> Daemon::leave_to_pve_crs(balance::ClusterState& state) {
  auto crs = pve::get_crs_options(client_);
  if (!crs) {
    // Without Sys.Audit on / the options cannot be read; PVE's default is off.
    if (crs_rebalancing_ != false) {
      spdlog::warn("{}cannot read PVE's CRS settings, assuming its rebalancing is off: {}", log_prefix(config_),
                   crs.error().to_string());
    }
    crs_rebalancing_ = false;
    (void)metrics_.set("proxlb_pve_crs_rebalancing", {cluster_}, 0);
    return false;
  }
  bool on = crs->auto_rebalance;
  (void)metrics_.set("proxlb_pve_crs_rebalancing", {cluster_}, on ? 1 : 0);
  if (crs_rebalancing_ != on) {
    if (on) {
      spdlog::warn("{}PVE's CRS rebalances HA guests (crs: ha={}, ha-auto-rebalance=1): {}", log_prefix(config_),
                   crs->ha,
                   config_.service.pve_crs_rebalancing == "refuse" ? "proxlb does not act (service.pve_crs_rebalancing: refuse)"
                                                                  : "proxlb leaves HA-managed guests to it");
    } else if (crs_rebalancing_) {
      spdlog::info("{}PVE's CRS rebalancing is off again: proxlb balances HA-managed guests too", log_prefix(config_));
    }
    crs_rebalancing_ = on;
  }
  if (!on) return false;
  if (config_.service.pve_crs_rebalancing == "refuse") {
    return core::Error(core::ErrorCategory::Conflict,
                       "PVE's CRS rebalances HA guests (crs: ha-auto-rebalance=1) and service.pve_crs_rebalancing "
                       "is refuse: not acting, so that two balancers do not fight; turn one of them off");
  }
  for (auto& g : state.guests) {
    if (g.ha_managed && g.lock.empty()) g.lock = "proxlb: left to PVE's CRS rebalancing";
  }
  return true;
}

core::Status Daemon::label_cluster() {
  if (!cluster_.empty()) return core::ok();
  if (!config_.name.empty()) {
    cluster_ = config_.name;  // an entry of clusters:, named by the config
  } else {
    PVEKIT_ASSIGN(auto status, pve::get_cluster_status(client_).wrap("read the cluster's name"));
    // A node without a cluster has no name: its own name stands for it.
    cluster_ = !status.name.empty() ? status.name : !status.nodes.empty() ? status.nodes.front().name : "standalone";
  }
  for (const char* counter : {"proxlb_migrations_planned_total", "proxlb_migrations_started_total",
                              "proxlb_migrations_succeeded_total", "proxlb_migrations_failed_total",
                              "proxlb_migrated_bytes_total", "proxlb_audit_write_errors_total"}) {
    (void)metrics_.add(counter, {cluster_}, 0);
  }
  return core::ok();
}

core::Result<RoundReport> Daemon::round(const std::function<core::Status()>& may_continue, RoundRequest asked) {
  auto started = client_.clock().monotonic();
  PVEKIT_TRY(label_cluster());
  auto leader = leadership_.confirm();
  const bool leading = leader.ok() && *leader;
  (void)metrics_.set("proxlb_leader", {cluster_}, leading ? 1 : 0);
  if (leading != leader_) {
    leader_ = leading;
    publish("leader_changed", {{"leader", leading}, {"leadership", leadership_.describe()}});
  }
  if (!leading) {
    RoundReport report{.verdict = RoundVerdict::NotLeader, .leadership = leadership_.describe()};
    report.summary = "not acting: " + leadership_.describe() +
                     (leader.ok() ? std::string() : " (" + leader.error().to_string() + ")");
    (void)metrics_.add("proxlb_rounds_total", {cluster_, std::string(to_string(report.verdict))}, 1);
    return report;
  }
  auto report = act(may_continue, asked);
  if (report) {
    report->leader = true;
    report->leadership = leadership_.describe();
    report->gate = gate_.progress();
  }
  (void)metrics_.set("proxlb_round_duration_seconds", {cluster_}, seconds_since(client_.clock(), started));
  if (!report) {
    count_error(report.error());
    publish("round_failed", {{"error", report.error().to_string()}});
    return report;
  }
  (void)metrics_.add("proxlb_rounds_total", {cluster_, std::string(to_string(report->verdict))}, 1);
  (void)metrics_.set("proxlb_last_successful_round_timestamp_seconds", {cluster_}, client_.clock().now_unix());
  return report;
}

core::Result<RoundReport> Daemon::act(const std::function<core::Status()>& may_continue, RoundRequest asked) {
  PVEKIT_ASSIGN(auto snap, balance::read_snapshot(client_, config_, 4, &config_cache_, &node_status_).wrap("read cluster"));
  (void)metrics_.add("proxlb_guest_config_reads_total", {cluster_}, static_cast<double>(config_cache_.reads()));
  PVEKIT_ASSIGN(bool crs_rebalancing, leave_to_pve_crs(snap.state));
  if (!snap.quorate) {
    return core::Error(core::ErrorCategory::Rules,
                       "cluster " + cluster_ + " has no quorum; refusing to migrate anything");
  }
  auto planning = client_.clock().monotonic();
  balance::Plan plan = balance::plan(snap.state, config_);
  (void)metrics_.set("proxlb_plan_duration_seconds", {cluster_}, seconds_since(client_.clock(), planning));

  metrics_.clear("proxlb_node_usage_ratio", {cluster_});
  metrics_.clear("proxlb_node_guests", {cluster_});
  std::array<double, 3> low{1e9, 1e9, 1e9}, high{-1e9, -1e9, -1e9};
  for (const auto& n : plan.nodes) {
    for (size_t r = 0; r < 3; ++r) {
      (void)metrics_.set("proxlb_node_usage_ratio", {cluster_, n.name, kResourceNames[r]}, n.before[r]);
      low[r] = std::min(low[r], n.before[r]);
      high[r] = std::max(high[r], n.before[r]);
    }
  }
  for (size_t r = 0; r < 3 && !plan.nodes.empty(); ++r) {
    (void)metrics_.set("proxlb_spread_points", {cluster_, kResourceNames[r]}, (high[r] - low[r]) * 100);
  }
  std::map<std::string, int> guests;
  for (const auto& n : snap.state.nodes) guests[n.name] = 0;
  for (const auto& g : snap.state.guests) ++guests[g.node];
  for (const auto& [node, count] : guests) (void)metrics_.set("proxlb_node_guests", {cluster_, node}, count);
  (void)metrics_.set("proxlb_imbalance_percent", {cluster_}, plan.imbalance_before);

  RoundReport report{.spread_before = plan.spread_before, .spread_after = plan.spread_after,
                     .pve_crs_rebalancing = crs_rebalancing, .plan = balance::plan_json(plan),
                     .plan_text = plan_text(plan), .cluster = balance::status_json(snap, config_)};
  report.state = std::make_shared<const balance::ClusterState>(snap.state);
  std::ostringstream cluster_text;
  balance::render_status(snap, config_, cluster_text);
  report.cluster_text = cluster_text.str();
  bool repairs = std::any_of(plan.moves.begin(), plan.moves.end(), [](const auto& m) { return is_repair(m.reason); });
  GateVerdict seen = gate_.observe(plan.balancing_needed);
  (void)metrics_.set("proxlb_hold_rounds", {cluster_}, gate_.needed_rounds());
  PlanVerdict verdict = gate_.accept(plan.spread_before, plan.spread_after, repairs, asked == RoundRequest::Balance);
  if (verdict == PlanVerdict::Skip || plan.moves.empty()) {
    report.verdict = seen == GateVerdict::Balanced  ? RoundVerdict::Balanced
                     : seen == GateVerdict::Holding ? RoundVerdict::Holding
                                                    : RoundVerdict::NotWorthIt;
    report.summary =
        seen == GateVerdict::Balanced  ? fmt::format("balanced: spread {:.1f} points", plan.spread_before)
        : seen == GateVerdict::Holding ? fmt::format("needs balancing (spread {:.1f} points) for {}; waiting",
                                                     plan.spread_before, gate_.progress())
                                       : fmt::format("a plan of {} migration(s) would narrow the spread only "
                                                     "from {:.1f} to {:.1f} points (service.margin {:g}); skipped",
                                                     plan.moves.size(), plan.spread_before, plan.spread_after,
                                                     config_.service.margin);
    return report;
  }
  if (verdict == PlanVerdict::RepairsOnly) {
    // The same cluster planned without the balancing pass: the repairs and
    // the room they need, nothing more.
    balance::BalanceConfig repairs_only = config_;
    repairs_only.balancing.enable = false;
    plan = balance::plan(snap.state, repairs_only);
    report.spread_after = plan.spread_after;
    report.plan = balance::plan_json(plan);
    report.plan_text = plan_text(plan);
  }
  report.planned = plan.moves.size();
  if (!config_.balancing.enable || asked == RoundRequest::Plan) {
    report.verdict = RoundVerdict::DryRun;
    report.summary = fmt::format("{}: {} migration(s) planned, none started",
                                 config_.balancing.enable ? "a plan asked for" : "balancing.enable is false",
                                 plan.moves.size());
    return report;
  }
  (void)metrics_.add("proxlb_migrations_planned_total", {cluster_}, static_cast<double>(plan.moves.size()));
  balance::ExecutorOptions exec = balance::executor_options(config_);
  exec.before_start = [&]() -> core::Status {
    PVEKIT_TRY(may_continue());
    auto leader = leadership_.confirm();
    if (!leader) return core::Error(leader.error()).wrap("leadership unknown");
    if (!*leader) return core::Error(core::ErrorCategory::Conflict, "no longer the leader: " + leadership_.describe());
    return core::ok();
  };
  RoundProgress logged(metrics_, cluster_, log_prefix(config_),
                       [this](const core::Json& move) { publish("migration_started", move); });
  report.plan_id = balance::new_plan_id(client_.clock().now_unix());
  publish("balance_started", {{"plan_id", report.plan_id}, {"moves", report.plan["moves"]}});
  balance::AuditingProgress progress(
      logged, audit_, {.plan_id = report.plan_id, .cluster = cluster_, .by = "daemon"}, client_.clock(),
      [this](const core::Json& record) {
        publish(record.value("result", "") == "done" ? "migration_succeeded" : "migration_failed", record);
      });
  const uint64_t audit_errors = audit_ ? audit_->write_errors() : 0;
  auto run = balance::execute(client_, plan, exec, progress);
  if (audit_) {
    (void)metrics_.add("proxlb_audit_write_errors_total", {cluster_},
                       static_cast<double>(audit_->write_errors() - audit_errors));
  }
  if (!run) return std::move(run).error();
  const balance::ExecutionReport& executed = *run;
  double bytes = 0;
  for (const auto& r : executed.results) {
    if (r.outcome == MoveOutcome::Done) bytes += static_cast<double>(r.move.memory_bytes + r.move.local_disk_bytes);
  }
  report.done = executed.done();
  report.failed = executed.failed();
  report.stopped_early = executed.stopped_early;
  report.stop_reason = executed.stop_reason;
  (void)metrics_.add("proxlb_migrations_succeeded_total", {cluster_}, static_cast<double>(report.done));
  (void)metrics_.add("proxlb_migrations_failed_total", {cluster_}, static_cast<double>(report.failed));
  (void)metrics_.add("proxlb_migrated_bytes_total", {cluster_}, bytes);
  if (verdict == PlanVerdict::Execute && report.done > 0) gate_.executed();
  core::Json moves = core::Json::array();
  for (const auto& r : executed.results) {
    moves.push_back({{"vmid", r.move.vmid}, {"name", r.move.name}, {"from", r.move.from}, {"to", r.move.to},
                     {"reason", std::string(to_string(r.move.reason))}, {"result", std::string(to_string(r.outcome))}});
  }
  publish("plan_executed", {{"plan_id", report.plan_id}, {"moves", std::move(moves)}, {"planned", report.planned},
                            {"done", report.done}, {"failed", report.failed},
                            {"spread_before", plan.spread_before}, {"spread_after", plan.spread_after},
                            {"stopped_early", report.stopped_early}, {"stop_reason", report.stop_reason}});
  report.verdict = RoundVerdict::Executed;
  report.summary = fmt::format("{}: {} of {} migration(s) done, {} failed; spread {:.1f} -> {:.1f} points{}{}",
                               verdict == PlanVerdict::Execute ? "balanced" : "repaired rules", report.done,
                               report.planned, report.failed, plan.spread_before, plan.spread_after,
                               report.stopped_early ? "; stopped: " : "", report.stop_reason);
  return report;
}

core::Status run_loop(Daemon& daemon, core::Clock& clock, LoopControl& control) {
  // With several clusters each loop's lines say which cluster they are of.
  const std::string prefix = log_prefix(daemon.config());
  auto notify = [&](const std::string& message) {
    if (control.notify) control.notify(message);
  };
  PVEKIT_ASSIGN(Schedule schedule, schedule_of(daemon.config().service));
  if (control.interval) schedule = Interval{std::chrono::duration_cast<std::chrono::seconds>(*control.interval)};
  // The privileges are read at the start and after each SIGHUP (how an
  // operator says the ACLs changed), not every round. Missing ones stop the
  // daemon; a cluster that cannot be asked is asked again before the next
  // round, which waits until it answered.
  std::optional<core::Error> unverified;
  auto verify_privileges = [&]() -> core::Status {
    auto held = daemon.check_privileges();
    if (held) {
      unverified.reset();
      return core::ok();
    }
    if (held.error().category() == core::ErrorCategory::Auth) return held;
    unverified = held.error();
    return core::ok();
  };
  std::optional<core::Error> refused;
  auto reload = [&]() {
    control.reload = false;
    auto recheck = [&] {
      if (auto held = verify_privileges(); !held) refused = held.error();
    };
    if (!control.load_config) return recheck();
    notify("RELOADING=1");
    auto loaded = control.load_config();
    core::Result<Schedule> next = loaded ? schedule_of(loaded->service) : core::Result<Schedule>(loaded.error());
    if (!next) {
      spdlog::error("{}config reload failed, keeping the previous config: {}", prefix, next.error().to_string());
    } else {
      for (const auto& w : loaded->warnings) spdlog::warn("{}config: {}", prefix, w);
      daemon.reconfigure(std::move(*loaded));
      if (!control.interval) schedule = *next;
      spdlog::info("{}config reloaded; rounds {}", prefix, describe(schedule));
    }
    recheck();
    notify("READY=1");
  };

  // Sleeps until `wait` passed or a stop; a SIGHUP meanwhile reloads at once.
  auto wait_until_stop_or = [&](core::Clock::Duration wait) {
    for (auto slept = core::Clock::Duration{0};
         slept < wait && !control.stop && !refused && control.requested == RoundRequest::None; slept += 100ms) {
      if (control.reload) reload();
      clock.sleep_for(std::min<core::Clock::Duration>(100ms, wait - slept));
    }
  };

  PVEKIT_TRY(verify_privileges());
  std::string interval_text = control.interval ? fmt::format("every {} ms", control.interval->count()) : describe(schedule);
  spdlog::info("{}proxlb daemon: rounds {}", prefix, interval_text);
  if (control.on_start) {
    double period = 0;
    if (control.interval) period = std::chrono::duration<double>(*control.interval).count();
    else if (const auto* interval = std::get_if<Interval>(&schedule)) period = static_cast<double>(interval->length.count());
    control.on_start(interval_text, period);
  }
  notify("READY=1");
  notify("STATUS=waiting for the first round");
  auto delay = std::chrono::seconds(daemon.config().service.delay_seconds());
  if (delay.count() > 0) {
    spdlog::info("{}first round after service.delay of {} s", prefix, delay.count());
    wait_until_stop_or(delay);
  }
  int rounds = 0;
  while (!control.stop) {
    if (control.reload) reload();
    if (refused) break;
    auto started = clock.monotonic();
    if (unverified) PVEKIT_TRY(verify_privileges());
    const RoundRequest asked = control.requested.exchange(RoundRequest::None);
    if (asked != RoundRequest::None) {
      spdlog::info("round asked for from the dashboard: {}", asked == RoundRequest::Plan ? "plan only" : "balance now");
    }
    auto report = unverified ? core::Result<RoundReport>(core::Error(*unverified).wrap("read the API token's privileges"))
                             : daemon.round([&]() -> core::Status {
                                 if (control.stop) return core::Error(core::ErrorCategory::Conflict, "shutting down");
                                 return core::ok();
                               }, asked);
    if (control.on_round) control.on_round(report);
    if (report) {
      spdlog::info("{}round: {}", prefix, report->summary);
      notify("STATUS=" + prefix + report->summary);
    } else {
      spdlog::error("{}round failed: {}", prefix, report.error().to_string());
      notify("STATUS=" + prefix + "round failed: " + report.error().to_string());
    }
    if (control.max_rounds > 0 && ++rounds >= control.max_rounds) break;
    core::Clock::Duration wait{0};
    if (const auto* interval = std::get_if<Interval>(&schedule)) {
      auto length = control.interval ? std::chrono::duration_cast<core::Clock::Duration>(*control.interval)
                                     : std::chrono::duration_cast<core::Clock::Duration>(interval->length);
      wait = std::max<core::Clock::Duration>(core::Clock::Duration{0}, started + length - clock.monotonic());
    } else {
      double now = clock.now_unix();
      auto next = std::get<CronExpression>(schedule).next_after(civil_minute(now));
      if (!next) {
        return core::Error(core::ErrorCategory::Config,
                           "service.schedule.cron \"" + std::get<CronExpression>(schedule).text() + "\" never matches");
      }
      wait = std::chrono::duration_cast<core::Clock::Duration>(std::chrono::duration<double>(unix_of(*next) - now));
    }
    if (control.on_scheduled) control.on_scheduled(clock.now_unix() + std::chrono::duration<double>(wait).count());
    wait_until_stop_or(wait);
  }
  notify("STOPPING=1");
  if (refused) return std::move(*refused).wrap("after SIGHUP");
  spdlog::info("{}proxlb daemon: stopped", prefix);
  return core::ok();
}

}  // namespace pvekit::daemon
