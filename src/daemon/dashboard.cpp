#include "daemon/dashboard.h"

#include <charconv>

#include <fmt/format.h>

#include "core/strings.h"
#include "http/form.h"
#include "http/sse.h"

namespace pvekit::daemon {
namespace {

constexpr std::string_view kPrefix = "/dashboard/";
constexpr std::string_view kApi = "/dashboard/api/";
// Audit records the page shows when it does not ask for a number.
constexpr size_t kAuditLinesDefault = 200;

void secure(http::Response& r) {
  r.headers.emplace_back("Content-Security-Policy", kDashboardCsp);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  r.headers.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
}

http::Response json(int status, const core::Json& body) {
  http::Response r;
  r.status = status;
  r.headers = {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}};
  // Names from PVE are not trusted to be UTF-8.
  r.body = body.dump(-1, ' ', false, core::Json::error_handler_t::replace);
  return r;
}

http::Response error(int status, const std::string& why) { return json(status, {{"error", why}}); }

http::Response refused(const Refusal& refusal) {
  http::Response r = error(refusal.status, refusal.why);
  if (refusal.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"proxlb dashboard\"");
  return r;
}

const DashboardAsset* find_asset(std::string_view name) {
  // An exact match against the embedded names: no file system, so no path
  // ("../", "%2e%2e", NUL) can reach anything else.
  for (const auto& asset : dashboard_assets()) {
    if (asset.name == name) return &asset;
  }
  return nullptr;
}

http::Response serve_asset(const http::Request& request, std::string_view name) {
  const DashboardAsset* asset = find_asset(name);
  if (!asset) return error(404, "no such file in the dashboard");
  http::Response r;
  // index.html is asked again each time (it names the other files); the
  // others by ETag after a short while.
  const char* cache = name == "index.html" ? "no-cache" : "max-age=300";
  r.headers = {{"ETag", std::string(asset->etag)}, {"Cache-Control", cache}};
  if (request.header("if-none-match") == asset->etag) {
    r.status = 304;
    return r;
  }
  r.headers.emplace_back("Content-Type", std::string(asset->content_type));
  r.body = std::string(asset->bytes);
  return r;
}

// A cluster's name: its entry in clusters:, or PVE's name of the one
// cluster once a round read it.
std::string cluster_name(const StatusBoard& board) {
  std::string name = board.name();
  return name.empty() ? "default" : name;
}

std::string query_param(const http::Request& request, const std::string& name) {
  for (auto& [key, value] : http::parse_urlencoded(request.query)) {
    if (key == name) return value;
  }
  return {};
}

core::Json clusters_json(const DashboardState& s) {
  core::Json list = core::Json::array();
  for (const auto& c : s.clusters) list.push_back({{"name", cluster_name(c.board)}});
  return {{"clusters", list}};
}

// The cluster a request is about: ?cluster=NAME, or the first; null for an
// unknown name.
const DashboardCluster* cluster_of(const http::Request& request, const DashboardState& s) {
  const std::string asked = query_param(request, "cluster");
  if (asked.empty()) return s.clusters.empty() ? nullptr : &s.clusters.front();
  for (const auto& c : s.clusters)
    if (cluster_name(c.board) == asked) return &c;
  return nullptr;
}

http::Response overview(const DashboardState& s, const DashboardCluster& c) {
  const double now = s.now_unix();
  auto cluster = c.board.last_cluster();
  return json(200, {{"name", cluster_name(c.board)},
                    {"status", c.board.status_json(now)},
                    {"cluster", cluster ? cluster->json : core::Json(nullptr)},
                    {"cluster_time", cluster ? core::Json(cluster->time) : core::Json(nullptr)},
                    {"history", c.history.json()},
                    {"actions", s.auth.actions_enabled()}});
}

http::Response plan(const DashboardCluster& c) {
  auto plan = c.board.last_plan();
  return json(200, {{"plan", plan ? plan->json : core::Json(nullptr)},
                    {"time", plan ? core::Json(plan->time) : core::Json(nullptr)}});
}

// The audit log's records of the cluster; lines=N counts the whole log's
// tail, as /audit does.
http::Response audit(const http::Request& request, const DashboardState& s, const DashboardCluster& c) {
  if (!s.audit_tail) return json(200, {{"records", core::Json::array()}, {"audit_log", false}});
  size_t lines = kAuditLinesDefault;
  if (const std::string asked = query_param(request, "lines"); !asked.empty()) {
    const auto [end, ec] = std::from_chars(asked.data(), asked.data() + asked.size(), lines);
    if (ec != std::errc() || end != asked.data() + asked.size() || lines == 0 || lines > kMaxAuditLines) {
      return error(400, "lines must be a number from 1 to " + std::to_string(kMaxAuditLines));
    }
  }
  auto tail = s.audit_tail(lines);
  if (!tail) return error(500, "audit log: " + tail.error().to_string());
  core::Json records = core::Json::array();
  const std::string name = cluster_name(c.board);
  for (const auto& line : *tail) {
    auto record = core::Json::parse(line, nullptr, false);
    if (record.is_object() && (s.clusters.size() == 1 || record.value("cluster", std::string()) == name))
      records.push_back(std::move(record));
  }
  return json(200, {{"records", records}, {"audit_log", true}});
}

template <class T>
core::Result<T> number(const std::string& name, const std::string& text, T low, T high) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !(value >= low && value <= high)) {
    return core::Error(core::ErrorCategory::Usage, name + " must be a number from " + fmt::format("{}", low) +
                                                       " to " + fmt::format("{}", high));
  }
  return value;
}

