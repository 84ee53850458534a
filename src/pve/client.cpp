#include "pve/client.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/strings.h"
#include "pve/fingerprint.h"

namespace pvekit::pve {

namespace {

using core::Error;
using core::ErrorCategory;
using core::Json;

Error config_error(std::string message) {
  return Error(ErrorCategory::Config, std::move(message)).wrap("client options");
}

bool contains_ci(std::string_view text, std::string_view what) {
  return core::to_lower(text).find(what) != std::string::npos;
}

core::Status validate_credentials(const ClientOptions& o) {
  if (!o.password.empty() && !o.token_secret.empty())
    return config_error("both password and token_secret are set; use only one of them");
  if (o.password.empty() && o.token_secret.empty())
    return config_error("neither password nor token_secret is set");
  if (!o.password.empty()) {
    if (o.user.empty()) return config_error("user is required with password (e.g. root@pam)");
    if (o.user.find('@') == std::string::npos)
      return config_error("user '" + o.user + "' has no realm (expected user@realm, e.g. root@pam)");
    if (!o.token_id.empty()) return config_error("token_id is set but token_secret is not");
    return core::ok();
  }
  if (o.token_id.empty()) return config_error("token_id is required with token_secret");
  std::string full = o.token_id.find('!') == std::string::npos ? o.user + "!" + o.token_id : o.token_id;
  auto bang = full.find('!');
  auto at = full.find('@');
  if (at == std::string::npos || at > bang || bang + 1 == full.size() || at == 0)
    return config_error("token_id '" + o.token_id +
                        "' must be user@realm!name (or name together with user)");
  return core::ok();
}

core::Status validate_tls(const ClientOptions& o) {
  if (o.scheme == "http") return core::ok();
  switch (o.tls.verify) {
    case TlsVerify::CaFile:
      if (o.tls.ca_file.empty()) return config_error("tls.ca_file is required for CA verification");
      break;
    case TlsVerify::Fingerprint:
      if (o.tls.fingerprints.empty())
        return config_error("tls.fingerprints is required for fingerprint verification");
      for (const auto& fp : o.tls.fingerprints) {
        if (!normalize_fingerprint(fp))
          return config_error("tls fingerprint '" + fp +
                              "' is not a SHA-256 fingerprint (32 hex pairs, AA:BB:...)");
      }
      break;
    case TlsVerify::System:
    case TlsVerify::Insecure:
      break;
  }
  return core::ok();
}

core::Status validate_limits(const ClientOptions& o) {
  if (o.timeout.count() <= 0) return config_error("timeout must be positive");
  if (o.connect_timeout.count() <= 0) return config_error("connect_timeout must be positive");
  if (o.retries < 0 || o.retries > 100) return config_error("retries must be within 0..100");
  if (o.backoff.count() < 0 || o.max_backoff < o.backoff)
    return config_error("backoff must be >= 0 and <= max_backoff");
  if (o.ticket_renew_after.count() <= 0 || o.ticket_renew_after >= std::chrono::hours(2))
    return config_error("ticket_renew_after must be within the 2 h ticket lifetime");
  return core::ok();
}

// PVE puts its message in the status line and, for API errors, in `message`.
std::string pve_message(const HttpResponse& response, const Json& body) {
  std::string message;
  if (body.is_object() && body.contains("message") && body["message"].is_string())
    message = body["message"].get<std::string>();
  if (core::trim(message).empty()) message = response.reason;
  message = std::string(core::trim(message));
  if (message.empty()) message = "HTTP error";
  return message;
}

ErrorCategory category_for(int status, const std::string& message) {
  if (status == 401 || status == 403) return ErrorCategory::Auth;
  if (status == 404) return ErrorCategory::NotFound;
  // pveproxy answers 595/596 when it cannot reach the target node.
  if (status == 595 || status == 596) return ErrorCategory::Transport;
  if (contains_ci(message, "does not exist") || contains_ci(message, "no such "))
    return ErrorCategory::NotFound;
  return ErrorCategory::Api;
}

bool retryable_status(const HttpResponse& response) {
  if (response.status < 500 || response.status == 501) return false;
  // PVE reports "VM 100 does not exist" as a 500; asking again will not help.
  return error_from_response(response).category() != ErrorCategory::NotFound;
}

core::Result<Json> parse_answer(const HttpResponse& response) {
  if (response.status < 200 || response.status >= 300) return error_from_response(response);
  if (core::trim(response.body).empty()) return Json(nullptr);
  Json body = Json::parse(response.body, nullptr, false);
  if (body.is_discarded())
    return Error(ErrorCategory::Parse, "answer is not JSON").with_http_status(response.status);
  if (!body.is_object() || !body.contains("data")) return Json(nullptr);
  return body["data"];
}

}  // namespace

// ---- options ------------------------------------------------------------------

// HostPort and parse_host_port: host_port.cpp (no transport, for config loaders).

core::Status validate(const ClientOptions& o) {
  if (o.hosts.empty()) return config_error("hosts: at least one PVE host is required");
  for (const auto& h : o.hosts) {
    auto hp = parse_host_port(h);
    if (!hp.ok()) return Error(hp.error()).wrap("client options");
  }
  if (o.scheme != "https" && o.scheme != "http")
    return config_error("scheme must be https or http, not '" + o.scheme + "'");
  PVEKIT_TRY(validate_credentials(o));
  PVEKIT_TRY(validate_tls(o));
  return validate_limits(o);
}

core::Result<std::unique_ptr<Transport>> make_transport(const ClientOptions& options) {
  CurlTransportOptions t{.tls = options.tls,
                         .connect_timeout = options.connect_timeout,
                         .timeout = options.timeout};
  PVEKIT_ASSIGN(auto transport, CurlTransport::create(std::move(t)));
  return std::unique_ptr<Transport>(std::move(transport));
}

Error error_from_response(const HttpResponse& response) {
  Json body = Json::parse(response.body, nullptr, false);
  std::string message = pve_message(response, body);
  Error error(category_for(response.status, message),
              std::to_string(response.status) + " " + message);
  error.with_http_status(response.status);
  if (body.is_object() && body.contains("errors") && body["errors"].is_object()) {
    for (const auto& [param, text] : body["errors"].items()) {
      std::string detail = text.is_string() ? text.get<std::string>() : text.dump();
      error.with_detail(param, std::string(core::trim(detail)));
    }
  }
  return error;
}

// ---- client ---------------------------------------------------------------------

core::Result<std::unique_ptr<Client>> Client::create(ClientOptions options, Transport& transport,
                                                     core::Clock& clock) {
  PVEKIT_TRY(validate(options));
  std::vector<HostPort> hosts;
  for (const auto& h : options.hosts) {
    PVEKIT_ASSIGN(auto hp, parse_host_port(h));
    hosts.push_back(std::move(hp));
  }
  return std::unique_ptr<Client>(new Client(std::move(options), std::move(hosts), transport, clock));
}

Client::Client(ClientOptions options, std::vector<HostPort> hosts, Transport& transport,
               core::Clock& clock)
    : options_(std::move(options)), hosts_(std::move(hosts)), transport_(transport), clock_(clock) {
  if (!options_.token_secret.empty()) {
    std::string id = options_.token_id.find('!') == std::string::npos
                         ? options_.user + "!" + options_.token_id
                         : options_.token_id;
    token_header_ = "PVEAPIToken=" + id + "=" + options_.token_secret;
  }
}

std::string Client::current_host() const {
  std::lock_guard lock(mutex_);
  return hosts_[preferred_].to_string();
}

Client::Auth Client::current_auth() const {
  std::lock_guard lock(mutex_);
  return auth_;
}

std::chrono::milliseconds Client::backoff_for(int attempt) const {
  auto delay = options_.backoff;
  for (int i = 0; i < attempt && delay < options_.max_backoff; ++i) delay *= 2;
  return std::min(delay, options_.max_backoff);
}

HttpRequest Client::build(const ApiRequest& request, const std::string& host, const Auth& auth) const {
  HttpRequest out;
  out.method = request.method;
  out.url = options_.scheme + "://" + host + "/api2/json" + request.path;
  bool has_body = request.method == HttpMethod::Post || request.method == HttpMethod::Put;
  if (!has_body && !request.params.empty()) out.url += "?" + request.params.encode();
  out.headers.emplace_back("Accept", "application/json");
  if (!token_header_.empty()) {
    out.headers.emplace_back("Authorization", token_header_);
  } else if (!auth.ticket.empty()) {
    out.headers.emplace_back("Cookie", "PVEAuthCookie=" + auth.ticket);
    // PVE demands the CSRF token on every state-changing request made with a ticket.
    if (request.method != HttpMethod::Get) out.headers.emplace_back("CSRFPreventionToken", auth.csrf);
  }
  if (request.raw) {
    out.headers.emplace_back("Content-Type", request.raw->content_type);
    out.body = request.raw->bytes;
  } else if (has_body) {
    out.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    out.body = request.params.encode();
  }
  out.timeout = request.timeout.count() > 0 ? request.timeout : options_.timeout;
  return out;
}

core::Result<HttpResponse> Client::send_with_failover(const ApiRequest& request, const Auth& auth) {
  size_t start;
  {
    std::lock_guard lock(mutex_);
    start = preferred_;
  }
  std::optional<Error> last;
  for (size_t i = 0; i < hosts_.size(); ++i) {
    size_t index = (start + i) % hosts_.size();
    const std::string host = hosts_[index].to_string();
    auto started = clock_.monotonic();
    auto result = transport_.send(build(request, host, auth));
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.monotonic() - started);
    if (result.ok()) {
      spdlog::debug("pve: {} {} on {} -> {} ({} ms)", to_string(request.method), request.path, host,
                    result->status, ms.count());
      std::lock_guard lock(mutex_);
      if (preferred_ != index) spdlog::info("pve: switched to host {}", host);
      preferred_ = index;
      return result;
    }
    Error error = std::move(result).error().wrap(host);
    spdlog::warn("pve: {} {}: {}", to_string(request.method), request.path, error.to_string());
    // A request that reached a server may have been carried out there; sending
    // it to another node could do it twice unless it is idempotent.
    if (transport_stage(error) == TransportStage::Io && !is_idempotent(request.method)) return error;
    last = std::move(error);
  }
  return *last;
}

