#include "daemon/dashboard_service.h"

#include <spdlog/spdlog.h>

#include "core/strings.h"
#include "http/tls.h"

namespace pvekit::daemon {
DashboardService::DashboardService(const balance::DashboardConfig& config, std::string token,
                                   const std::vector<Cluster>& clusters,
                                   std::function<core::Result<std::vector<std::string>>(size_t)> audit_tail,
                                   core::Clock& clock, EventSink* next)
    : clock_(clock),
      auth_(DashboardAuthOptions{.token = std::move(token),
                                 .tls = !config.tls_cert_file.empty(),
                                 .loopback = core::is_loopback_host(parse_listen(config.listen).value_or(std::pair<std::string, int>{}).first)}),
      sink_(log_, next),
      state_{.clusters = {},
             .events = log_,
             .auth = auth_,
             .now_unix = [&clock] { return clock.now_unix(); },
             .now_monotonic = [&clock] { return std::chrono::duration<double>(clock.monotonic()).count(); },
             .audit_tail = std::move(audit_tail)} {
  for (const Cluster& c : clusters) {
    PerCluster& mine = *clusters_.emplace_back(std::make_unique<PerCluster>(c.client));
    LoopControl& control = c.control;
    state_.clusters.push_back(
        {.board = c.board,
         .history = mine.history,
         .request_round = [&control](RoundRequest asked) {
           RoundRequest none = RoundRequest::None;
           return control.requested.compare_exchange_strong(none, asked);
         },
         .capacity = [this, &mine](const balance::CapacityCommand& command) { return capacity(mine, command); }});
  }
}

core::Result<core::Json> DashboardService::capacity(PerCluster& cluster, const balance::CapacityCommand& command) {
  std::shared_ptr<const balance::ClusterState> state;
  std::shared_ptr<const balance::BalanceConfig> config;
  {
    std::lock_guard lock(cluster.last_mutex);
    state = cluster.last_state;
    config = cluster.last_config;
  }
  if (!state || !config) {
    return core::Error(core::ErrorCategory::Conflict, "no round has read the cluster yet; try again after the first");
  }
  std::lock_guard lock(cluster.client_mutex);
  PVEKIT_ASSIGN(auto report, balance::capacity_report(cluster.client, *state, *config, command).wrap("capacity"));
  return capacity_view(report);
}

core::Result<std::unique_ptr<http::Server>> DashboardService::bind(const balance::DashboardConfig& config) {
  PVEKIT_ASSIGN(auto address, parse_listen(config.listen).wrap("service.dashboard.listen"));
  http::ServerOptions options{.host = address.first, .port = address.second, .io_threads = 1, .worker_threads = 2};
  if (!config.tls_cert_file.empty()) {
    PVEKIT_ASSIGN(options.tls, http::TlsIdentity::load(config.tls_cert_file, config.tls_key_file)
                                   .wrap("service.dashboard.tls_cert_file"));
  }
  // Logins and actions are tiny; the page's requests carry no body at all.
  options.limits.max_body_bytes = 4096;
  options.limits.max_header_bytes = 16 * 1024;
  options.limits.max_connections = 256;
  options.limits.max_streams = static_cast<size_t>(config.max_streams);
  auto server = std::make_unique<http::Server>(
      std::move(options), [this](const http::Request& request) { return serve_dashboard(request, state_); });
  PVEKIT_ASSIGN(int port, server->bind().wrap("service.dashboard.listen " + config.listen));
  std::string shown = address.first.find(':') != std::string::npos ? "[" + address.first + "]" : address.first;
  spdlog::info("proxlb daemon: dashboard on {}://{}:{}/dashboard/ ({})", config.tls_cert_file.empty() ? "http" : "https",
               shown, port, auth_.actions_enabled() ? "actions with the token" : "read-only");
  return server;
}

void DashboardService::record(size_t index, const core::Result<RoundReport>& round,
                              const balance::BalanceConfig& config) {
  PerCluster& cluster = *clusters_.at(index);
  const double now = clock_.now_unix();
  cluster.history.add(round_point(round, now));
  if (round && round->state) {
    std::lock_guard lock(cluster.last_mutex);
    cluster.last_state = round->state;
    cluster.last_config = std::make_shared<const balance::BalanceConfig>(config);
  }
  const std::string name = state_.clusters.at(index).board.name();
  if (round) {
    log_.append("round", {{"cluster", name}, {"verdict", std::string(to_string(round->verdict))},
                          {"summary", round->summary}});
  } else {
    log_.append("round", {{"cluster", name}, {"verdict", "failed"}, {"summary", round.error().to_string()}});
  }
}

}  // namespace pvekit::daemon
