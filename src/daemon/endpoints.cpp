#include "daemon/endpoints.h"

#include <algorithm>
#include <variant>

#include <fmt/format.h>

#include "core/strings.h"
#include "http/auth.h"
#include "http/form.h"

namespace pvekit::daemon {

void StatusBoard::named(std::string name) {
  std::lock_guard lock(mutex_);
  name_ = std::move(name);
}

std::string StatusBoard::name() const {
  std::lock_guard lock(mutex_);
  return name_;
}

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
    // The views move out of the summary: they can be megabytes.
    if (!round->plan.is_null()) plan_ = View{round->plan, round->plan_text, now_unix};
    if (!round->cluster.is_null()) cluster_ = View{round->cluster, round->cluster_text, now_unix};
    last_->plan = last_->cluster = nullptr;
    last_->plan_text.clear();
    last_->cluster_text.clear();
  } else {
    last_error_ = round.error().to_string();
  }
}

void StatusBoard::scheduled(double next_round_unix) {
  std::lock_guard lock(mutex_);
  next_round_unix_ = next_round_unix;
}

std::optional<StatusBoard::View> StatusBoard::last_plan() const {
  std::lock_guard lock(mutex_);
  return plan_;
}

std::optional<StatusBoard::View> StatusBoard::last_cluster() const {
  std::lock_guard lock(mutex_);
  return cluster_;
}

std::optional<std::string> StatusBoard::not_ready(double now_unix) const {
  std::lock_guard lock(mutex_);
  return not_ready_locked(now_unix);
}

std::optional<std::string> StatusBoard::not_ready_locked(double now_unix) const {
  if (rounds_ == 0) return std::string("no round has run yet");
  if (!last_error_.empty()) return "the last round failed: " + last_error_;
  if (interval_seconds_ > 0 && now_unix - last_round_unix_ > 3 * interval_seconds_ + 60) {
    return fmt::format("the last round ended {:.0f} s ago; rounds are {}", now_unix - last_round_unix_, schedule_);
  }
  return std::nullopt;
}

core::Json StatusBoard::status_json(double now_unix) const {
  std::lock_guard lock(mutex_);
  core::Json j = {{"cluster", name_.empty() ? core::Json(nullptr) : core::Json(name_)},
                  {"schedule", schedule_},
                  {"rounds", rounds_},
                  {"uptime_seconds", now_unix - started_unix_}};
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
                       {"pve_crs_rebalancing", last_->pve_crs_rebalancing},
                       {"plan_id", last_->plan_id}};
    j["leader"] = last_->leader;
    j["leadership"] = last_->leadership;
    j["gate"] = last_->gate;
    j["pve_crs_rebalancing"] = last_->pve_crs_rebalancing;
  } else {
    j["leader"] = j["leadership"] = j["gate"] = j["pve_crs_rebalancing"] = nullptr;
  }
  j["last_error"] = last_error_.empty() ? core::Json(nullptr) : core::Json(last_error_);
  j["last_round_time"] = last_round_unix_ > 0 ? core::Json(last_round_unix_) : core::Json(nullptr);
  j["last_success_time"] = last_success_unix_ > 0 ? core::Json(last_success_unix_) : core::Json(nullptr);
  j["next_round_time"] = next_round_unix_ > 0 ? core::Json(next_round_unix_) : core::Json(nullptr);
  return j;
}

