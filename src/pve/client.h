#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/result.h"
#include "pve/curl_transport.h"
#include "pve/params.h"
#include "pve/transport.h"

namespace pvekit::pve {

// Everything needed to reach one PVE cluster; proxlb and lxcri fill this from
// their config files. Exactly one of password / token_secret must be set.
struct ClientOptions {
  // Nodes of one cluster as "host[:port]" ("[v6addr]:port" for IPv6); port
  // defaults to 8006. Requests go to the last host that answered and fail over
  // to the next one on connection errors.
  std::vector<std::string> hosts;
  std::string scheme = "https";  // "http" only for test simulators (pvesim --http)
  std::string user;              // "root@pam"; the realm is required
  std::string password;          // ticket login (secret)
  // API token: "user@realm!name", or just "name" with `user` set.
  std::string token_id;
  std::string token_secret;  // the token's UUID (secret)
  TlsOptions tls;            // verification: system CAs, ca_file, fingerprints or insecure
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds timeout{60'000};  // per request
  // Extra attempts after the first for requests that may be repeated (GET on
  // transport errors and 5xx; any method when it never reached a server).
  int retries = 3;
  std::chrono::milliseconds backoff{500};       // wait before the first retry; doubles each time
  std::chrono::milliseconds max_backoff{8'000};  // cap of the doubling
  // Tickets live 2 h; renew them well before that.
  std::chrono::seconds ticket_renew_after{std::chrono::minutes(105)};
};

// Config error naming the offending field(s); never echoes secret values.
core::Status validate(const ClientOptions& options);

// A "host[:port]" split up; Config error when malformed.
struct HostPort {
  std::string host;
  int port = 8006;
  std::string to_string() const;  // "host:port", IPv6 in brackets
};
core::Result<HostPort> parse_host_port(const std::string& text);

// The transport the options ask for (libcurl with their TLS and timeouts).
core::Result<std::unique_ptr<Transport>> make_transport(const ClientOptions& options);

// A raw request body (multipart uploads); the client adds auth headers.
struct RawBody {
  std::string content_type;
  std::string bytes;
};

// One API call below /api2/json. GET/DELETE send params in the query string,
// POST/PUT as a form body (or `raw` when set).
struct ApiRequest {
  HttpMethod method = HttpMethod::Get;
  std::string path;  // "/nodes/pve1/status", already encoded
  Params params;
  std::optional<RawBody> raw;
  std::chrono::milliseconds timeout{0};  // zero: ClientOptions::timeout
};

// The PVE API client: authentication (API token, or ticket + CSRF token with
// renewal and re-login on 401), fail-over between hosts, retries with
// exponential backoff and error mapping. Thread-safe.
//
// Errors carry the HTTP status, PVE's message and per-parameter `errors` as
// details, with the request as context ("GET /nodes/pve1/status: 500 ...").
// Categories: 401/403 Auth; 404 or "does not exist" NotFound; 595/596 (pveproxy
// could not reach the node) and transport failures Transport; other Api.
// No secret ever appears in an error or a log line.
class Client {
 public:
  // The transport and the clock must outlive the client. Config error when
  // the options are invalid (see validate()).
  static core::Result<std::unique_ptr<Client>> create(ClientOptions options, Transport& transport,
                                                      core::Clock& clock);

  // The `data` member of the answer (null when PVE sends none).
  core::Result<core::Json> get(const std::string& path, const Params& params = {});
  core::Result<core::Json> post(const std::string& path, const Params& params = {});
  core::Result<core::Json> put(const std::string& path, const Params& params = {});
  core::Result<core::Json> del(const std::string& path, const Params& params = {});
  core::Result<core::Json> call(const ApiRequest& request);

  // Logs in now (ticket auth); a no-op with an API token. Requests log in on
  // their own when needed, so calling this only surfaces bad credentials early.
  core::Status login();

  // "host:port" that answered last.
  std::string current_host() const;
  const ClientOptions& options() const { return options_; }
  core::Clock& clock() { return clock_; }

 private:
  Client(ClientOptions options, std::vector<HostPort> hosts, Transport& transport, core::Clock& clock);

  struct Auth {
    std::string ticket;
    std::string csrf;
    core::Clock::Duration issued{0};  // clock_.monotonic() at login
  };

  // Logs in when there is no ticket, it is due for renewal, or it equals
  // `rejected` (a ticket the server just refused).
  core::Status ensure_ticket(const std::string& rejected);
  core::Status do_login();
  HttpRequest build(const ApiRequest& request, const std::string& host, const Auth& auth) const;
  core::Result<HttpResponse> send_with_failover(const ApiRequest& request, const Auth& auth);
  core::Result<HttpResponse> send_with_retries(const ApiRequest& request, const Auth& auth);
  Auth current_auth() const;
  bool uses_ticket() const { return token_header_.empty(); }
  std::chrono::milliseconds backoff_for(int attempt) const;

  ClientOptions options_;
  std::vector<HostPort> hosts_;
  std::string token_header_;  // "PVEAPIToken=..." (secret), empty for ticket auth
  Transport& transport_;
  core::Clock& clock_;
  mutable std::mutex mutex_;  // guards auth_ and preferred_
  std::mutex login_mutex_;    // one login at a time
  Auth auth_;
  size_t preferred_ = 0;
};

// Turns a non-2xx answer into an Error (see Client); exposed for tests.
core::Error error_from_response(const HttpResponse& response);

}  // namespace pvekit::pve