http::Response capacity(const http::Request& request, const DashboardCluster& c) {
  if (!c.capacity) return error(404, "the capacity view is not offered by this daemon");
  auto command = capacity_query(request.query);
  if (!command) return error(400, command.error().to_string());
  auto view = c.capacity(*command);
  if (!view) {
    const auto category = view.error().category();
    const bool bad_input = category == core::ErrorCategory::Usage || category == core::ErrorCategory::NotFound;
    return error(bad_input ? 400 : category == core::ErrorCategory::Conflict ? 409 : 502, view.error().to_string());
  }
  return json(200, *view);
}

http::Response events(const http::Request& request, const DashboardState& s) {
  uint64_t after = 0;
  // A reconnecting EventSource says where it stopped.
  if (const std::string& last = request.header("last-event-id"); !last.empty()) {
    const auto [end, ec] = std::from_chars(last.data(), last.data() + last.size(), after);
    if (ec != std::errc() || end != last.data() + last.size()) after = 0;
  }
  http::Response r;
  r.headers = {{"Content-Type", http::kEventStreamType}, {"Cache-Control", "no-store"}, {"X-Accel-Buffering", "no"}};
  r.stream = std::make_shared<EventStream>(s.events, after, s.now_monotonic, s.heartbeat_seconds);
  return r;
}

http::Response session(const http::Request& request, const DashboardState& s) {
  auto csrf = s.auth.session_csrf(request, s.now_unix());
  return json(200, {{"actions", s.auth.actions_enabled()},
                    {"logged_in", csrf.has_value()},
                    {"csrf_token", csrf ? core::Json(*csrf) : core::Json(nullptr)}});
}

http::Response login(const http::Request& request, DashboardState& s) {
  auto body = core::Json::parse(request.body, nullptr, false);
  if (!body.is_object() || !body.contains("token") || !body["token"].is_string()) {
    return error(400, "send {\"token\": \"...\"} as JSON");
  }
  auto done = s.auth.login(request, body["token"].get<std::string>(), s.now_unix());
  if (!done) return error(done.error().http_status(), done.error().message());
  http::Response r = json(200, {{"csrf_token", done->csrf_token}});
  r.headers.emplace_back("Set-Cookie", done->set_cookie);
  return r;
}

http::Response action(const http::Request& request, DashboardState& s, std::string_view what) {
  const DashboardCluster* c = cluster_of(request, s);
  if (!c) return error(404, "unknown cluster; /dashboard/api/clusters lists them");
  RoundRequest asked = RoundRequest::None;
  if (what == "plan") asked = RoundRequest::Plan;
  else if (what == "balance") asked = RoundRequest::Balance;
  else return error(404, "no such action (plan, balance)");
  if (auto refusal = s.auth.authorize_action(request, s.now_unix())) return refused(*refusal);
  const core::Json status = c->board.status_json(s.now_unix());
  if (status["leader"].is_boolean() && !status["leader"].get<bool>()) {
    const auto& who = status["leadership"];
    return error(409, "this daemon does not act: " + (who.is_string() ? who.get<std::string>() : "another daemon leads"));
  }
  if (!c->request_round || !c->request_round(asked)) {
    return error(409, "a round is already asked for; it runs as soon as the loop is free");
  }
  return json(202, {{"accepted", std::string(what)},
                    {"message", asked == RoundRequest::Plan ? "a planning round (no migration) starts now"
                                                            : "a balancing round starts now"}});
}

