// The dashboard's handler, auth and memory without sockets: routes, the
// security headers, assets, actions with and without token and CSRF,
// hostile input (cross-site requests, DNS rebinding, path traversal,
// unknown clusters), the progress stream and the history ring.
#include "daemon/dashboard.h"

#include <gtest/gtest.h>

#include "daemon/dashboard_auth.h"
#include "daemon/dashboard_history.h"

namespace pvekit::daemon {
namespace {

constexpr const char* kToken = "0123456789abcdef-token";

std::string header(const http::Response& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return {};
}

struct Fixture {
  StatusBoard board;
  RoundHistory history{10};
  EventLog events{8};
  DashboardAuth auth{DashboardAuthOptions{.token = kToken}};
  double now = 1'000'000;
  double mono = 50;
  std::vector<RoundRequest> asked;
  bool loop_busy = false;
  DashboardState state{.clusters = {{.board = board,
                                     .history = history,
                                     .request_round =
                                         [this](RoundRequest r) {
                                           if (loop_busy) return false;
                                           asked.push_back(r);
                                           return true;
                                         },
                                     .capacity = {}}},
                       .events = events,
                       .auth = auth,
                       .now_unix = [this] { return now; },
                       .now_monotonic = [this] { return mono; }};

  http::Request request(const std::string& method, const std::string& target,
                        std::map<std::string, std::string> headers = {}, std::string body = "") {
    http::Request r;
    r.method = method;
    r.target = target;
    const size_t q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = target.substr(q + 1);
    r.headers = std::move(headers);
    r.headers.emplace("host", "127.0.0.1:8190");
    r.body = std::move(body);
    return r;
  }
  http::Response serve(const http::Request& r) { return serve_dashboard(r, state); }
  http::Response get(const std::string& target, std::map<std::string, std::string> headers = {}) {
    return serve(request("GET", target, std::move(headers)));
  }
  http::Response post(const std::string& target, std::map<std::string, std::string> headers = {},
                      std::string body = "{}") {
    return serve(request("POST", target, std::move(headers), std::move(body)));
  }
  // Logs in as the page does; returns the cookie and the CSRF token.
  std::pair<std::string, std::string> login() {
    auto r = post("/dashboard/api/login", {{"origin", "http://127.0.0.1:8190"}, {"sec-fetch-site", "same-origin"}},
                  std::string("{\"token\":\"") + kToken + "\"}");
    EXPECT_EQ(r.status, 200) << r.body;
    const std::string cookie = header(r, "Set-Cookie");
    return {cookie.substr(0, cookie.find(';')), core::Json::parse(r.body)["csrf_token"].get<std::string>()};
  }
};

TEST(DashboardTest, ThePageIsServedWithAStrictContentSecurityPolicy) {
  Fixture f;
  auto r = f.get("/dashboard/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(header(r, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("<script type=\"module\" src=\"app.js\"></script>"), std::string::npos);
  const std::string csp = header(r, "Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("script-src 'self';"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(header(r, "X-Frame-Options"), "DENY");
  EXPECT_EQ(f.get("/").status, 302);
}

TEST(DashboardTest, TheEmbeddedPageHasNoInlineScriptOrStyle) {
  for (const auto& asset : dashboard_assets()) {
    if (asset.name != "index.html") continue;
    const std::string html(asset.bytes);
    EXPECT_EQ(html.find("<script>"), std::string::npos);
    EXPECT_EQ(html.find("style=\""), std::string::npos);
    EXPECT_EQ(html.find(" on"), std::string::npos) << "no inline event handlers";
  }
}

TEST(DashboardTest, AssetsHaveTheirTypeAndAnETagThatAnswers304) {
  Fixture f;
  auto js = f.get("/dashboard/uPlot.esm.js");
  ASSERT_EQ(js.status, 200);
  EXPECT_EQ(header(js, "Content-Type"), "text/javascript; charset=utf-8");
  const std::string etag = header(js, "ETag");
  ASSERT_EQ(etag.size(), 34u);
  EXPECT_EQ(header(f.get("/dashboard/style.css"), "Content-Type"), "text/css; charset=utf-8");
  auto again = f.get("/dashboard/uPlot.esm.js", {{"if-none-match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
}

TEST(DashboardTest, PathTraversalReachesNoFile) {
  Fixture f;
  for (const char* path : {"/dashboard/../../etc/passwd", "/dashboard/%2e%2e/%2e%2e/etc/passwd",
                           "/dashboard//etc/passwd", "/dashboard/./app.js", "/dashboard/app.js%00.css",
                           "/dashboard/web/app.js", "/etc/passwd"}) {
    EXPECT_EQ(f.get(path).status, 404) << path;
  }
}

TEST(DashboardTest, ADnsRebindingHostIsRefused) {
  Fixture f;
  auto r = f.request("GET", "/dashboard/api/overview");
  r.headers["host"] = "evil.example:8190";
  EXPECT_EQ(f.serve(r).status, 421);
  r.headers["host"] = "127.evil.example";
  EXPECT_EQ(f.serve(r).status, 421);
  for (const char* host : {"localhost:8190", "[::1]:8190", "127.0.0.1"}) {
    r.headers["host"] = host;
    EXPECT_EQ(f.serve(r).status, 200) << host;
  }
}

TEST(DashboardTest, ClustersListOneAndUnknownClusterNamesAre404) {
  Fixture f;
  auto clusters = core::Json::parse(f.get("/dashboard/api/clusters").body);
  ASSERT_EQ(clusters["clusters"].size(), 1u);
  EXPECT_EQ(clusters["clusters"][0]["name"], "default");
  f.board.named("demo");  // PVE's name, once a round read it
  EXPECT_EQ(f.get("/dashboard/api/overview?cluster=demo").status, 200);
  auto r = f.get("/dashboard/api/overview?cluster=%3Cscript%3E");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body.find("<script>"), std::string::npos) << "the name is not echoed";
  EXPECT_EQ(f.get("/dashboard/api/plan?cluster=other").status, 404);
}

// With clusters:, each route is about the cluster it names (the first
// without a name), an action asks that cluster's loop, and the audit view
// shows that cluster's lines only.
TEST(DashboardTest, SeveralClustersAreServedByName) {
  Fixture f;
  f.board.named("alpha");
  StatusBoard beta_board("beta");
  RoundHistory beta_history{10};
  std::vector<RoundRequest> beta_asked;
  f.state.clusters.push_back({.board = beta_board,
                              .history = beta_history,
                              .request_round = [&](RoundRequest r) {
                                beta_asked.push_back(r);
                                return true;
                              },
                              .capacity = {}});
  f.state.audit_tail = [](size_t) -> core::Result<std::vector<std::string>> {
    return std::vector<std::string>{R"({"cluster":"alpha","vmid":100})", R"({"cluster":"beta","vmid":200})"};
  };
  auto clusters = core::Json::parse(f.get("/dashboard/api/clusters").body)["clusters"];
  ASSERT_EQ(clusters.size(), 2u);
  EXPECT_EQ(clusters[1]["name"], "beta");
  EXPECT_EQ(core::Json::parse(f.get("/dashboard/api/overview").body)["name"], "alpha");
  EXPECT_EQ(core::Json::parse(f.get("/dashboard/api/overview?cluster=beta").body)["name"], "beta");
  auto audit = core::Json::parse(f.get("/dashboard/api/audit?cluster=beta").body)["records"];
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0]["vmid"], 200);
  auto action = f.request("POST", "/dashboard/api/actions/balance?cluster=beta",
                          {{"authorization", std::string("Bearer ") + kToken}});
  EXPECT_EQ(serve_dashboard(action, f.state).status, 202);
  EXPECT_EQ(beta_asked, std::vector<RoundRequest>{RoundRequest::Balance});
  EXPECT_TRUE(f.asked.empty()) << "alpha's loop was not asked";
  auto unknown = f.request("POST", "/dashboard/api/actions/balance?cluster=gamma",
                           {{"authorization", std::string("Bearer ") + kToken}});
  EXPECT_EQ(serve_dashboard(unknown, f.state).status, 404);
}

TEST(DashboardTest, OverviewCarriesStatusClusterAndHistory) {
  Fixture f;
  f.history.add({.time = 1, .verdict = "balanced", .imbalance = 12.5});
  f.board.named("demo");  // as the service does with PVE's name before recording a round
  f.board.record(RoundReport{.verdict = RoundVerdict::Balanced, .summary = "balanced",
                             .cluster = {{"cluster", "demo"}, {"nodes", {{{"node", "pve1"}}}}}},
                 f.now);
  auto j = core::Json::parse(f.get("/dashboard/api/overview").body);
  EXPECT_EQ(j["name"], "demo");
  EXPECT_EQ(j["cluster"]["nodes"][0]["node"], "pve1");
  EXPECT_EQ(j["status"]["last_round"]["summary"], "balanced");
  EXPECT_EQ(j["history"][0]["imbalance"], 12.5);
  EXPECT_EQ(j["actions"], true);
}

TEST(DashboardTest, AnActionWithoutCredentialsIsRefused) {
  Fixture f;
  auto r = f.post("/dashboard/api/actions/balance");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(header(r, "WWW-Authenticate").find("Bearer"), std::string::npos);
  EXPECT_EQ(f.post("/dashboard/api/actions/balance", {{"authorization", "Bearer wrong-token-of-some-length"}}).status,
            401);
  EXPECT_TRUE(f.asked.empty());
}

TEST(DashboardTest, ABearerTokenAllowsAnAction) {
  Fixture f;
  auto r = f.post("/dashboard/api/actions/plan", {{"authorization", std::string("Bearer ") + kToken}});
  EXPECT_EQ(r.status, 202) << r.body;
  ASSERT_EQ(f.asked.size(), 1u);
  EXPECT_EQ(f.asked[0], RoundRequest::Plan);
}

TEST(DashboardTest, ASessionCookieNeedsItsCsrfToken) {
  Fixture f;
  auto [cookie, csrf] = f.login();
  EXPECT_EQ(f.post("/dashboard/api/actions/balance", {{"cookie", cookie}}).status, 403);
  EXPECT_EQ(f.post("/dashboard/api/actions/balance", {{"cookie", cookie}, {kCsrfHeader, csrf + "x"}}).status, 403);
  EXPECT_EQ(f.post("/dashboard/api/actions/balance", {{"cookie", "proxlb_session=forged"}, {kCsrfHeader, csrf}}).status,
            401);
  EXPECT_TRUE(f.asked.empty());
  auto r = f.post("/dashboard/api/actions/balance", {{"cookie", cookie}, {kCsrfHeader, csrf}});
  EXPECT_EQ(r.status, 202) << r.body;
  ASSERT_EQ(f.asked.size(), 1u);
  EXPECT_EQ(f.asked[0], RoundRequest::Balance);
  // The page learns the CSRF token again after a reload.
  auto session = core::Json::parse(f.get("/dashboard/api/session", {{"cookie", cookie}}).body);
  EXPECT_EQ(session["csrf_token"], csrf);
}

TEST(DashboardTest, TheSessionCookieIsHttpOnlyAndSameSiteStrict) {
  Fixture f;
  auto r = f.post("/dashboard/api/login", {}, std::string("{\"token\":\"") + kToken + "\"}");
  const std::string cookie = header(r, "Set-Cookie");
  EXPECT_NE(cookie.find("; HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("; SameSite=Strict"), std::string::npos);
  EXPECT_NE(cookie.find("; Path=/dashboard"), std::string::npos);
  EXPECT_EQ(r.body.find(kToken), std::string::npos);
}

TEST(DashboardTest, CrossSiteActionsAndLoginsAreRefusedEvenWithCredentials) {
  Fixture f;
  auto [cookie, csrf] = f.login();
  const std::map<std::string, std::string> good{{"cookie", cookie}, {kCsrfHeader, csrf}};
  auto with = [&](std::map<std::string, std::string> extra) {
    extra.insert(good.begin(), good.end());
    return extra;
  };
  EXPECT_EQ(f.post("/dashboard/api/actions/balance", with({{"origin", "http://evil.example"}})).status, 403);
  EXPECT_EQ(f.post("/dashboard/api/actions/balance", with({{"origin", "https://127.0.0.1:8190"}})).status, 403);
  EXPECT_EQ(f.post("/dashboard/api/actions/balance", with({{"sec-fetch-site", "cross-site"}})).status, 403);
  EXPECT_EQ(f.post("/dashboard/api/actions/balance", with({{"sec-fetch-site", "same-site"}})).status, 403);
  EXPECT_EQ(f.post("/dashboard/api/login", {{"origin", "http://evil.example"}},
                   std::string("{\"token\":\"") + kToken + "\"}").status,
            403);
  EXPECT_TRUE(f.asked.empty());
}

TEST(DashboardTest, UnderTlsTheCookieIsSecureAndTheOriginHttps) {
  DashboardAuth auth{DashboardAuthOptions{.token = kToken, .tls = true, .loopback = false}};
  http::Request login;
  login.method = "POST";
  login.headers = {{"host", "proxlb.example:8190"}, {"origin", "https://proxlb.example:8190"}};
  auto done = auth.login(login, kToken, 0);
  ASSERT_TRUE(done.ok()) << done.error().to_string();
  EXPECT_NE(done->set_cookie.find("; Secure"), std::string::npos);
  login.headers["origin"] = "http://proxlb.example:8190";
  EXPECT_FALSE(auth.login(login, kToken, 0).ok()) << "plain-HTTP origin on an HTTPS dashboard";
  EXPECT_FALSE(auth.check_host(login)) << "a remote listener takes its own host name";
}

TEST(DashboardTest, WrongLoginsAre401ThenRateLimited) {
  Fixture f;
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(f.post("/dashboard/api/login", {}, "{\"token\":\"guess\"}").status, 401);
  }
  EXPECT_EQ(f.post("/dashboard/api/login", {}, std::string("{\"token\":\"") + kToken + "\"}").status, 429);
  f.now += 61;
  EXPECT_EQ(f.post("/dashboard/api/login", {}, std::string("{\"token\":\"") + kToken + "\"}").status, 200);
  EXPECT_EQ(f.post("/dashboard/api/login", {}, "not json").status, 400);
  EXPECT_EQ(f.post("/dashboard/api/login", {}, "{\"token\":5}").status, 400);
}

TEST(DashboardTest, WithoutATokenFileActionsAreOff) {
  Fixture f;
  DashboardAuth read_only{DashboardAuthOptions{}};
  DashboardState state = f.state;
  DashboardState off{.clusters = state.clusters, .events = f.events, .auth = read_only,
                     .now_unix = state.now_unix, .now_monotonic = state.now_monotonic};
  auto action = f.request("POST", "/dashboard/api/actions/balance", {{"authorization", "Bearer "}});
  EXPECT_EQ(serve_dashboard(action, off).status, 403);
  EXPECT_EQ(serve_dashboard(f.request("POST", "/dashboard/api/login", {}, "{\"token\":\"\"}"), off).status, 403);
}

TEST(DashboardTest, AnActionOnADaemonThatDoesNotLeadSaysWhoLeads) {
  Fixture f;
  f.board.record(RoundReport{.verdict = RoundVerdict::NotLeader, .summary = "not acting",
                             .leadership = "etcd: pve2:4711 leads"},
                 f.now);
  auto r = f.post("/dashboard/api/actions/balance", {{"authorization", std::string("Bearer ") + kToken}});
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(r.body.find("pve2:4711 leads"), std::string::npos);
  EXPECT_TRUE(f.asked.empty());
}

TEST(DashboardTest, ASecondRequestWhileOneWaitsIs409) {
  Fixture f;
  f.loop_busy = true;
  EXPECT_EQ(f.post("/dashboard/api/actions/balance", {{"authorization", std::string("Bearer ") + kToken}}).status, 409);
}

TEST(DashboardTest, MethodsAndUnknownRoutes) {
  Fixture f;
  EXPECT_EQ(f.get("/dashboard/api/actions/balance").status, 405);
  EXPECT_EQ(f.post("/dashboard/api/overview").status, 405);
  EXPECT_EQ(f.get("/dashboard/api/nope").status, 404);
  EXPECT_EQ(f.post("/dashboard/api/actions/reboot", {{"authorization", std::string("Bearer ") + kToken}}).status, 404);
  EXPECT_EQ(f.get("/dashboard/api/audit?lines=0").status, 200) << "no audit log: an empty list";
}

TEST(DashboardTest, TheEventsRouteStreamsServerSentEvents) {
  Fixture f;
  auto r = f.get("/dashboard/api/events");
  EXPECT_EQ(header(r, "Content-Type"), "text/event-stream; charset=utf-8");
  ASSERT_TRUE(r.stream);
}

TEST(DashboardTest, CapacityQueriesAreCheckedByName) {
  auto c = capacity_query("cluster=demo&timeframe=week&threshold=90&failures=2&add_guests=3&guest_memory=8G"
                          "&guest_cores=4&remove_node=pve2&add_node_like=pve1&add_node_like=pve3");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->timeframe, "week");
  EXPECT_EQ(c->threshold, 90);
  EXPECT_EQ(c->failures, 2);
  EXPECT_EQ(c->what_if.add_guests, 3);
  EXPECT_EQ(c->what_if.guest_memory, 8ull << 30);
  EXPECT_EQ(c->what_if.guest_cores, 4);
  EXPECT_EQ(c->what_if.remove_nodes, std::vector<std::string>{"pve2"});
  EXPECT_EQ(c->what_if.add_node_like, (std::vector<std::string>{"pve1", "pve3"}));
  struct Case {
    const char* query;
    const char* named;
  };
  for (const Case& bad : {Case{"timeframe=decade", "timeframe"}, Case{"threshold=0", "threshold"},
                          Case{"threshold=100.5", "threshold"}, Case{"threshold=nan", "threshold"},
                          Case{"failures=-1", "failures"}, Case{"failures=1e9", "failures"},
                          Case{"add_guests=99999999999999999999", "add_guests"}, Case{"add_guests=2x", "add_guests"},
                          Case{"guest_memory=lots", "guest_memory"}, Case{"guest_memory=0", "guest_memory"},
                          Case{"guest_cores=0", "guest_cores"}, Case{"remove_node=", "remove_node"},
                          Case{"evil=1", "unknown parameter"}}) {
    auto r = capacity_query(bad.query);
    ASSERT_FALSE(r.ok()) << bad.query;
    EXPECT_EQ(r.error().category(), core::ErrorCategory::Usage);
    EXPECT_NE(r.error().to_string().find(bad.named), std::string::npos) << r.error().to_string();
  }
}

TEST(DashboardTest, TheCapacityRouteAnswersTheViewOrWhyNot) {
  Fixture f;
  EXPECT_EQ(f.get("/dashboard/api/capacity").status, 404) << "not offered";
  std::vector<balance::CapacityCommand> seen;
  f.state.clusters[0].capacity = [&](const balance::CapacityCommand& c) -> core::Result<core::Json> {
    seen.push_back(c);
    if (c.what_if.remove_nodes.empty()) return core::Json{{"threshold", 85}};
    return core::Error(core::ErrorCategory::NotFound, "node ghost does not exist");
  };
  EXPECT_EQ(f.get("/dashboard/api/capacity?add_guests=2").status, 200);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].what_if.add_guests, 2);
  EXPECT_EQ(f.get("/dashboard/api/capacity?remove_node=ghost").status, 400);
  EXPECT_EQ(f.get("/dashboard/api/capacity?add_guests=-4").status, 400);
  EXPECT_EQ(seen.size(), 2u) << "a bad query is refused before any computation";
}

