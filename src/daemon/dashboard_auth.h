// Who may do what on the dashboard. Views are read by anyone who reaches
// the listener (loopback by default); actions need the token of
// service.dashboard.token_file, sent as "Authorization: Bearer" (scripts) or
// exchanged once for a session cookie (HttpOnly, SameSite=Strict) whose
// actions also carry the session's CSRF token in X-CSRF-Token. Cross-site
// requests (Sec-Fetch-Site, Origin) are refused for logins and actions, and
// on a loopback listener a Host that is not loopback (DNS rebinding) is
// refused for everything. Logic only: no sockets, tested with requests.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "http/server.h"

namespace pvekit::daemon {

inline constexpr const char* kSessionCookie = "proxlb_session";
inline constexpr const char* kCsrfHeader = "x-csrf-token";

// A refusal: the HTTP status and why, for the client (never a secret).
struct Refusal {
  int status = 403;
  std::string why;
};

struct DashboardAuthOptions {
  std::string token;  // empty: actions are off (read-only dashboard)
  bool tls = false;   // cookies are Secure
  bool loopback = true;  // the listener is loopback: Host must be too
  double session_seconds = 12 * 3600;
  size_t max_sessions = 64;  // more logins push out the oldest session
  // Failed logins within a minute before logins are refused for a minute.
  size_t max_failed_logins = 10;
};

class DashboardAuth {
 public:
  explicit DashboardAuth(DashboardAuthOptions options) : options_(std::move(options)) {}

  bool actions_enabled() const { return !options_.token.empty(); }
  // Any request: the Host check against DNS rebinding.
  std::optional<Refusal> check_host(const http::Request& request) const;
  // A state-changing request (login, action, logout) must come from this
  // dashboard's own pages or from a non-browser client.
  std::optional<Refusal> check_same_origin(const http::Request& request) const;

  struct Login {
    std::string session_id;
    std::string csrf_token;
    std::string set_cookie;  // the Set-Cookie header's value
  };
  // Exchanges the token for a session; a wrong token is 401, too many wrong
  // ones within a minute 429.
  core::Result<Login> login(const http::Request& request, const std::string& token, double now);
  void logout(const http::Request& request);
  // The CSRF token of the request's session cookie, when it is valid.
  std::optional<std::string> session_csrf(const http::Request& request, double now) const;
  // An action (POST): same origin, then a bearer token, or a session
  // cookie with its CSRF token in X-CSRF-Token.
  std::optional<Refusal> authorize_action(const http::Request& request, double now) const;

 private:
  struct Session {
    std::string csrf;
    double expires = 0;
  };
  const Session* find_session(const http::Request& request, double now) const;

  DashboardAuthOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, Session> sessions_;
  std::deque<std::string> session_order_;  // oldest first
  std::deque<double> failed_logins_;
};

}  // namespace pvekit::daemon