http::Response api(const http::Request& request, DashboardState& s, std::string_view route) {
  const bool post = request.method == "POST";
  if (post) {
    if (route == "login") return login(request, s);
    if (route == "logout") {
      if (auto refusal = s.auth.authorize_action(request, s.now_unix())) return refused(*refusal);
      s.auth.logout(request);
      http::Response r = json(200, {{"logged_out", true}});
      r.headers.emplace_back("Set-Cookie", std::string(kSessionCookie) + "=; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=0");
      return r;
    }
    if (core::starts_with(route, "actions/")) return action(request, s, route.substr(8));
  }
  const bool get = request.method == "GET";
  const bool known_get = route == "clusters" || route == "overview" || route == "plan" || route == "audit" ||
                         route == "events" || route == "session" || route == "capacity";
  if (known_get && !get) {
    http::Response r = error(405, "use GET");
    r.headers.emplace_back("Allow", "GET");
    return r;
  }
  if (!known_get) {
    if (!post && (route == "login" || route == "logout" || core::starts_with(route, "actions/"))) {
      http::Response r = error(405, "use POST");
      r.headers.emplace_back("Allow", "POST");
      return r;
    }
    return error(404, "no such API");
  }
  if (route == "clusters") return json(200, clusters_json(s));
  if (route == "session") return session(request, s);
  if (route == "events") return events(request, s);
  const DashboardCluster* c = cluster_of(request, s);
  if (!c) return error(404, "unknown cluster; /dashboard/api/clusters lists them");
  if (route == "overview") return overview(s, *c);
  if (route == "plan") return plan(*c);
  if (route == "audit") return audit(request, s, *c);
  return capacity(request, *c);
}

http::Response route(const http::Request& request, DashboardState& s) {
  if (auto refusal = s.auth.check_host(request)) return refused(*refusal);
  const std::string& path = request.path;
  if (path == "/" || path == "/dashboard") {
    http::Response r{.status = 302};
    r.headers = {{"Location", "/dashboard/"}};
    return r;
  }
  if (core::starts_with(path, kApi)) return api(request, s, std::string_view(path).substr(kApi.size()));
  if (!core::starts_with(path, kPrefix)) return error(404, "not found; the dashboard is at /dashboard/");
  if (request.method != "GET") {
    http::Response r = error(405, "use GET");
    r.headers.emplace_back("Allow", "GET");
    return r;
  }
  std::string_view name = std::string_view(path).substr(kPrefix.size());
  return serve_asset(request, name.empty() ? "index.html" : name);
}

}  // namespace

EventStream::EventStream(const EventLog& log, uint64_t after, std::function<double()> now_monotonic,
                         double heartbeat_seconds)
    : log_(log), cursor_(after), now_(std::move(now_monotonic)), heartbeat_(heartbeat_seconds), last_sent_(now_()) {}

std::optional<std::string> EventStream::poll() {
  std::string out;
  if (!started_) {
    started_ = true;
    out = "retry: 2000\n\n";  // reconnect soon after a daemon restart
  }
  bool missed = false;
  for (const auto& e : log_.since(cursor_, missed)) {
    if (missed) {
      out += http::sse_event("reset", "{}");
      missed = false;
    }
    out += http::sse_event(e.event, e.data, std::to_string(e.id));
    cursor_ = e.id;
  }
  const double now = now_();
  if (out.empty() && now - last_sent_ >= heartbeat_) out = http::sse_comment("keep-alive");
  if (!out.empty()) last_sent_ = now;
  return out;
}

http::Response serve_dashboard(const http::Request& request, DashboardState& state) {
  http::Response r = route(request, state);
  secure(r);
  return r;
}

