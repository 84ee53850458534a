#include "support/fake_transport.h"

#include <algorithm>

#include "pve/params.h"

namespace pvekit::testing {

using core::Json;
using pve::HttpMethod;
using pve::HttpRequest;
using pve::HttpResponse;

HttpResponse pve_data(const Json& data) {
  return HttpResponse{.status = 200,
                      .reason = "OK",
                      .headers = {{"Content-Type", "application/json;charset=UTF-8"}},
                      .body = Json{{"data", data}}.dump()};
}

HttpResponse pve_error(int status, const std::string& message, const Json& errors) {
  Json body = {{"data", nullptr}, {"message", message + "\n"}};
  if (!errors.is_null()) body["errors"] = errors;
  return HttpResponse{.status = status,
                      .reason = message,
                      .headers = {{"Content-Type", "application/json;charset=UTF-8"}},
                      .body = body.dump()};
}

UrlParts split_url(const std::string& url) {
  UrlParts parts;
  auto scheme_end = url.find("://");
  size_t host_start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  if (scheme_end != std::string::npos) parts.scheme = url.substr(0, scheme_end);
  auto path_start = url.find('/', host_start);
  parts.host = url.substr(host_start, path_start - host_start);
  if (path_start == std::string::npos) return parts;
  std::string rest = url.substr(path_start);
  auto q = rest.find('?');
  if (q != std::string::npos) {
    parts.query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  const std::string prefix = "/api2/json";
  parts.path = rest.rfind(prefix, 0) == 0 ? rest.substr(prefix.size()) : rest;
  return parts;
}

std::string header_value(const HttpRequest& request, const std::string& name) {
  HttpResponse probe{.headers = request.headers};
  return probe.header(name).value_or("");
}

std::string form_value(const std::string& encoded, const std::string& key) {
  for (const auto& [k, v] : pve::decode_form(encoded)) {
    if (k == key) return v;
  }
  return "";
}

core::Result<HttpResponse> FakeTransport::send(const HttpRequest& request) {
  Handler handler;
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
    if (!script_.empty()) {
      auto answer = std::move(script_.front());
      script_.pop_front();
      return answer;
    }
    std::string path = split_url(request.url).path;
    for (const auto& r : routes_) {
      if (r.method == request.method && r.path == path) handler = r.handler;
    }
  }
  if (handler) return handler(request);
  return pve_error(501, "Method '" + std::string(pve::to_string(request.method)) + " /api2/json" +
                            split_url(request.url).path + "' not implemented");
}

void FakeTransport::push(core::Result<HttpResponse> answer) {
  std::lock_guard lock(mutex_);
  script_.push_back(std::move(answer));
}

void FakeTransport::route(HttpMethod method, const std::string& path, Handler handler) {
  std::lock_guard lock(mutex_);
  // A later route for the same method and path replaces the earlier one.
  routes_.erase(std::remove_if(routes_.begin(), routes_.end(),
                               [&](const Route& r) { return r.method == method && r.path == path; }),
                routes_.end());
  routes_.push_back(Route{method, path, std::move(handler)});
}

void FakeTransport::route_data(HttpMethod method, const std::string& path, const Json& data) {
  route(method, path, [data](const HttpRequest&) { return core::Result<HttpResponse>(pve_data(data)); });
}

void FakeTransport::route_login(const std::string& user, const std::string& password,
                                const std::string& ticket, const std::string& csrf) {
  route(HttpMethod::Post, "/access/ticket", [=](const HttpRequest& request) -> core::Result<HttpResponse> {
    if (form_value(request.body, "username") != user || form_value(request.body, "password") != password)
      return pve_error(401, "authentication failure");
    return pve_data({{"ticket", ticket}, {"CSRFPreventionToken", csrf}, {"username", user},
                     {"cap", Json::object()}});
  });
}

std::vector<HttpRequest> FakeTransport::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::vector<HttpRequest> FakeTransport::requests_to(const std::string& path) const {
  std::vector<HttpRequest> out;
  for (auto& r : requests()) {
    if (split_url(r.url).path == path) out.push_back(r);
  }
  return out;
}

void FakeTransport::clear_requests() {
  std::lock_guard lock(mutex_);
  requests_.clear();
}

core::Error connect_refused(const std::string& host) {
  return pve::transport_error("Couldn't connect to server (Failed to connect to " + host +
                                  ": Connection refused)",
                              pve::TransportStage::Connect);
}

core::Result<HttpResponse> FaultyTransport::send(const HttpRequest& request) {
  std::string host = split_url(request.url).host;
  {
    std::lock_guard lock(mutex_);
    if (std::find(down_.begin(), down_.end(), host) != down_.end()) {
      ++injected_;
      return connect_refused(host);
    }
    if (remaining_ > 0 && error_ && (host_.empty() || host_ == host)) {
      --remaining_;
      ++injected_;
      return *error_;
    }
  }
  return target_.send(request);
}

void FaultyTransport::fail_next(int count, core::Error error, const std::string& host) {
  std::lock_guard lock(mutex_);
  remaining_ = count;
  error_ = std::move(error);
  host_ = host;
}

void FaultyTransport::take_down(const std::string& host) {
  std::lock_guard lock(mutex_);
  down_.push_back(host);
}

void FaultyTransport::bring_up(const std::string& host) {
  std::lock_guard lock(mutex_);
  down_.erase(std::remove(down_.begin(), down_.end(), host), down_.end());
}

int FaultyTransport::failures_injected() const {
  std::lock_guard lock(mutex_);
  return injected_;
}

}  // namespace pvekit::testing