core::Json StatusBoard::summary_json(double now_unix) const {
  std::lock_guard lock(mutex_);
  auto why = not_ready_locked(now_unix);
  auto time = [](double t) { return t > 0 ? core::Json(t) : core::Json(nullptr); };
  return {{"name", name_.empty() ? core::Json(nullptr) : core::Json(name_)},
          {"leader", last_ ? core::Json(last_->leader) : core::Json(nullptr)},
          {"verdict", last_ ? core::Json(std::string(to_string(last_->verdict))) : core::Json(nullptr)},
          {"summary", last_ ? core::Json(last_->summary) : core::Json(nullptr)},
          {"last_error", last_error_.empty() ? core::Json(nullptr) : core::Json(last_error_)},
          {"ready", !why},
          {"not_ready", why ? core::Json(*why) : core::Json(nullptr)},
          {"rounds", rounds_},
          {"last_round_time", time(last_round_unix_)},
          {"last_success_time", time(last_success_unix_)},
          {"next_round_time", time(next_round_unix_)}};
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

namespace {

http::Response json(const core::Json& body) { return text(200, body.dump(2) + "\n", "application/json"); }

// A view as JSON, or as text with ?format=text.
http::Response view(const std::optional<StatusBoard::View>& v, const std::string& format, const char* what) {
  if (!v) return text(404, std::string("no ") + what + " yet: no round has read the cluster\n");
  if (format == "text") return text(200, v->text);
  return json(v->json);
}

// /status, /cluster, /plan and /audit over TCP need the bearer token; without
// one configured, only /status is served there (the unix socket serves all).
std::optional<http::Response> refused(const http::Request& request, const EndpointState& state) {
  if (state.trusted) return std::nullopt;
  if (state.token.empty()) {
    if (request.path == "/status" || request.path == "/clusters") return std::nullopt;
    return text(403, request.path + " is served on the status socket (service.status_socket), or here with "
                                    "service.status_token_file\n");
  }
  if (http::bearer_token_matches(request.headers, state.token)) return std::nullopt;
  auto r = text(401, "unauthorized: " + request.path + " needs 'Authorization: Bearer <token>'\n");
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"proxlb\"");
  return r;
}

// The query parameters the status API knows; others are errors, so a typo
// does not go unnoticed.
core::Result<std::map<std::string, std::string>> query_of(const http::Request& request) {
  std::map<std::string, std::string> params;
  for (auto& [key, value] : http::parse_urlencoded(request.query)) {
    if (key != "format" && key != "lines" && key != "cluster") {
      return core::Error(core::ErrorCategory::Usage, "unknown parameter '" + key + "' (format, lines, cluster)");
    }
    params[key] = value;
  }
  if (params.count("format") && params["format"] != "json" && params["format"] != "text") {
    return core::Error(core::ErrorCategory::Usage, "format must be json or text");
  }
  return params;
}

std::vector<std::string> names_of(const EndpointState& state) {
  std::vector<std::string> names;
  for (const auto* board : state.boards) names.push_back(board->name());
  return names;
}

// The board ?cluster= names; without it, the only one. Otherwise the
// response that says why not (the name is not echoed: it is the client's).
std::variant<const StatusBoard*, http::Response> board_of(const EndpointState& state,
                                                          const std::map<std::string, std::string>& params) {
  auto it = params.find("cluster");
  if (it == params.end()) {
    if (state.boards.size() == 1) return state.boards.front();
    return text(400, fmt::format("{} clusters ({}): add ?cluster=NAME\n", state.boards.size(),
                                 core::join(names_of(state), ", ")));
  }
  for (const auto* board : state.boards) {
    if (board->name() == it->second) return board;
  }
  return text(404, "no such cluster (" + core::join(names_of(state), ", ") + ")\n");
}

http::Response audit(const EndpointState& state, const std::map<std::string, std::string>& params) {
  if (!state.audit_tail) return text(404, "no audit log: service.audit_log is empty\n");
  size_t lines = 50;
  if (auto it = params.find("lines"); it != params.end()) {
    auto n = core::parse_int(it->second);
    if (!n || *n < 1 || *n > static_cast<int64_t>(kMaxAuditLines)) {
      return text(400, fmt::format("lines must be 1-{}\n", kMaxAuditLines));
    }
    lines = static_cast<size_t>(*n);
  }
  std::optional<std::string> cluster;
  if (auto it = params.find("cluster"); it != params.end()) {
    auto board = board_of(state, params);
    if (auto* refusal = std::get_if<http::Response>(&board)) return *refusal;
    cluster = it->second;
  }
  // The tail is read before the filter: a cluster's lines among the last
  // `lines` of the log, not its last `lines`.
  auto tail = state.audit_tail(lines);
  if (!tail) return text(500, "audit log: " + tail.error().to_string() + "\n");
  core::Json records = core::Json::array();
  for (const auto& line : *tail) {
    // A line torn by a crash mid-write is skipped, not a failure of the tail.
    auto record = core::Json::parse(line, nullptr, false);
    if (record.is_discarded()) continue;
    if (cluster && (!record.is_object() || record.value("cluster", std::string()) != *cluster)) continue;
    records.push_back(std::move(record));
  }
  return json(records);
}

// Ready when every cluster is (or the one of ?cluster=); a cluster that is
// not names itself when there are several.
http::Response readyz(const http::Request& request, const EndpointState& state) {
  std::vector<const StatusBoard*> boards = state.boards;
  for (auto& [key, value] : http::parse_urlencoded(request.query)) {
    if (key != "cluster") return text(400, "unknown parameter '" + key + "' (cluster)\n");
    auto board = board_of(state, {{key, value}});
    if (auto* refusal = std::get_if<http::Response>(&board)) return *refusal;
    boards = {std::get<const StatusBoard*>(board)};
  }
  std::vector<std::string> why;
  for (const auto* board : boards) {
    auto reason = board->not_ready(state.now_unix());
    if (!reason) continue;
    why.push_back(state.boards.size() > 1 ? "cluster " + board->name() + ": " + *reason : *reason);
  }
  if (!why.empty()) return text(503, "not ready: " + core::join(why, "; ") + "\n");
  return text(200, "ready\n");
}

}  // namespace

http::Response serve_endpoint(const http::Request& request, const EndpointState& state) {
  const bool read = request.method == "GET" || request.method == "HEAD";
  const std::string& path = request.path;
  static const std::vector<std::string> kPaths = {"/metrics", "/healthz", "/readyz", "/status",
                                                  "/clusters", "/cluster", "/plan", "/audit"};
  if (std::find(kPaths.begin(), kPaths.end(), path) == kPaths.end()) {
    return text(404, "not found: " + path + " (" + core::join(kPaths, ", ") + ")\n");
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
  if (path == "/readyz") return readyz(request, state);
  if (auto r = refused(request, state)) return *r;
  auto params = query_of(request);
  if (!params) return text(400, params.error().to_string() + "\n");
  const std::string format = params->count("format") ? params->at("format") : "json";
  if (path == "/audit") return audit(state, *params);
  if (path == "/clusters") {
    core::Json clusters = core::Json::array();
    for (const auto* board : state.boards) clusters.push_back(board->summary_json(state.now_unix()));
    return json(clusters);
  }
  auto board = board_of(state, *params);
  if (auto* refusal = std::get_if<http::Response>(&board)) return *refusal;
  const StatusBoard& chosen = *std::get<const StatusBoard*>(board);
  if (path == "/cluster") return view(chosen.last_cluster(), format, "cluster view");
  if (path == "/plan") return view(chosen.last_plan(), format, "plan");
  return json(chosen.status_json(state.now_unix()));
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
