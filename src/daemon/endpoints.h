// What the daemon serves over HTTP (service.listen): /metrics for
// Prometheus, /healthz and /readyz for service managers and Kubernetes
// probes, /status as JSON. The handler is plain logic over the daemon's
// state, tested without sockets; http::Server carries it.
#pragma once

#include <mutex>
#include <optional>
#include <string>

#include "core/json.h"
#include "core/result.h"
#include "daemon/daemon.h"
#include "daemon/metrics.h"
#include "http/server.h"

namespace pvekit::daemon {

// The last rounds as the loop reports them, read by the HTTP threads.
class StatusBoard {
 public:
  // `interval_seconds`: the schedule's period, for readiness (a round is
  // overdue after three of them); 0 for cron schedules (no overdue check).
  void started(std::string schedule, double interval_seconds, double now_unix);
  void record(const core::Result<RoundReport>& round, double now_unix);
  // Alive: the loop moved within `stall_seconds` (heartbeat age given).
  // Ready: the last round read the cluster (or another daemon leads) and
  // is not overdue; otherwise why not.
  std::optional<std::string> not_ready(double now_unix) const;
  core::Json status_json(double now_unix) const;

 private:
  mutable std::mutex mutex_;
  std::string schedule_;
  double interval_seconds_ = 0;
  double started_unix_ = 0;
  std::optional<RoundReport> last_;
  std::string last_error_;
  double last_round_unix_ = 0;
  double last_success_unix_ = 0;
  int rounds_ = 0;
};

struct EndpointState {
  const MetricsRegistry& metrics;
  const StatusBoard& board;
  // Seconds since the loop last slept or polled (HeartbeatClock).
  std::function<double()> heartbeat_age;
  std::function<double()> now_unix;
  double stall_seconds = 180;  // as systemd's WatchdogSec in proxlb.service
};

http::Response serve_endpoint(const http::Request& request, const EndpointState& state);

// "127.0.0.1:9837" or "[::1]:9837" -> host and port; empty: disabled.
core::Result<std::pair<std::string, int>> parse_listen(const std::string& listen);

}  // namespace pvekit::daemon
