#include "daemon/service.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "balance/audit.h"
#include "core/files.h"
#include "core/strings.h"
#include "daemon/daemon.h"
#include "daemon/dashboard_service.h"
#include "daemon/endpoints.h"
#include "daemon/etcd_election.h"
#include "daemon/leadership.h"
#include "daemon/service_manager.h"
#include "daemon/webhooks.h"
#include "pve/api_config.h"
#include "pve/client.h"
#include "pve/curl_transport.h"

namespace pvekit::daemon {
namespace {

// How long pending webhook deliveries may still take at SIGTERM: long enough
// for a receiver that answers, short enough for systemd's stop timeout.
constexpr auto kWebhookGrace = std::chrono::seconds(5);

// SIGTERM/SIGINT and SIGHUP, set from the signal handlers (lock-free
// atomics only) and passed on to every cluster's loop by the main thread.
std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void on_signal(int sig) {
  if (sig == SIGHUP) g_reload = true;
  else g_stop = true;
}

class SignalHandlers {
 public:
  SignalHandlers() {
    g_stop = false;
    g_reload = false;
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaction(sig, &action, nullptr);
  }
  ~SignalHandlers() {
    struct sigaction action {};
    action.sa_handler = SIG_DFL;
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaction(sig, &action, nullptr);
  }
  SignalHandlers(const SignalHandlers&) = delete;
  SignalHandlers& operator=(const SignalHandlers&) = delete;
};

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "localhost";
  std::string host = name;
  return host.substr(0, host.find('.'));  // PVE node names are short host names
}

// The etcd side of leader election: its own transport (etcd is not PVE) and
// the thread that keeps the lease and campaigns.
struct EtcdLeadership {
  std::unique_ptr<pve::Transport> transport;
  std::unique_ptr<EtcdElection> election;
  std::unique_ptr<ElectionThread> thread;
};

core::Result<EtcdLeadership> start_etcd(const balance::BalanceConfig& config, core::Clock& clock) {
  const auto& le = config.service.leader_election;
  EtcdElectionOptions o{.endpoints = le.etcd_endpoints,
                        .election = le.etcd_election,
                        .candidate = host_name() + ":" + std::to_string(getpid()),
                        .lease_ttl = std::chrono::seconds(le.etcd_lease_ttl)};
  // One election per cluster: an entry of clusters: campaigns on its own key
  // (ELECTION/NAME, by default proxlb/NAME), so each cluster has its own
  // leader, which need not be the same daemon for all.
  if (!config.name.empty()) {
    o.election = (o.election.empty() ? std::string("proxlb") : o.election) + "/" + config.name;
  } else if (o.election.empty()) {
    o.election = "proxlb/" + (config.proxmox_api.hosts.empty() ? std::string("pve") : config.proxmox_api.hosts.front());
  }
  PVEKIT_ASSIGN(o, EtcdElection::validated(std::move(o)).wrap("service.leader_election.etcd"));
  EtcdLeadership etcd;
  pve::CurlTransportOptions tls_options;
  if (!le.etcd_ca_file.empty()) {
    tls_options.tls.verify = pve::TlsVerify::CaFile;
    tls_options.tls.ca_file = le.etcd_ca_file;
  }
  tls_options.tls.client_cert_file = le.etcd_cert_file;
  tls_options.tls.client_key_file = le.etcd_key_file;
  PVEKIT_ASSIGN(auto transport,
                pve::CurlTransport::create(std::move(tls_options)).wrap("service.leader_election.etcd"));
  etcd.transport = std::move(transport);
  etcd.election = std::make_unique<EtcdElection>(*etcd.transport, clock, std::move(o));
  etcd.thread = std::make_unique<ElectionThread>(*etcd.election, clock);
  return etcd;
}

// A bearer token (the status API's, the dashboard's): the file's content
// without surrounding whitespace. Errors name the key and the file, never
// the content.
core::Result<std::string> read_token(const std::string& key, const std::string& path) {
  if (path.empty()) return std::string();
  PVEKIT_ASSIGN(auto content, core::read_file(path).wrap(key));
  std::string token(core::trim(content));
  if (token.size() < 16) {
    return core::Error(core::ErrorCategory::Config, key + " " + path + ": the token must be at least 16 characters");
  }
  return token;
}

// An HTTP server on its own thread, stopped and joined when destroyed.
struct Serving {
  std::unique_ptr<http::Server> server;
  std::jthread thread;
  ~Serving() {
    if (!server) return;
    server->stop();
    if (thread.joinable()) thread.join();
  }
  void start() {
    thread = std::jthread([this] {
      if (auto served = server->serve(); !served) spdlog::error("HTTP server: {}", served.error().to_string());
    });
  }
};

// One cluster's share of the daemon: its client, leadership, board and the
// thread of its loop. Not movable (the clock, the board and the loop's
// flags are shared by address).
struct ClusterRun {
  ClusterRun(core::Clock& system, const std::string& name) : name(name), clock(system), board(name) {}
  ~ClusterRun() {
    if (thread.joinable()) thread.join();
    if (!etcd.election) return;
    etcd.thread.reset();
    if (auto resigned = etcd.election->resign(); !resigned) {
      spdlog::warn("etcd: could not resign (the lease runs out by itself): {}", resigned.error().to_string());
    }
  }
  ClusterRun(const ClusterRun&) = delete;
  ClusterRun& operator=(const ClusterRun&) = delete;
  double heartbeat_age() const { return std::chrono::duration<double>(clock.monotonic() - clock.last_beat()).count(); }