TEST(DashboardTest, TheCapacityViewCarriesChartSeriesOfTheClusterForecast) {
  balance::CapacityReport report;
  report.threshold = 0.85;
  balance::ResourceStats memory{.resource = balance::CapacityResource::MemoryUsed, .capacity = 100, .now = 50};
  for (int i = 0; i < 10; ++i) memory.history.push_back({1000.0 * i, 40.0 + i});
  balance::Forecast forecast;
  forecast.verdict = balance::TrendVerdict::NoTrend;
  forecast.now = 9000;
  memory.forecast = forecast;
  report.scopes.push_back({.name = "cluster", .cluster = true, .resources = {memory}});
  report.scopes.push_back({.name = "pve1", .cluster = false, .resources = {memory}});
  auto view = capacity_view(report, 10, 8);
  ASSERT_EQ(view["charts"].size(), 1u) << "the cluster's only";
  const auto& chart = view["charts"][0];
  EXPECT_EQ(chart["resource"], "memory used");
  EXPECT_EQ(chart["history"].size(), 10u);
  EXPECT_DOUBLE_EQ(chart["history"][0][1].get<double>(), 0.4);
  ASSERT_EQ(chart["forecast"].size(), 3u);
  EXPECT_EQ(chart["forecast"][0][0], 9000);
  EXPECT_EQ(chart["forecast"][2][0], 9000 + 10 * 86400);
  EXPECT_TRUE(view.contains("failover"));
}

