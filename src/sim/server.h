#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "core/result.h"
#include "sim/api.h"

namespace pvekit::sim {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8006;          // 0: any free port
  bool plain_http = false;  // tests only
  std::string cert_file;    // PEM; empty: a self-signed certificate is generated
  std::string key_file;
  int threads = 32;         // worker threads; each keep-alive connection holds one
};

// A certificate and key pair with its PVE-style SHA-256 fingerprint
// ("AA:BB:..."). Owns the OpenSSL objects.
class TlsIdentity {
 public:
  // Generates an EC P-256 key and a self-signed certificate for `host`
  // (10 years, SAN with localhost, 127.0.0.1 and `host`).
  static core::Result<TlsIdentity> self_signed(const std::string& host);
  // Loads PEM files.
  static core::Result<TlsIdentity> load(const std::string& cert_file, const std::string& key_file);

  const std::string& fingerprint() const { return fingerprint_; }
  void* cert() const { return cert_.get(); }  // X509*
  void* key() const { return key_.get(); }    // EVP_PKEY*

 private:
  std::shared_ptr<void> cert_;
  std::shared_ptr<void> key_;
  std::string fingerprint_;
};

// `head` (a status line and headers, "HTTP/1.1 500 Internal Server
// Error\r\n...") with the status line's reason phrase replaced by
// reason_phrase(reason); `head` itself when it does not start with a status
// line. The server sends PVE's messages this way.
std::string replace_reason_phrase(std::string_view head, std::string_view reason);

// The HTTP(S) front of an Api: /api2/json/... and /_sim/... on one port.
// Error responses carry the message as the reason phrase, as PVE's do; a
// POST, PUT or DELETE without Content-Length has an empty body (RFC 9112).
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