  const std::string name;  // its entry in clusters:; empty for a lone cluster
  HeartbeatClock clock;    // per cluster: one stuck loop must show in /healthz and the watchdog
  std::unique_ptr<pve::Transport> transport;
  std::unique_ptr<pve::Client> client;
  // The dashboard's own connection (with service.dashboard.listen), on the
  // system clock: its requests must not count as the loop's heartbeat, and
  // it never waits behind the loop.
  std::unique_ptr<pve::Transport> dashboard_transport;
  std::unique_ptr<pve::Client> dashboard_client;
  SoleDaemon sole;
  std::optional<HaMasterLeadership> ha_master;
  EtcdLeadership etcd;
  Leadership* leadership = &sole;
  StatusBoard board;
  std::unique_ptr<Daemon> daemon;
  LoopControl control;
  // The config a SIGHUP loaded for this cluster, or why there is none; the
  // main thread sets it before raising control.reload.
  std::mutex reload_mutex;
  std::optional<core::Result<balance::BalanceConfig>> reloaded;
  core::Status status = core::ok();
  std::atomic<bool> done{false};
  std::jthread thread;
};

core::Status start_cluster(ClusterRun& run, const balance::BalanceConfig& config, core::Clock& system_clock) {
  PVEKIT_ASSIGN(auto client_options, pve::to_client_options(config.proxmox_api, core::read_file));
  PVEKIT_ASSIGN(run.transport, pve::make_transport(client_options));
  PVEKIT_ASSIGN(run.client, pve::Client::create(client_options, *run.transport, run.clock));
  if (!config.service.dashboard.listen.empty()) {
    PVEKIT_ASSIGN(run.dashboard_transport, pve::make_transport(client_options));
    PVEKIT_ASSIGN(run.dashboard_client, pve::Client::create(client_options, *run.dashboard_transport, system_clock));
  }
  const auto& mode = config.service.leader_election.mode;
  if (mode == "etcd") {
    PVEKIT_ASSIGN(run.etcd, start_etcd(config, run.clock));
    run.leadership = run.etcd.election.get();
  } else if (mode == "ha-master") {
    std::string node = config.service.leader_election.node.empty() ? host_name() : config.service.leader_election.node;
    run.ha_master.emplace(*run.client, node);
    run.leadership = &*run.ha_master;
  }
  spdlog::info("proxlb daemon: {}leader election {}",
               config.name.empty() ? std::string() : "cluster " + config.name + ": ",
               mode == "none" ? std::string("off (a single daemon)") : mode);
  return core::ok();
}

// Reloads the config once for every cluster (SIGHUP): each loop takes its
// own entry; the list of clusters itself changes only at the next start.
void reload_all(const ServiceOptions& options, WebhookDispatcher& webhooks,
                std::vector<std::unique_ptr<ClusterRun>>& runs) {
  auto loaded = [&]() -> core::Result<balance::BalanceConfig> {
    PVEKIT_ASSIGN(auto config, balance::load_proxlb_config(options.sources));
    if (!options.cluster.empty()) {
      PVEKIT_ASSIGN(config, balance::select_cluster(config, options.cluster));
    }
    PVEKIT_TRY(schedule_of(config.service));
    PVEKIT_ASSIGN(auto targets, make_webhook_targets(config.service.webhooks, core::read_file, curl_webhook_transport));
    // The webhook list is replaced only with a config the loops accept (its
    // schedule included), so a bad reload keeps the old list too.
    webhooks.configure(std::move(targets), static_cast<size_t>(config.service.webhook_queue));
    return config;
  }();
  std::vector<balance::BalanceConfig> clusters;
  if (loaded) clusters = balance::clusters_of(*loaded);
  for (auto& run : runs) {
    const std::string& name = run->name;
    core::Result<balance::BalanceConfig> mine =
        loaded ? core::Result<balance::BalanceConfig>(
                     core::Error(core::ErrorCategory::Config, "cluster " + name +
                                                                  " is no longer in clusters: (the list of clusters "
                                                                  "changes at the next start)"))
               : core::Result<balance::BalanceConfig>(loaded.error());
    for (auto& cluster : clusters) {
      if (cluster.name == name) mine = std::move(cluster);
    }
    std::lock_guard lock(run->reload_mutex);
    run->reloaded = std::move(mine);
    run->control.reload = true;
  }
  if (loaded && clusters.size() != runs.size()) {
    spdlog::warn("config reload: clusters: lists {} cluster(s), the daemon runs {}; the list changes at the next start",
                 clusters.size(), runs.size());
  }
}

}  // namespace