core::Result<HttpResponse> Client::send_with_retries(const ApiRequest& request, const Auth& auth) {
  for (int attempt = 0;; ++attempt) {
    auto result = send_with_failover(request, auth);
    bool retry;
    if (result.ok()) {
      retry = is_idempotent(request.method) && retryable_status(*result);
    } else {
      TransportStage stage = transport_stage(result.error());
      // TLS failures (wrong certificate) do not heal by waiting.
      retry = stage == TransportStage::Connect ||
              (stage == TransportStage::Io && is_idempotent(request.method));
    }
    if (!retry || attempt >= options_.retries) return result;
    auto delay = backoff_for(attempt);
    spdlog::info("pve: {} {}: retrying in {} ms (attempt {} of {})", to_string(request.method),
                 request.path, delay.count(), attempt + 2, options_.retries + 1);
    clock_.sleep_for(delay);
  }
}

core::Status Client::do_login() {
  ApiRequest request{.method = HttpMethod::Post,
                     .path = "/access/ticket",
                     .params = Params{{"username", options_.user}, {"password", options_.password}}};
  const std::string context = "login as " + options_.user;
  auto response = send_with_retries(request, Auth{});
  if (!response.ok()) return std::move(response).error().wrap(context);
  auto data = parse_answer(*response);
  if (!data.ok()) return std::move(data).error().wrap(context);
  const Json& d = *data;
  if (!d.is_object() || !d.contains("ticket") || !d["ticket"].is_string() ||
      !d.contains("CSRFPreventionToken") || !d["CSRFPreventionToken"].is_string())
    return Error(ErrorCategory::Auth, "answer has no ticket and CSRFPreventionToken").wrap(context);
  std::lock_guard lock(mutex_);
  auth_.ticket = d["ticket"].get<std::string>();
  auth_.csrf = d["CSRFPreventionToken"].get<std::string>();
  auth_.issued = clock_.monotonic();
  spdlog::info("pve: logged in as {} on {}", options_.user, hosts_[preferred_].to_string());
  return core::ok();
}

