#include "daemon/dashboard_auth.h"

#include "core/strings.h"
#include "http/auth.h"
#include "http/form.h"

namespace pvekit::daemon {
namespace {

// The host of a Host header ("127.0.0.1:8190", "[::1]:8190", "localhost").
std::string host_name_of(const std::string& host_header) {
  if (!host_header.empty() && host_header.front() == '[') {
    const size_t end = host_header.find(']');
    return end == std::string::npos ? host_header : host_header.substr(1, end - 1);
  }
  return core::to_lower(host_header.substr(0, host_header.find(':')));
}

}  // namespace

std::optional<Refusal> DashboardAuth::check_host(const http::Request& request) const {
  if (!options_.loopback) return std::nullopt;
  if (!core::is_loopback_host(host_name_of(request.header("host")))) {
    return Refusal{421, "this dashboard answers to loopback host names only (localhost, 127.0.0.1, [::1])"};
  }
  return std::nullopt;
}

std::optional<Refusal> DashboardAuth::check_same_origin(const http::Request& request) const {
  const std::string& site = request.header("sec-fetch-site");
  if (!site.empty() && site != "same-origin" && site != "none") {
    return Refusal{403, "cross-site request refused (Sec-Fetch-Site: " + site + ")"};
  }
  const std::string& origin = request.header("origin");
  if (!origin.empty()) {
    const std::string expected = std::string(options_.tls ? "https://" : "http://") + request.header("host");
    if (origin != expected) return Refusal{403, "cross-origin request refused: Origin is not this dashboard"};
  }
  return std::nullopt;
}

core::Result<DashboardAuth::Login> DashboardAuth::login(const http::Request& request, const std::string& token,
                                                        double now) {
  const auto refused = [](int status, std::string why) {
    return core::Error(core::ErrorCategory::Auth, std::move(why)).with_http_status(status);
  };
  if (!actions_enabled()) return refused(403, "actions are off: service.dashboard.token_file is not set");
  if (auto r = check_same_origin(request)) return refused(r->status, r->why);
  std::lock_guard lock(mutex_);
  while (!failed_logins_.empty() && failed_logins_.front() < now - 60) failed_logins_.pop_front();
  if (failed_logins_.size() >= options_.max_failed_logins) {
    return refused(429, "too many failed logins; try again in a minute");
  }
  if (!http::secret_matches(token, options_.token)) {
    failed_logins_.push_back(now);
    return refused(401, "wrong token");
  }
  Login login{http::random_hex(32), http::random_hex(32), ""};
  if (sessions_.size() >= options_.max_sessions && !session_order_.empty()) {
    sessions_.erase(session_order_.front());
    session_order_.pop_front();
  }
  sessions_[login.session_id] = Session{login.csrf_token, now + options_.session_seconds};
  session_order_.push_back(login.session_id);
  login.set_cookie = std::string(kSessionCookie) + "=" + login.session_id +
                     "; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=" +
                     std::to_string(static_cast<long>(options_.session_seconds)) + (options_.tls ? "; Secure" : "");
  return login;
}

void DashboardAuth::logout(const http::Request& request) {
  const auto cookies = http::parse_cookies(request.header("cookie"));
  const auto it = cookies.find(kSessionCookie);
  if (it == cookies.end()) return;
  std::lock_guard lock(mutex_);
  sessions_.erase(it->second);
  std::erase(session_order_, it->second);
}

const DashboardAuth::Session* DashboardAuth::find_session(const http::Request& request, double now) const {
  const auto cookies = http::parse_cookies(request.header("cookie"));
  const auto it = cookies.find(kSessionCookie);
  if (it == cookies.end()) return nullptr;
  // Session ids are random 256-bit values: a map lookup tells an attacker
  // nothing a guess could use.
  const auto found = sessions_.find(it->second);
  if (found == sessions_.end() || found->second.expires <= now) return nullptr;
  return &found->second;
}

std::optional<std::string> DashboardAuth::session_csrf(const http::Request& request, double now) const {
  std::lock_guard lock(mutex_);
  const Session* session = find_session(request, now);
  if (!session) return std::nullopt;
  return session->csrf;
}

std::optional<Refusal> DashboardAuth::authorize_action(const http::Request& request, double now) const {
  if (!actions_enabled()) return Refusal{403, "actions are off: service.dashboard.token_file is not set"};
  if (auto r = check_same_origin(request)) return r;
  if (!request.header("authorization").empty()) {
    if (http::bearer_token_matches(request.headers, options_.token)) return std::nullopt;
    return Refusal{401, "wrong token"};
  }
  std::lock_guard lock(mutex_);
  const Session* session = find_session(request, now);
  if (!session) return Refusal{401, "log in with the dashboard token first (or send it as a bearer token)"};
  if (!http::secret_matches(request.header(kCsrfHeader), session->csrf)) {
    return Refusal{403, "missing or wrong X-CSRF-Token for this session"};
  }
  return std::nullopt;
}

}  // namespace pvekit::daemon