TEST(EventStreamTest, SendsEventsInOrderThenHeartbeatsWhenQuiet) {
  EventLog log(4);
  double mono = 0;
  log.append("migration_started", {{"vmid", 100}, {"name", "<img src=x onerror=alert(1)>"}});
  EventStream stream(log, 0, [&] { return mono; }, 15);
  auto first = stream.poll();
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, "retry: 2000\n\nevent: migration_started\nid: 1\n"
                    "data: {\"name\":\"<img src=x onerror=alert(1)>\",\"vmid\":100}\n\n");
  EXPECT_EQ(*stream.poll(), "");
  mono = 16;
  EXPECT_EQ(*stream.poll(), ": keep-alive\n\n");
  log.append("round", {{"summary", "line one\nevent: forged"}});
  EXPECT_EQ(*stream.poll(), "event: round\nid: 2\ndata: {\"summary\":\"line one\\nevent: forged\"}\n\n");
}

TEST(EventStreamTest, AReaderThatFellBehindTheRingIsToldToReset) {
  EventLog log(2);
  for (int i = 0; i < 5; ++i) log.append("e", {{"i", i}});
  EventStream stream(log, 1, [] { return 0.0; }, 15);
  const std::string out = *stream.poll();
  EXPECT_NE(out.find("event: reset\n"), std::string::npos);
  EXPECT_NE(out.find("id: 4\n"), std::string::npos);
  EXPECT_NE(out.find("id: 5\n"), std::string::npos);
  EXPECT_EQ(out.find("id: 3\n"), std::string::npos);
}