core::Status Client::ensure_ticket(const std::string& rejected) {
  std::lock_guard login_lock(login_mutex_);
  {
    std::lock_guard lock(mutex_);
    bool fresh = !auth_.ticket.empty() && clock_.monotonic() - auth_.issued < options_.ticket_renew_after;
    if (fresh && (rejected.empty() || auth_.ticket != rejected)) return core::ok();
    if (fresh) spdlog::info("pve: ticket refused, logging in again");
    else if (!auth_.ticket.empty()) spdlog::info("pve: renewing ticket");
  }
  return do_login();
}

core::Status Client::login() {
  if (!uses_ticket()) return core::ok();
  return ensure_ticket("");
}

core::Result<Json> Client::call(const ApiRequest& request) {
  const std::string context = std::string(to_string(request.method)) + " " + request.path;
  if (uses_ticket()) {
    auto status = ensure_ticket("");
    if (!status.ok()) return std::move(status).error().wrap(context);
  }
  Auth auth = current_auth();
  auto response = send_with_retries(request, auth);
  if (response.ok() && response->status == 401 && uses_ticket()) {
    // The ticket may have been revoked or the node restarted with new keys.
    auto status = ensure_ticket(auth.ticket);
    if (!status.ok()) return std::move(status).error().wrap(context);
    response = send_with_retries(request, current_auth());
  }
  if (!response.ok()) return std::move(response).error().wrap(context);
  return parse_answer(*response).wrap(context);
}

core::Result<Json> Client::get(const std::string& path, const Params& params) {
  return call(ApiRequest{.method = HttpMethod::Get, .path = path, .params = params});
}
core::Result<Json> Client::post(const std::string& path, const Params& params) {
  return call(ApiRequest{.method = HttpMethod::Post, .path = path, .params = params});
}
core::Result<Json> Client::put(const std::string& path, const Params& params) {
  return call(ApiRequest{.method = HttpMethod::Put, .path = path, .params = params});
}
core::Result<Json> Client::del(const std::string& path, const Params& params) {
  return call(ApiRequest{.method = HttpMethod::Delete, .path = path, .params = params});
}

}  // namespace pvekit::pve
