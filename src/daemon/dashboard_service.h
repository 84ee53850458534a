// The dashboard as the daemon runs it: its memory (round history, event
// log), its auth, and its HTTP(S) server on service.dashboard.listen.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "balance/config.h"
#include "core/clock.h"
#include "daemon/dashboard.h"
#include "pve/client.h"

namespace pvekit::daemon {

// Rounds kept for the imbalance chart: a month of hourly rounds, or a day
// of rounds every 30 s.
inline constexpr size_t kDashboardRounds = 2880;
// Events kept for late or reconnecting progress streams.
inline constexpr size_t kDashboardEvents = 1024;

class DashboardService {
 public:
  // One cluster's loop as the dashboard sees it. `control`: asked for rounds
  // by the actions. `client`: the dashboard's own connection to the cluster
  // (read-only: RRD history for the capacity view), apart from the loop's.
  struct Cluster {
    const StatusBoard& board;
    LoopControl& control;
    pve::Client& client;
  };
  // `token`: the content of service.dashboard.token_file (empty: read-only).
  // `next`: where events go on to (the webhooks).
  DashboardService(const balance::DashboardConfig& config, std::string token, const std::vector<Cluster>& clusters,
                   std::function<core::Result<std::vector<std::string>>(size_t)> audit_tail, core::Clock& clock,
                   EventSink* next);

  // The server on config.listen (TLS when the config has cert and key),
  // bound; the caller runs serve(). Errors name the key.
  core::Result<std::unique_ptr<http::Server>> bind(const balance::DashboardConfig& config);
  EventSink& events() { return sink_; }
  // Every round's outcome of cluster `index` (the history and the progress
  // stream) and the config it ran with (the capacity view's rules and
  // reserves).
  void record(size_t index, const core::Result<RoundReport>& round, const balance::BalanceConfig& config);

 private:
  struct PerCluster {
    explicit PerCluster(pve::Client& c) : client(c) {}
    pve::Client& client;
    std::mutex client_mutex;  // one capacity computation at a time on client
    std::mutex last_mutex;
    std::shared_ptr<const balance::ClusterState> last_state;
    std::shared_ptr<const balance::BalanceConfig> last_config;
    RoundHistory history{kDashboardRounds};
  };
  core::Result<core::Json> capacity(PerCluster& cluster, const balance::CapacityCommand& command);

  core::Clock& clock_;
  std::vector<std::unique_ptr<PerCluster>> clusters_;
  EventLog log_{kDashboardEvents};
  DashboardAuth auth_;
  DashboardEventSink sink_;
  DashboardState state_;
};

}  // namespace pvekit::daemon
