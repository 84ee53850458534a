#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/result.h"
#include "pve/transport.h"

namespace pvekit::testing {

// A PVE-style answer: {"data": data} with status 200.
pve::HttpResponse pve_data(const core::Json& data);
// A PVE error: status line `status message`, body {"data":null,"message":...[, "errors":...]}.
pve::HttpResponse pve_error(int status, const std::string& message, const core::Json& errors = nullptr);

// The parts of a request URL: "https://h:8006/api2/json/nodes?x=1" ->
// host "h:8006", path "/nodes" (below /api2/json), query "x=1".
struct UrlParts {
  std::string scheme, host, path, query;
};
UrlParts split_url(const std::string& url);
// A header's value or "" (case-insensitive name).
std::string header_value(const pve::HttpRequest& request, const std::string& name);
// A form/query field's decoded value or "".
std::string form_value(const std::string& encoded, const std::string& key);

// An in-memory Transport. Every request is recorded. Answers come, in order,
// from the script (queued with push(), consumed first-in first-out), then
// from routes (method + path below /api2/json), and otherwise 501 like PVE's
// "Method ... not implemented". Thread-safe.
class FakeTransport final : public pve::Transport {
 public:
  using Handler = std::function<core::Result<pve::HttpResponse>(const pve::HttpRequest&)>;

  core::Result<pve::HttpResponse> send(const pve::HttpRequest& request) override;

  void push(core::Result<pve::HttpResponse> answer);
  void route(pve::HttpMethod method, const std::string& path, Handler handler);
  // A fixed {"data": data} answer.
  void route_data(pve::HttpMethod method, const std::string& path, const core::Json& data);
  // Accepts POST /access/ticket for user/password and answers with `ticket`
  // and `csrf`; any other password gets 401.
  void route_login(const std::string& user, const std::string& password, const std::string& ticket,
                   const std::string& csrf);

  std::vector<pve::HttpRequest> requests() const;
  // Recorded requests whose path (below /api2/json) equals `path`.
  std::vector<pve::HttpRequest> requests_to(const std::string& path) const;
  void clear_requests();

 private:
  struct Route {
    pve::HttpMethod method;
    std::string path;
    Handler handler;
  };
  mutable std::mutex mutex_;
  std::deque<core::Result<pve::HttpResponse>> script_;
  std::vector<Route> routes_;
  std::vector<pve::HttpRequest> requests_;
};

// Forwards every request to `target`, except that it can be told to fail the
// next N requests (optionally only those to one host) with a given error,
// the way leveldb's fault-injecting Env wrappers do.
class FaultyTransport final : public pve::Transport {
 public:
  explicit FaultyTransport(pve::Transport& target) : target_(target) {}

  core::Result<pve::HttpResponse> send(const pve::HttpRequest& request) override;

  // Fails the next `count` matching requests with `error`. `host` ("h:8006")
  // limits it to requests to that host; empty matches all.
  void fail_next(int count, core::Error error, const std::string& host = "");
  // Makes every request to `host` fail with a connection error until cleared.
  void take_down(const std::string& host);
  void bring_up(const std::string& host);
  int failures_injected() const;

 private:
  pve::Transport& target_;
  mutable std::mutex mutex_;
  int remaining_ = 0;
  std::optional<core::Error> error_;
  std::string host_;
  std::vector<std::string> down_;
  int injected_ = 0;
};

// A connection-refused transport error, as CurlTransport reports it.
core::Error connect_refused(const std::string& host);

}  // namespace pvekit::testing