void DashboardEventSink::publish(const std::string& event, const std::string& cluster, const core::Json& fields) {
  core::Json data = fields;
  data["cluster"] = cluster;
  log_.append(event, data);
  if (next_) next_->publish(event, cluster, fields);
}

core::Result<balance::CapacityCommand> capacity_query(const std::string& query) {
  balance::CapacityCommand c;
  for (const auto& [key, value] : http::parse_urlencoded(query)) {
    if (key == "cluster") continue;
    if (key == "timeframe") {
      if (value != "week" && value != "month" && value != "year") {
        return core::Error(core::ErrorCategory::Usage, "timeframe must be week, month or year");
      }
      c.timeframe = value;
    } else if (key == "threshold") {
      PVEKIT_ASSIGN(c.threshold, number<double>(key, value, 1, 100));
    } else if (key == "failures") {
      PVEKIT_ASSIGN(c.failures, number<int>(key, value, 1, 16));
    } else if (key == "add_guests") {
      PVEKIT_ASSIGN(c.what_if.add_guests, number<int>(key, value, 0, 1000));
    } else if (key == "guest_cores") {
      PVEKIT_ASSIGN(c.what_if.guest_cores, number<int>(key, value, 1, 1024));
    } else if (key == "guest_memory") {
      auto bytes = core::parse_size(value);
      if (!bytes || *bytes == 0 || *bytes > (uint64_t{64} << 40)) {
        return core::Error(core::ErrorCategory::Usage, "guest_memory must be a size like 4G, above 0 and at most 64T");
      }
      c.what_if.guest_memory = *bytes;
    } else if (key == "remove_node" || key == "add_node_like") {
      if (value.empty() || value.size() > 64) {
        return core::Error(core::ErrorCategory::Usage, key + " must be a node name");
      }
      (key == "remove_node" ? c.what_if.remove_nodes : c.what_if.add_node_like).push_back(value);
    } else {
      return core::Error(core::ErrorCategory::Usage, "unknown parameter; capacity takes timeframe, threshold, "
                                                     "failures, add_guests, guest_memory, guest_cores, remove_node, "
                                                     "add_node_like");
    }
  }
  if (c.what_if.remove_nodes.size() + c.what_if.add_node_like.size() > 16) {
    return core::Error(core::ErrorCategory::Usage, "at most 16 nodes removed or added");
  }
  return c;
}

core::Json capacity_view(const balance::CapacityReport& report, double days, size_t points) {
  core::Json view = balance::capacity_json(report);
  core::Json charts = core::Json::array();
  for (const auto& scope : report.scopes) {
    if (!scope.cluster) continue;
    for (const auto& r : scope.resources) {
      if (!r.forecast || r.capacity <= 0) continue;
      core::Json history = core::Json::array();
      const size_t step = std::max<size_t>(1, r.history.size() / std::max<size_t>(1, points));
      for (size_t i = 0; i < r.history.size(); i += step) {
        history.push_back({r.history[i].time, r.history[i].value / r.capacity});
      }
      core::Json ahead = core::Json::array();
      const auto& f = *r.forecast;
      if (f.verdict != balance::TrendVerdict::TooShort) {
        const size_t n = std::max<size_t>(2, points / 4);
        for (size_t i = 0; i <= n; ++i) {
          const double t = f.now + days * 86400 * static_cast<double>(i) / static_cast<double>(n);
          ahead.push_back({t, f.fitted(t), f.fitted(t) - f.band(t), f.fitted(t) + f.band(t)});
        }
      }
      charts.push_back({{"resource", std::string(balance::to_string(r.resource))},
                        {"threshold", report.threshold},
                        {"history", history},
                        {"forecast", ahead}});
    }
  }
  view["charts"] = charts;
  return view;
}

RoundPoint round_point(const core::Result<RoundReport>& round, double now_unix) {
  RoundPoint p{.time = now_unix};
  if (!round) {
    p.verdict = "failed";
    p.ok = false;
    return p;
  }
  p.verdict = std::string(to_string(round->verdict));
  p.spread_before = round->spread_before;
  p.spread_after = round->spread_after;
  if (round->cluster.is_object()) p.imbalance = round->cluster.value("imbalance", 0.0);
  p.planned = round->planned;
  p.done = round->done;
  p.failed = round->failed;
  return p;
}

}  // namespace pvekit::daemon
