#include "daemon/endpoints.h"

#include <gtest/gtest.h>

namespace pvekit::daemon {
namespace {

struct Fixture {
  MetricsRegistry metrics;
  StatusBoard board;
  double heartbeat_age = 1;
  double now = 1'000'000;
  EndpointState state{.metrics = metrics,
                      .boards = {&board},
                      .heartbeat_age = [this] { return heartbeat_age; },
                      .now_unix = [this] { return now; }};
  http::Response get(const std::string& path, const std::string& method = "GET") {
    http::Request r;
    r.method = method;
    r.target = r.path = path;
    return serve_endpoint(r, state);
  }
  http::Response request(const std::string& path, const std::string& query = "",
                         const std::string& authorization = "") {
    http::Request r;
    r.method = "GET";
    r.path = path;
    r.query = query;
    r.target = query.empty() ? path : path + "?" + query;
    if (!authorization.empty()) r.headers["authorization"] = authorization;
    return serve_endpoint(r, state);
  }
  // A round that read the cluster and planned.
  void planned_round() {
    RoundReport round{.verdict = RoundVerdict::Executed, .summary = "balanced: 1 of 1 migration(s) done"};
    round.plan = {{"moves", core::Json::array({{{"vmid", 104}}})}};
    round.plan_text = "1 migration\n";
    round.cluster = {{"nodes", core::Json::array()}};
    round.cluster_text = "pve1 [####      ]\n";
    round.plan_id = "20261207T064852.123Z-0000abcd";
    round.leader = true;
    round.leadership = "the only daemon (no leader election)";
    round.gate = "0 of 3 rounds";
    board.record(round, now);
  }
};

std::string header(const http::Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

TEST(Endpoints, MetricsInPrometheusTextFormat) {
  Fixture f;
  ASSERT_TRUE(f.metrics.declare("proxlb_leader", MetricType::Gauge, "1 when acting.").ok());
  ASSERT_TRUE(f.metrics.set("proxlb_leader", {}, 1).ok());
  auto r = f.get("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(header(r, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body.find("proxlb_leader 1\n"), std::string::npos);
}

TEST(Endpoints, HealthzFailsWhenTheLoopStalls) {
  Fixture f;
  EXPECT_EQ(f.get("/healthz").status, 200);
  f.heartbeat_age = 200;
  auto r = f.get("/healthz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "stalled: the loop has not moved for 200 s\n");
}

TEST(Endpoints, ReadyzFollowsTheRounds) {
  Fixture f;
  f.board.started("every 60 s", 60, f.now);
  auto r = f.get("/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "not ready: no round has run yet\n");
  f.board.record(core::Error(core::ErrorCategory::Transport, "connect to pve1: refused"), f.now);
  EXPECT_EQ(f.get("/readyz").body, "not ready: the last round failed: connect to pve1: refused\n");
  f.board.record(RoundReport{.verdict = RoundVerdict::Balanced, .summary = "balanced"}, f.now);
  EXPECT_EQ(f.get("/readyz").status, 200);
  f.now += 3 * 60 + 61;  // three periods and a minute without a round
  r = f.get("/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("the last round ended 241 s ago; rounds are every 60 s"), std::string::npos) << r.body;
}

TEST(Endpoints, StatusIsJson) {
  Fixture f;
  f.board.started("every 12 hours", 43200, f.now - 5);
  f.board.record(RoundReport{.verdict = RoundVerdict::Holding, .summary = "needs balancing", .spread_before = 12.5},
                 f.now);
  auto r = f.get("/status");
  EXPECT_EQ(header(r, "Content-Type"), "application/json");
  auto j = core::Json::parse(r.body);
  EXPECT_EQ(j["schedule"], "every 12 hours");
  EXPECT_EQ(j["rounds"], 1);
  EXPECT_EQ(j["last_round"]["verdict"], "holding");
  EXPECT_EQ(j["last_round"]["spread_before"], 12.5);
  EXPECT_TRUE(j["last_error"].is_null());
  EXPECT_EQ(j["uptime_seconds"], 5);
}

TEST(Endpoints, UnknownPathsAndMethods) {
  Fixture f;
  EXPECT_EQ(f.get("/metrics/../etc/passwd").status, 404);
  EXPECT_EQ(f.get("/").status, 404);
  auto r = f.get("/metrics", "POST");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header(r, "Allow"), "GET, HEAD");
}

TEST(Endpoints, ListenAddresses) {
  EXPECT_EQ(*parse_listen("127.0.0.1:9837"), (std::pair<std::string, int>{"127.0.0.1", 9837}));
  EXPECT_EQ(*parse_listen("[::1]:0"), (std::pair<std::string, int>{"::1", 0}));
  EXPECT_EQ(*parse_listen("0.0.0.0:80"), (std::pair<std::string, int>{"0.0.0.0", 80}));
  for (const char* bad : {"9837", ":9837", "host:", "host:70000", "[::1]9837", "host:x"}) {
    auto r = parse_listen(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().to_string().find("service.listen"), std::string::npos);
  }
}

TEST(StatusApi, TheSocketServesStatusClusterPlanAndAudit) {
  Fixture f;
  f.state.trusted = true;
  f.state.audit_tail = [](size_t lines) -> core::Result<std::vector<std::string>> {
    std::vector<std::string> all = {R"({"vmid":101})", "{torn", R"({"vmid":102})"};
    return std::vector<std::string>(all.end() - static_cast<std::ptrdiff_t>(std::min(lines, all.size())), all.end());
  };
  EXPECT_EQ(f.request("/plan").status, 404);  // no round yet
  f.board.started("every 60 s", 60, f.now);
  f.planned_round();
  f.board.scheduled(f.now + 60);
  auto status = core::Json::parse(f.request("/status").body);
  EXPECT_EQ(status["leader"], true);
  EXPECT_EQ(status["gate"], "0 of 3 rounds");
  EXPECT_EQ(status["pve_crs_rebalancing"], false);
  EXPECT_EQ(status["next_round_time"], f.now + 60);
  EXPECT_EQ(status["last_round"]["plan_id"], "20261207T064852.123Z-0000abcd");
  EXPECT_EQ(status["last_round"].count("plan"), 0u);  // the plan is /plan's, not repeated here
  EXPECT_EQ(core::Json::parse(f.request("/plan").body)["moves"][0]["vmid"], 104);
  EXPECT_EQ(f.request("/plan", "format=text").body, "1 migration\n");
  EXPECT_EQ(f.request("/cluster", "format=text").body, "pve1 [####      ]\n");
  auto audit = core::Json::parse(f.request("/audit", "lines=2").body);
  ASSERT_EQ(audit.size(), 1u);  // the torn line is skipped
  EXPECT_EQ(audit[0]["vmid"], 102);
}

TEST(StatusApi, HostileQueriesAndPaths) {
  Fixture f;
  f.state.trusted = true;
  f.state.audit_tail = [](size_t) -> core::Result<std::vector<std::string>> { return std::vector<std::string>{}; };
  for (const char* path : {"/plan/../status", "/status/", "/audit/../../etc/shadow", "//status", "/status%2f..",
                           "/PLAN"}) {
    EXPECT_EQ(f.request(path).status, 404) << path;
  }
  for (const char* query : {"lines=0", "lines=1001", "lines=-1", "lines=1e9", "lines=99999999999999999999",
                            "lines=", "format=html", "path=/etc/shadow"}) {
    EXPECT_EQ(f.request("/audit", query).status, 400) << query;
  }
  EXPECT_EQ(f.request("/audit", "lines=1000").status, 200);
}

TEST(StatusApi, OverTcpTheTokenIsRequired) {
  Fixture f;
  f.state.token = "s3cret-token-0123456789";
  f.planned_round();
  for (const char* path : {"/status", "/plan", "/cluster", "/audit"}) {
    auto none = f.request(path);
    EXPECT_EQ(none.status, 401) << path;
    EXPECT_EQ(header(none, "WWW-Authenticate"), "Bearer realm=\"proxlb\"");
    EXPECT_EQ(none.body.find("s3cret"), std::string::npos);
    EXPECT_EQ(f.request(path, "", "Bearer s3cret-token-0123456788").status, 401) << path;
    EXPECT_EQ(f.request(path, "", "Bearer s3cret-token-01234567890").status, 401) << path;
    EXPECT_EQ(f.request(path, "", "bearer s3cret-token-0123456789").status, 401) << path;
    EXPECT_EQ(f.request(path, "", "s3cret-token-0123456789").status, 401) << path;
  }
  EXPECT_EQ(f.request("/status", "", "Bearer s3cret-token-0123456789").status, 200);
  EXPECT_EQ(f.request("/plan", "", "Bearer s3cret-token-0123456789").status, 200);
  // Probes and Prometheus need no token.
  EXPECT_EQ(f.request("/metrics").status, 200);
  EXPECT_EQ(f.request("/healthz").status, 200);
}

TEST(StatusApi, OverTcpWithoutATokenOnlyStatusIsServed) {
  Fixture f;
  f.planned_round();
  EXPECT_EQ(f.request("/status").status, 200);
  EXPECT_EQ(f.request("/plan").status, 403);
  EXPECT_EQ(f.request("/audit").status, 403);
  EXPECT_EQ(f.request("/cluster").status, 403);
}

// Two clusters from one daemon: /clusters lists both, the per-cluster views
// need ?cluster=NAME, and one failing cluster is named by /readyz.
struct TwoClusters : Fixture {
  StatusBoard lab{"lab"}, prod{"prod"};
  TwoClusters() {
    state.boards = {&lab, &prod};
    state.trusted = true;
    for (auto* b : {&lab, &prod}) b->started("every 60 s", 60, now);
    RoundReport round{.verdict = RoundVerdict::Balanced, .summary = "balanced: spread 1.0 points"};
    round.plan = {{"moves", core::Json::array()}};
    round.plan_text = "no migration\n";
    round.cluster = {{"name", "lab"}};
    round.cluster_text = "lab\n";
    round.leader = true;
    lab.record(round, now);
    prod.record(core::Error(core::ErrorCategory::Transport, "connect to pve9: refused"), now);
  }
};

TEST(Endpoints, ClustersListsEveryClusterWithItsState) {
  TwoClusters f;
  auto r = f.get("/clusters");
  ASSERT_EQ(r.status, 200);
  auto list = core::Json::parse(r.body);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["name"], "lab");
  EXPECT_EQ(list[0]["ready"], true);
  EXPECT_EQ(list[0]["verdict"], "balanced");
  EXPECT_EQ(list[0]["leader"], true);
  EXPECT_EQ(list[1]["name"], "prod");
  EXPECT_EQ(list[1]["ready"], false);
  EXPECT_EQ(list[1]["last_error"], "connect to pve9: refused");
  EXPECT_EQ(list[1]["verdict"], nullptr);
}

TEST(Endpoints, SeveralClustersNeedTheClusterParameter) {
  TwoClusters f;
  auto r = f.request("/status");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "2 clusters (lab, prod): add ?cluster=NAME\n");
  r = f.request("/status", "cluster=lab");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(core::Json::parse(r.body)["cluster"], "lab");
  r = f.request("/plan", "cluster=lab&format=text");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "no migration\n");
  EXPECT_EQ(f.request("/cluster", "cluster=prod").status, 404);  // no round read it yet
  EXPECT_EQ(f.request("/plan").status, 400);
}

TEST(Endpoints, HostileClusterNamesAreNotFoundAndNotEchoed) {
  TwoClusters f;
  const std::vector<std::string> queries = {"cluster=",          "cluster=%3Cscript%3E", "cluster=lab%00",
                                            "cluster=..%2F..%2Fetc", "cluster=" + std::string(5000, 'x'),
                                            "cluster=lab&cluster=nope"};
  for (const auto& query : queries) {
    auto r = f.request("/status", query);
    EXPECT_EQ(r.status, 404) << query;
    EXPECT_EQ(r.body, "no such cluster (lab, prod)\n") << query;
  }
}

TEST(Endpoints, ReadyzNamesTheClusterThatIsNotReady) {
  TwoClusters f;
  auto r = f.get("/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "not ready: cluster prod: the last round failed: connect to pve9: refused\n");
  http::Request one;
  one.method = "GET";
  one.path = "/readyz";
  one.query = "cluster=lab";
  EXPECT_EQ(serve_endpoint(one, f.state).status, 200);
  one.query = "cluster=nope";
  EXPECT_EQ(serve_endpoint(one, f.state).status, 404);
  one.query = "format=text";
  EXPECT_EQ(serve_endpoint(one, f.state).status, 400);
}

TEST(Endpoints, AuditFiltersByCluster) {
  TwoClusters f;
  f.state.audit_tail = [](size_t) -> core::Result<std::vector<std::string>> {
    return std::vector<std::string>{R"({"vmid":1,"cluster":"lab"})", R"({"vmid":2,"cluster":"prod"})", "[1]"};
  };
  auto r = f.request("/audit", "cluster=prod");
  ASSERT_EQ(r.status, 200);
  auto records = core::Json::parse(r.body);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["vmid"], 2);
  EXPECT_EQ(core::Json::parse(f.request("/audit").body).size(), 3u);
  EXPECT_EQ(f.request("/audit", "cluster=nope").status, 404);
}

TEST(Endpoints, ClustersIsServedOverTcpWithoutTokenLikeStatus) {
  TwoClusters f;
  f.state.trusted = false;
  EXPECT_EQ(f.request("/clusters").status, 200);
  EXPECT_EQ(f.request("/plan", "cluster=lab").status, 403);
}

}  // namespace
}  // namespace pvekit::daemon
