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
                      .board = board,
                      .heartbeat_age = [this] { return heartbeat_age; },
                      .now_unix = [this] { return now; }};
  http::Response get(const std::string& path, const std::string& method = "GET") {
    http::Request r;
    r.method = method;
    r.target = r.path = path;
    return serve_endpoint(r, state);
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

}  // namespace
}  // namespace pvekit::daemon