TEST(EventLogTest, KeepsTheLastEntriesAndNumbersThemInOrder) {
  EventLog log(3);
  for (int i = 0; i < 5; ++i) log.append("e", {{"i", i}});
  bool missed = false;
  auto all = log.since(0, missed);
  EXPECT_TRUE(missed);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all.front().id, 3u);
  EXPECT_EQ(all.back().id, 5u);
  EXPECT_TRUE(log.since(5, missed).empty());
  EXPECT_FALSE(missed);
  EXPECT_EQ(log.since(2, missed).size(), 3u);
  EXPECT_FALSE(missed);
  EXPECT_EQ(log.last_id(), 5u);
}

TEST(EventLogTest, InvalidUtf8FromAGuestNameIsReplacedNotThrown) {
  EventLog log(2);
  log.append("e", {{"name", std::string("bad\xff")}});
  bool missed = false;
  EXPECT_EQ(log.since(0, missed)[0].data, "{\"name\":\"bad\xEF\xBF\xBD\"}");
}

TEST(RoundHistoryTest, IsBoundedAndKeepsTheNewest) {
  RoundHistory history(3);
  for (int i = 0; i < 5; ++i) history.add({.time = static_cast<double>(i)});
  auto points = history.points();
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(points.front().time, 2);
  EXPECT_EQ(points.back().time, 4);
  EXPECT_EQ(history.json().size(), 3u);
}

TEST(RoundHistoryTest, ARoundBecomesAPoint) {
  RoundReport report{.verdict = RoundVerdict::Executed, .planned = 2, .done = 2, .spread_before = 30,
                     .spread_after = 5, .cluster = {{"imbalance", 17.5}}};
  auto p = round_point(report, 42);
  EXPECT_EQ(p.time, 42);
  EXPECT_EQ(p.verdict, "executed");
  EXPECT_EQ(p.imbalance, 17.5);
  EXPECT_EQ(p.done, 2u);
  auto failed = round_point(core::Error(core::ErrorCategory::Api, "down"), 43);
  EXPECT_FALSE(failed.ok);
  EXPECT_EQ(failed.verdict, "failed");
}

}  // namespace
}  // namespace pvekit::daemon
