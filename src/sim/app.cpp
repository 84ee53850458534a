// run_app: wiring of clock, cluster, simulator and server for apps/pvesim.
#include <csignal>
#include <pthread.h>

#include <thread>

#include "core/clock.h"
#include "core/files.h"
#include "core/log.h"
#include "core/strings.h"
#include "sim/scenario.h"
#include "sim/server.h"

namespace pvekit::sim {
namespace {

core::Result<Cluster> build_cluster(const AppOptions& o, double now) {
  if (!o.generate.empty()) {
    PVEKIT_ASSIGN(GenerateSpec spec, parse_generate_spec(o.generate));
    return generate_cluster(spec, o.seed.value_or(42), now);
  }
  Cluster c;
  if (o.scenario.empty()) {
    c = default_cluster(now);
  } else {
    PVEKIT_ASSIGN(c, load_scenario_file(o.scenario, now));
  }
  if (o.seed) c.seed = *o.seed;
  return c;
}

// Waits for SIGINT/SIGTERM on a dedicated thread (the signals are blocked in
// every other thread) and stops the server; no work in a signal handler.
class SignalStopper {
 public:
  explicit SignalStopper(Server& server) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGUSR1);  // internal wake-up at shutdown
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    thread_ = std::thread([this, &server] {
      int sig = 0;
      sigwait(&set_, &sig);
      if (sig != SIGUSR1) spdlog::info("signal {}, stopping", sig);
      server.stop();
    });
  }
  ~SignalStopper() {
    // Wake the waiter if the server stopped on its own.
    pthread_kill(thread_.native_handle(), SIGUSR1);
    thread_.join();
  }

 private:
  sigset_t set_;
  std::thread thread_;
};

// The bearer token for /_sim: the first line of the file, never logged.
core::Result<std::string> read_admin_token(const std::string& path) {
  PVEKIT_ASSIGN(std::string text, core::read_file(path));
  const std::string token(core::trim(text.substr(0, text.find('\n'))));
  if (token.empty()) {
    return core::Error(core::ErrorCategory::Usage, "--admin-token-file " + path + ": the first line is empty");
  }
  return token;
}

}  // namespace

core::Status run_app(const AppOptions& o, std::ostream& out) {
  if (o.time_scale <= 0) return core::Error(core::ErrorCategory::Usage, "--time-scale must be positive");
  if (!core::is_loopback_host(o.server.host) && !o.allow_remote_admin) {
    return core::Error(core::ErrorCategory::Usage,
                       "refusing to listen on " + o.server.host +
                           ": the /_sim/ admin interface (faults, time) would be reachable from other hosts; "
                           "pass --allow-remote-admin (with --admin-token-file to require a token)");
  }
  std::string admin_token;
  if (!o.admin_token_file.empty()) {
    PVEKIT_ASSIGN(admin_token, read_admin_token(o.admin_token_file));
  }
  core::ScaledClock clock(o.time_scale);
  PVEKIT_ASSIGN(Cluster cluster, build_cluster(o, clock.now_unix()));
  const size_t nodes = cluster.nodes.size(), guests = cluster.guests.size();
  Simulator sim(std::move(cluster), clock);
  Api api(sim);
  api.set_admin_token(std::move(admin_token));
  if (o.list_routes) {
    out << api.route_table().dump(1) << std::endl;
    return core::ok();
  }
  Server server(api, o.server);
  PVEKIT_ASSIGN(int port, server.bind());
  sim.set_fingerprint(server.fingerprint());
  SignalStopper stopper(server);
  out << "pvesim: listening on " << (o.server.plain_http ? "http" : "https") << "://" << o.server.host << ":" << port;
  if (!o.server.plain_http) out << " fingerprint " << server.fingerprint();
  out << std::endl;  // flushes: tests read this line
  spdlog::info("{} nodes, {} guests, time scale {}", nodes, guests, o.time_scale);
  return server.serve();
}

}  // namespace pvekit::sim
