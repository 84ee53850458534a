#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "core/result.h"
#include "http/server.h"
#include "sim/api.h"

namespace pvekit::sim {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8006;          // 0: any free port
  bool plain_http = false;  // tests only
  std::string cert_file;    // PEM; empty: a self-signed certificate is generated
  std::string key_file;
  // Threads running requests. Connections wait for a request without one
  // (src/http is event-driven), so these bound only concurrent handlers.
  int threads = 32;
  // Timeouts and sizes against slow, idle and greedy clients. Uploads
  // (templates, OCI archives) are held in memory: up to 4 GiB by default.
  http::Limits limits{.max_body_bytes = 4ULL << 30};
};

// The HTTP(S) front of an Api: /api2/json/... and /_sim/... on one port, on
// pvekit's HTTP server (src/http). Error responses carry the message as the
// reason phrase, as PVE's do; a POST, PUT or DELETE without Content-Length
// has an empty body (RFC 9112).
class Server {
 public:
  Server(Api& api, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Sets up TLS and binds; returns the bound port.
  core::Result<int> bind();
  // Serves until stop(); blocks.
  core::Status serve();
  void stop();
  // Empty for plain HTTP.
  const std::string& fingerprint() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// pvesim as a whole: builds the cluster (scenario file, generator or the
// built-in default), the simulator and the server, prints
//   pvesim: listening on https://HOST:PORT fingerprint AA:BB:...
// on `out` and serves until SIGINT/SIGTERM.
struct AppOptions {
  ServerOptions server;
  std::string scenario;          // YAML file; empty: built-in default
  std::string generate;          // "nodes=N,guests=M"; overrides scenario
  double time_scale = 1.0;       // simulated seconds per real second
  std::optional<uint64_t> seed;  // overrides the scenario's seed
  bool list_routes = false;      // print the route table as JSON and exit
  // The /_sim admin interface needs no credentials: pvesim refuses a
  // non-loopback --host unless this is set.
  bool allow_remote_admin = false;
  std::string admin_token_file;  // its first line: the bearer token /_sim requires
};
core::Status run_app(const AppOptions& options, std::ostream& out);

}  // namespace pvekit::sim
