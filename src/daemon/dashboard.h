// The web dashboard proxlb's daemon serves on service.dashboard.listen: one
// page (embedded at build time: no CDN) and its JSON API under
// /dashboard/api/, over the daemon's own state (StatusBoard, the audit log,
// the round history and the event log). Views are read-only; actions ask
// the loop for a round, which keeps leadership and the executor's safety
// (the loop runs one round at a time). Every API takes ?cluster=NAME
// (/dashboard/api/clusters lists them). docs/dashboard.md has the routes.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "balance/commands.h"
#include "daemon/dashboard_auth.h"
#include "daemon/dashboard_history.h"
#include "daemon/endpoints.h"
#include "daemon/webhooks.h"
#include "http/server.h"

namespace pvekit::daemon {

// One embedded file (generated from web/ by CMake: dashboard_assets.cpp).
struct DashboardAsset {
  std::string_view name;  // path under /dashboard/, e.g. "app.js"
  std::string_view content_type;
  std::string_view etag;  // quoted, from the file's SHA-256
  std::string_view bytes;
};
const std::vector<DashboardAsset>& dashboard_assets();

// Every dashboard response carries these: only this origin's scripts and
// styles (no inline script), no framing, no referrer, no MIME sniffing.
inline constexpr const char* kDashboardCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// The live progress stream: the event log's entries as server-sent events
// from `after` on, a "reset" event when some were dropped before the client
// read them, and a comment every `heartbeat` while nothing happens.
class EventStream final : public http::BodyStream {
 public:
  EventStream(const EventLog& log, uint64_t after, std::function<double()> now_monotonic, double heartbeat_seconds);
  std::optional<std::string> poll() override;

 private:
  const EventLog& log_;
  uint64_t cursor_;
  std::function<double()> now_;
  double heartbeat_;
  double last_sent_;
  bool started_ = false;
};

// One cluster the dashboard shows (one per entry of clusters:).
struct DashboardCluster {
  const StatusBoard& board;
  const RoundHistory& history;
  // Asks the cluster's loop for a round now; false when one is already waiting.
  std::function<bool(RoundRequest)> request_round;
  // The capacity report (capacity_json plus chart series) of the last
  // round's cluster with the what-if of `command`; null: not offered.
  std::function<core::Result<core::Json>(const balance::CapacityCommand& command)> capacity;
};

// What the dashboard serves. Every API but clusters, session, login and
// logout is about one cluster: ?cluster=NAME, or the first one without it.
struct DashboardState {
  std::vector<DashboardCluster> clusters;  // at least one
  const EventLog& events;                  // every cluster's, each event naming its cluster
  DashboardAuth& auth;
  std::function<double()> now_unix;
  std::function<double()> now_monotonic;  // seconds, for stream heartbeats
  // The audit log's last `lines` records; null: no audit log.
  std::function<core::Result<std::vector<std::string>>(size_t lines)> audit_tail;
  double heartbeat_seconds = 15;
};

http::Response serve_dashboard(const http::Request& request, DashboardState& state);

// Feeds the dashboard's event log and passes every event on (the webhooks).
class DashboardEventSink final : public EventSink {
 public:
  DashboardEventSink(EventLog& log, EventSink* next) : log_(log), next_(next) {}
  void publish(const std::string& event, const std::string& cluster, const core::Json& fields) override;

 private:
  EventLog& log_;
  EventSink* next_;
};

// A round as the history chart keeps it.
RoundPoint round_point(const core::Result<RoundReport>& round, double now_unix);

// The what-if and options of a capacity query (?timeframe=week|month|year,
// threshold=PERCENT, failures=K, add_guests=N, guest_memory=SIZE,
// guest_cores=N, remove_node=NAME (repeatable), add_node_like=NAME
// (repeatable)); a bad value is a Usage error naming the parameter.
core::Result<balance::CapacityCommand> capacity_query(const std::string& query);

// capacity_json(report) with "charts": for each resource of the cluster that
// has a forecast, its history and the forecast (fitted value and band, as
// fractions of capacity) over `days` ahead; history thinned to `points`.
core::Json capacity_view(const balance::CapacityReport& report, double days = 90, size_t points = 400);

}  // namespace pvekit::daemon
