#include "daemon/service.h"

#include <signal.h>
#include <unistd.h>

#include <memory>
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

// The loop's flags, set from signal handlers (lock-free atomics only).
LoopControl* g_control = nullptr;

void on_signal(int sig) {
  if (!g_control) return;
  if (sig == SIGHUP) g_control->reload = true;
  else g_control->stop = true;
}

class SignalHandlers {
 public:
  explicit SignalHandlers(LoopControl& control) {
    g_control = &control;
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaction(sig, &action, nullptr);
  }
  ~SignalHandlers() {
    struct sigaction action {};
    action.sa_handler = SIG_DFL;
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaction(sig, &action, nullptr);
    g_control = nullptr;
  }
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
  if (o.election.empty()) {
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

}  // namespace

core::Status run_service(balance::BalanceConfig config, const ServiceOptions& options) {
  PVEKIT_ASSIGN(auto client_options, pve::to_client_options(config.proxmox_api, core::read_file));
  PVEKIT_ASSIGN(auto transport, pve::make_transport(client_options));
  core::SystemClock system_clock;
  HeartbeatClock clock(system_clock);
  PVEKIT_ASSIGN(auto client, pve::Client::create(client_options, *transport, clock));

  MetricsRegistry metrics;
  PVEKIT_TRY(declare_daemon_metrics(metrics));
  PVEKIT_TRY(declare_webhook_metrics(metrics));
  PVEKIT_ASSIGN(auto hooks, make_webhook_targets(config.service.webhooks, core::read_file, curl_webhook_transport));
  // The system clock: the webhook thread's sleeps must not count as the
  // loop's heartbeat (the watchdog).
  WebhookDispatcher webhooks(system_clock, metrics, host_name());
  webhooks.configure(std::move(hooks), static_cast<size_t>(config.service.webhook_queue));
  if (!config.service.webhooks.empty()) {
    spdlog::info("proxlb daemon: {} webhook(s), queue of {}", config.service.webhooks.size(),
                 config.service.webhook_queue);
  }

  const auto& mode = config.service.leader_election.mode;
  SoleDaemon sole;
  std::optional<HaMasterLeadership> ha_master;
  EtcdLeadership etcd;
  Leadership* leadership = &sole;
  if (mode == "etcd") {
    PVEKIT_ASSIGN(etcd, start_etcd(config, clock));
    leadership = etcd.election.get();
  } else if (mode == "ha-master") {
    std::string node = config.service.leader_election.node.empty() ? host_name() : config.service.leader_election.node;
    ha_master.emplace(*client, node);
    leadership = &*ha_master;
  }
  spdlog::info("proxlb daemon: leader election {}", mode == "none" ? "off (a single daemon)" : mode);

  std::unique_ptr<balance::AuditLog> audit;
  if (!config.service.audit_log.empty()) {
    PVEKIT_ASSIGN(audit, balance::AuditLog::open(config.service.audit_log).wrap("service.audit_log"));
    spdlog::info("proxlb daemon: audit log {}", audit->path());
  }
  PVEKIT_ASSIGN(std::string token, read_token("service.status_token_file", config.service.status_token_file));

  StatusBoard board;
  EndpointState endpoints{
      .metrics = metrics,
      .board = board,
      .heartbeat_age = [&clock] { return std::chrono::duration<double>(clock.monotonic() - clock.last_beat()).count(); },
      .now_unix = [&clock] { return clock.now_unix(); },
      .token = token};
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

  LoopControl control;
  std::unique_ptr<pve::Transport> dashboard_transport;
  std::unique_ptr<pve::Client> dashboard_client;
  std::unique_ptr<DashboardService> dashboard;
  Serving dashboard_serving;  // declared after `dashboard`: stopped before it goes
  if (const auto& d = config.service.dashboard; !d.listen.empty()) {
    PVEKIT_ASSIGN(std::string dashboard_token, read_token("service.dashboard.token_file", d.token_file));
    // Its own client on the system clock: its requests must not count as
    // the loop's heartbeat, and it never waits behind the loop.
    PVEKIT_ASSIGN(dashboard_transport, pve::make_transport(client_options));
    PVEKIT_ASSIGN(dashboard_client, pve::Client::create(client_options, *dashboard_transport, system_clock));
    dashboard = std::make_unique<DashboardService>(d, std::move(dashboard_token), board, endpoints.audit_tail,
                                                   control, clock, &webhooks, *dashboard_client);
    PVEKIT_ASSIGN(dashboard_serving.server, dashboard->bind(d));
    dashboard_serving.start();
  }
  Daemon daemon(*client, *leadership, metrics, std::move(config), audit.get(),
                dashboard ? &dashboard->events() : static_cast<EventSink*>(&webhooks));
  control.on_start = [&](const std::string& schedule, double period) {
    board.started(schedule, period, clock.now_unix());
  };
  control.on_round = [&](const core::Result<RoundReport>& round) {
    board.record(round, clock.now_unix());
    if (dashboard) dashboard->record(round, daemon.config());
  };
  control.on_scheduled = [&](double next) { board.scheduled(next); };
  control.interval = options.interval;
  control.max_rounds = options.rounds;
  control.notify = notify_service_manager;
  // The webhook list is replaced only with a config the loop accepts (its
  // schedule included), so a bad reload keeps the old list too.
  control.load_config = [&options, &webhooks]() -> core::Result<balance::BalanceConfig> {
    PVEKIT_ASSIGN(auto loaded, balance::load_proxlb_config(options.sources));
    PVEKIT_TRY(schedule_of(loaded.service));
    PVEKIT_ASSIGN(auto targets, make_webhook_targets(loaded.service.webhooks, core::read_file, curl_webhook_transport));
    webhooks.configure(std::move(targets), static_cast<size_t>(loaded.service.webhook_queue));
    return loaded;
  };
  SignalHandlers signals(control);
  Watchdog watchdog(clock);
  core::Status status = run_loop(daemon, clock, control);
  webhooks.shutdown(kWebhookGrace);
  if (etcd.election) {
    etcd.thread.reset();
    if (auto resigned = etcd.election->resign(); !resigned) {
      spdlog::warn("etcd: could not resign (the lease runs out by itself): {}", resigned.error().to_string());
    }
  }
  return status;
}

}  // namespace pvekit::daemon