core::Status run_service(balance::BalanceConfig config, const ServiceOptions& options) {
  core::SystemClock system_clock;
  const std::vector<balance::BalanceConfig> clusters = balance::clusters_of(config);
  std::vector<std::unique_ptr<ClusterRun>> runs;
  for (const auto& cluster : clusters) {
    runs.push_back(std::make_unique<ClusterRun>(system_clock, cluster.name));
    PVEKIT_TRY(start_cluster(*runs.back(), cluster, system_clock).wrap(cluster.name.empty() ? std::string("proxlb daemon")
                                                                              : "cluster " + cluster.name));
  }

  MetricsRegistry metrics;
  PVEKIT_TRY(declare_daemon_metrics(metrics));
  PVEKIT_TRY(declare_webhook_metrics(metrics));
  PVEKIT_ASSIGN(auto hooks, make_webhook_targets(config.service.webhooks, core::read_file, curl_webhook_transport));
  // The system clock: the webhook thread's sleeps must not count as a loop's
  // heartbeat (the watchdog).
  WebhookDispatcher webhooks(system_clock, metrics, host_name());
  webhooks.configure(std::move(hooks), static_cast<size_t>(config.service.webhook_queue));
  if (!config.service.webhooks.empty()) {
    spdlog::info("proxlb daemon: {} webhook(s), queue of {}", config.service.webhooks.size(),
                 config.service.webhook_queue);
  }

  std::unique_ptr<balance::AuditLog> audit;
  if (!config.service.audit_log.empty()) {
    PVEKIT_ASSIGN(audit, balance::AuditLog::open(config.service.audit_log).wrap("service.audit_log"));
    spdlog::info("proxlb daemon: audit log {}", audit->path());
  }
  PVEKIT_ASSIGN(std::string token, read_token("service.status_token_file", config.service.status_token_file));

  // The oldest heartbeat of the loops still running: one stuck loop is enough
  // for /healthz and the watchdog to say so.
  auto oldest_heartbeat = [&runs] {
    double age = 0;
    for (const auto& run : runs) {
      if (!run->done) age = std::max(age, run->heartbeat_age());
    }
    return age;
  };
  EndpointState endpoints{.metrics = metrics,
                          .heartbeat_age = oldest_heartbeat,
                          .now_unix = [&system_clock] { return system_clock.now_unix(); },
                          .token = token};
  for (const auto& run : runs) endpoints.boards.push_back(&run->board);
  if (audit) endpoints.audit_tail = [&audit](size_t lines) { return audit->tail(lines); };
  EndpointState socket_endpoints = endpoints;
  socket_endpoints.trusted = true;
  Serving tcp, unix_socket;
  if (!config.service.listen.empty()) {
    PVEKIT_ASSIGN(auto address, parse_listen(config.service.listen));
    tcp.server = std::make_unique<http::Server>(
        http::ServerOptions{.host = address.first, .port = address.second, .io_threads = 1, .worker_threads = 2},
        [&endpoints](const http::Request& request) { return serve_endpoint(request, endpoints); });
    PVEKIT_ASSIGN(int port, tcp.server->bind().wrap("service.listen " + config.service.listen));
    std::string shown = address.first.find(':') != std::string::npos ? "[" + address.first + "]" : address.first;
    spdlog::info("proxlb daemon: /metrics, /healthz, /readyz and /status on http://{}:{}{}", shown, port,
                 token.empty() ? "" : "; /cluster, /plan and /audit with the bearer token");
    tcp.start();
  }
  if (!config.service.status_socket.empty()) {
    // The status API has small requests: a tight body limit keeps a local
    // client from making the daemon buffer megabytes.
    http::Limits limits;
    limits.max_body_bytes = 4096;
    limits.max_header_bytes = 16 * 1024;
    unix_socket.server = std::make_unique<http::Server>(
        http::ServerOptions{.unix_socket = config.service.status_socket, .io_threads = 1, .worker_threads = 1,
                            .limits = limits},
        [&socket_endpoints](const http::Request& request) { return serve_endpoint(request, socket_endpoints); });
    PVEKIT_TRY(unix_socket.server->bind().wrap("service.status_socket"));
    spdlog::info("proxlb daemon: status API on unix socket {}", config.service.status_socket);
    unix_socket.start();
  }

  std::unique_ptr<DashboardService> dashboard;
  Serving dashboard_serving;  // declared after `dashboard`: stopped before it goes
  if (const auto& d = config.service.dashboard; !d.listen.empty()) {
    PVEKIT_ASSIGN(std::string dashboard_token, read_token("service.dashboard.token_file", d.token_file));
    std::vector<DashboardService::Cluster> views;
    for (auto& run : runs) views.push_back({run->board, run->control, *run->dashboard_client});
    dashboard = std::make_unique<DashboardService>(d, std::move(dashboard_token), views, endpoints.audit_tail,
                                                   system_clock, &webhooks);
    PVEKIT_ASSIGN(dashboard_serving.server, dashboard->bind(d));
    dashboard_serving.start();
  }
  EventSink* events = dashboard ? &dashboard->events() : static_cast<EventSink*>(&webhooks);
  SignalHandlers signals;
  Watchdog watchdog([&oldest_heartbeat] {
    return std::chrono::duration_cast<core::Clock::Duration>(std::chrono::duration<double>(oldest_heartbeat()));
  });
  for (size_t i = 0; i < runs.size(); ++i) {
    ClusterRun& run = *runs[i];
    run.daemon = std::make_unique<Daemon>(*run.client, *run.leadership, metrics, clusters[i], audit.get(), events);
    LoopControl& control = run.control;
    control.on_start = [&run](const std::string& schedule, double period) {
      run.board.started(schedule, period, run.clock.now_unix());
    };
    control.on_round = [&run, &dashboard, i](const core::Result<RoundReport>& round) {
      if (!run.daemon->cluster().empty()) run.board.named(run.daemon->cluster());
      run.board.record(round, run.clock.now_unix());
      if (dashboard) dashboard->record(i, round, run.daemon->config());
    };
    control.on_scheduled = [&run](double next) { run.board.scheduled(next); };
    control.interval = options.interval;
    control.max_rounds = options.rounds;
    control.notify = notify_service_manager;
    control.load_config = [&run]() -> core::Result<balance::BalanceConfig> {
      std::lock_guard lock(run.reload_mutex);
      if (!run.reloaded) return core::Error(core::ErrorCategory::Internal, "no config was loaded for this reload");
      auto reloaded = std::move(*run.reloaded);
      run.reloaded.reset();
      return reloaded;
    };
    run.thread = std::jthread([&run] {
      run.status = run_loop(*run.daemon, run.clock, run.control);
      run.done = true;
    });
  }

  // The main thread passes the signals on. A loop that ends with an error
  // (its API token lacks privileges) stops the others: the daemon exits with
  // that error rather than run on with part of its config.
  for (;;) {
    bool all_done = true, failed = false;
    for (const auto& run : runs) {
      all_done = all_done && run->done;
      failed = failed || (run->done && !run->status);
    }
    if (all_done) break;
    if (g_stop || failed) {
      for (auto& run : runs) run->control.stop = true;
    }
    if (g_reload.exchange(false)) reload_all(options, webhooks, runs);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (auto& run : runs) run->thread.join();
  webhooks.shutdown(kWebhookGrace);
  for (auto& run : runs) {
    if (run->status) continue;
    return core::Error(run->status.error()).wrap(run->name.empty() ? std::string("proxlb daemon")
                                                                   : "cluster " + run->name);
  }
  return core::ok();
}

}  // namespace pvekit::daemon
