#include "daemon/endpoints.h"

#include <fmt/format.h>

#include "core/strings.h"

namespace pvekit::daemon {

void StatusBoard::started(std::string schedule, double interval_seconds, double now_unix) {
  std::lock_guard lock(mutex_);
  schedule_ = std::move(schedule);
  interval_seconds_ = interval_seconds;
  started_unix_ = now_unix;
}

void StatusBoard::record(const core::Result<RoundReport>& round, double now_unix) {
  std::lock_guard lock(mutex_);
  ++rounds_;
  last_round_unix_ = now_unix;
  if (round) {
    last_ = *round;
    last_error_.clear();
    last_success_unix_ = now_unix;
  } else {
    last_error_ = round.error().to_string();
  }
}

std::optional<std::string> StatusBoard::not_ready(double now_unix) const {
  std::lock_guard lock(mutex_);
  if (rounds_ == 0) return std::string("no round has run yet");
  if (!last_error_.empty()) return "the last round failed: " + last_error_;
  if (interval_seconds_ > 0 && now_unix - last_round_unix_ > 3 * interval_seconds_ + 60) {
    return fmt::format("the last round ended {:.0f} s ago; rounds are {}", now_unix - last_round_unix_, schedule_);
  }
  return std::nullopt;
}

core::Json StatusBoard::status_json(double now_unix) const {
  std::lock_guard lock(mutex_);
  core::Json j = {{"schedule", schedule_}, {"rounds", rounds_}, {"uptime_seconds", now_unix - started_unix_}};
  j["last_round"] = nullptr;
  if (last_) {
    j["last_round"] = {{"verdict", std::string(to_string(last_->verdict))},
                       {"summary", last_->summary},
                       {"planned", last_->planned},
                       {"done", last_->done},
                       {"failed", last_->failed},
                       {"spread_before", last_->spread_before},
                       {"spread_after", last_->spread_after},
                       {"stopped_early", last_->stopped_early},
                       {"stop_reason", last_->stop_reason},
                       {"pve_crs_rebalancing", last_->pve_crs_rebalancing}};
  }
  j["last_error"] = last_error_.empty() ? core::Json(nullptr) : core::Json(last_error_);
  j["last_round_time"] = last_round_unix_ > 0 ? core::Json(last_round_unix_) : core::Json(nullptr);
  j["last_success_time"] = last_success_unix_ > 0 ? core::Json(last_success_unix_) : core::Json(nullptr);
  return j;
}

namespace {

http::Response text(int status, std::string body, std::string type = "text/plain; charset=utf-8") {
  http::Response r;
  r.status = status;
  r.headers = {{"Content-Type", std::move(type)}, {"Cache-Control", "no-store"}};
  r.body = std::move(body);
  return r;
}

}  // namespace

http::Response serve_endpoint(const http::Request& request, const EndpointState& state) {
  const bool read = request.method == "GET" || request.method == "HEAD";
  const std::string& path = request.path;
  if (path != "/metrics" && path != "/healthz" && path != "/readyz" && path != "/status") {
    return text(404, "not found: " + path + " (/metrics, /healthz, /readyz, /status)\n");
  }
  if (!read) {
    auto r = text(405, "method not allowed: " + request.method + " " + path + "\n");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  if (path == "/metrics") return text(200, state.metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
  if (path == "/healthz") {
    double age = state.heartbeat_age();
    if (age > state.stall_seconds) return text(503, fmt::format("stalled: the loop has not moved for {:.0f} s\n", age));
    return text(200, "ok\n");
  }
  if (path == "/readyz") {
    if (auto why = state.board.not_ready(state.now_unix())) return text(503, "not ready: " + *why + "\n");
    return text(200, "ready\n");
  }
  return text(200, state.board.status_json(state.now_unix()).dump(2) + "\n", "application/json");
}

core::Result<std::pair<std::string, int>> parse_listen(const std::string& listen) {
  auto bad = [&](const std::string& why) {
    return core::Error(core::ErrorCategory::Config, "service.listen: '" + listen + "' " + why);
  };
  std::string host;
  std::string port_text;
  if (core::starts_with(listen, "[")) {
    auto close = listen.find("]:");
    if (close == std::string::npos) return bad("is not [v6-address]:port");
    host = listen.substr(1, close - 1);
    port_text = listen.substr(close + 2);
  } else {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos || colon == 0) return bad("is not host:port");
    host = listen.substr(0, colon);
    port_text = listen.substr(colon + 1);
  }
  auto port = core::parse_int(port_text);
  if (!port || *port < 0 || *port > 65535) return bad("has no port 0-65535");
  return std::pair<std::string, int>{host, static_cast<int>(*port)};
}

}  // namespace pvekit::daemon
