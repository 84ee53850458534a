// What the daemon serves over HTTP: /metrics for Prometheus, /healthz and
// /readyz for service managers and Kubernetes probes, and the status API:
// /clusters (each cluster's name and state), /status (the daemon's state),
// /cluster (the cluster as the last round read it), /plan (the last plan) and
// /audit (the audit log's tail), as JSON or,
// for /cluster and /plan with ?format=text, as `proxlb status`/`plan` print
// them. The status API is served on the unix socket (service.status_socket)
// to whoever may open it, and on service.listen only with the bearer token
// of service.status_token_file. The handler is plain logic over the daemon's
// state, tested without sockets; http::Server carries it.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/result.h"
#include "daemon/daemon.h"
#include "daemon/metrics.h"
#include "http/server.h"

namespace pvekit::daemon {

// One cluster's last rounds as its loop reports them, read by the HTTP
// threads: the per-cluster state of the status API (and of the dashboard).
class StatusBoard {
 public:
  // `name`: the cluster's entry in clusters:, or empty until the daemon has
  // learned PVE's name of its one cluster (named()).
  explicit StatusBoard(std::string name = {}) : name_(std::move(name)) {}
  void named(std::string name);
  std::string name() const;
  // `interval_seconds`: the schedule's period, for readiness (a round is
  // overdue after three of them); 0 for cron schedules (no overdue check).
  void started(std::string schedule, double interval_seconds, double now_unix);
  void record(const core::Result<RoundReport>& round, double now_unix);
  void scheduled(double next_round_unix);
  // Alive: the loop moved within `stall_seconds` (heartbeat age given).
  // Ready: the last round read the cluster (or another daemon leads) and
  // is not overdue; otherwise why not.
  std::optional<std::string> not_ready(double now_unix) const;
  core::Json status_json(double now_unix) const;
  // The cluster in a few fields, for /clusters: name, leader, the last
  // round's verdict and summary, last error, ready (and why not), times.
  core::Json summary_json(double now_unix) const;
  // The last round that read the cluster: its plan and its view of the
  // cluster, as JSON or text; nullopt before there is one.
  struct View {
    core::Json json;
    std::string text;
    double time = 0;  // Unix time of the round
  };
  std::optional<View> last_plan() const;
  std::optional<View> last_cluster() const;

 private:
  std::optional<std::string> not_ready_locked(double now_unix) const;

  mutable std::mutex mutex_;
  std::string name_;
  std::string schedule_;
  double interval_seconds_ = 0;
  double started_unix_ = 0;
  std::optional<RoundReport> last_;
  std::string last_error_;
  double last_round_unix_ = 0;
  double last_success_unix_ = 0;
  double next_round_unix_ = 0;
  int rounds_ = 0;
  std::optional<View> plan_, cluster_;
};

struct EndpointState {
  const MetricsRegistry& metrics;
  // One per cluster, in the config's order. /status, /cluster and /plan take
  // ?cluster=NAME, needed when there are several; /readyz without it is
  // ready when every cluster is; /audit with it shows that cluster's lines.
  std::vector<const StatusBoard*> boards;
  // Seconds since the loop last slept or polled (HeartbeatClock).
  std::function<double()> heartbeat_age;
  std::function<double()> now_unix;
  double stall_seconds = 180;  // as systemd's WatchdogSec in proxlb.service
  // The audit log's last `lines` records; null: no audit log.
  std::function<core::Result<std::vector<std::string>>(size_t lines)> audit_tail;
  // Who may read the status API: a trusted listener (the unix socket) lets
  // everyone in; otherwise `token`, when set, is required as "Authorization:
  // Bearer" on /status, /clusters, /cluster, /plan and /audit; without a
  // token only /status and /clusters are served (as before the status API).
  bool trusted = false;
  std::string token;
};

// The audit log's tail: at most 1,000 lines.
inline constexpr size_t kMaxAuditLines = 1000;

http::Response serve_endpoint(const http::Request& request, const EndpointState& state);

// "127.0.0.1:9837" or "[::1]:9837" -> host and port; empty: disabled.
core::Result<std::pair<std::string, int>> parse_listen(const std::string& listen);

}  // namespace pvekit::daemon
