#include "pve/client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "core/clock.h"
#include "support/fake_transport.h"

namespace pvekit::pve {
namespace {

using core::ErrorCategory;
using core::Json;
using pvekit::testing::FakeTransport;
using pvekit::testing::FaultyTransport;
using pvekit::testing::form_value;
using pvekit::testing::header_value;
using pvekit::testing::pve_data;
using pvekit::testing::pve_error;
using pvekit::testing::split_url;

constexpr const char* kTokenSecret = "0b7a5f5e-1c2d-4e3f-9a8b-7c6d5e4f3a2b";
constexpr const char* kPassword = "correct-horse-battery";
constexpr const char* kTicket = "PVE:root@pam:6745A3C1::c2VjcmV0LXRpY2tldC1zaWduYXR1cmU=";
constexpr const char* kCsrf = "6745A3C1:Zm9vYmFyYmF6cXV4";

// A clock that records every sleep, so tests can check the backoff schedule.
class RecordingClock final : public core::Clock {
 public:
  double now_unix() const override { return inner_.now_unix(); }
  Duration monotonic() const override { return inner_.monotonic(); }
  void sleep_for(Duration d) override {
    sleeps.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(d));
    inner_.advance(d);
  }
  void advance(Duration d) { inner_.advance(d); }
  std::vector<std::chrono::milliseconds> sleeps;

 private:
  core::ManualClock inner_;
};

ClientOptions token_options() {
  ClientOptions o;
  o.hosts = {"pve1"};
  o.token_id = "root@pam!pvekit";
  o.token_secret = kTokenSecret;
  o.retries = 2;
  o.backoff = std::chrono::milliseconds(100);
  return o;
}

ClientOptions password_options() {
  ClientOptions o;
  o.hosts = {"pve1"};
  o.user = "root@pam";
  o.password = kPassword;
  o.retries = 2;
  o.backoff = std::chrono::milliseconds(100);
  return o;
}

struct Harness {
  explicit Harness(ClientOptions options) {
    auto c = Client::create(std::move(options), fake, clock);
    EXPECT_TRUE(c.ok()) << c.error().to_string();
    if (c.ok()) client = std::move(c).value();
  }
  FakeTransport fake;
  RecordingClock clock;
  std::unique_ptr<Client> client;
};

// ---- authentication -----------------------------------------------------------

TEST(ClientAuth, ApiTokenGoesInTheAuthorizationHeader) {
  Harness h(token_options());
  h.fake.route_data(HttpMethod::Get, "/version", {{"version", "9.1.1"}});
  ASSERT_TRUE(h.client->get("/version").ok());
  auto requests = h.fake.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(header_value(requests[0], "Authorization"),
            std::string("PVEAPIToken=root@pam!pvekit=") + kTokenSecret);
  EXPECT_EQ(header_value(requests[0], "Cookie"), "");
  EXPECT_EQ(requests[0].url, "https://pve1:8006/api2/json/version");
}

TEST(ClientAuth, ShortTokenIdIsCombinedWithUser) {
  auto o = token_options();
  o.token_id = "pvekit";
  o.user = "admin@pve";
  Harness h(o);
  h.fake.route_data(HttpMethod::Get, "/version", {{"version", "9.1.1"}});
  ASSERT_TRUE(h.client->get("/version").ok());
  EXPECT_EQ(header_value(h.fake.requests()[0], "Authorization"),
            std::string("PVEAPIToken=admin@pve!pvekit=") + kTokenSecret);
}

TEST(ClientAuth, TicketLoginIsFormEncodedAndSendsCookie) {
  Harness h(password_options());
  h.fake.route_login("root@pam", kPassword, kTicket, kCsrf);
  h.fake.route_data(HttpMethod::Get, "/nodes", Json::array());
  ASSERT_TRUE(h.client->get("/nodes").ok());
  auto requests = h.fake.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, HttpMethod::Post);
  EXPECT_EQ(split_url(requests[0].url).path, "/access/ticket");
  EXPECT_EQ(header_value(requests[0], "Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(form_value(requests[0].body, "username"), "root@pam");
  EXPECT_EQ(header_value(requests[0], "Cookie"), "");
  EXPECT_EQ(header_value(requests[1], "Cookie"), std::string("PVEAuthCookie=") + kTicket);
  // GETs do not change state: PVE does not want the CSRF token there.
  EXPECT_EQ(header_value(requests[1], "CSRFPreventionToken"), "");
}

TEST(ClientAuth, WritesCarryTheCsrfToken) {
  Harness h(password_options());
  h.fake.route_login("root@pam", kPassword, kTicket, kCsrf);
  for (auto method : {HttpMethod::Post, HttpMethod::Put, HttpMethod::Delete})
    h.fake.route_data(method, "/pools/p1", nullptr);
  ASSERT_TRUE(h.client->post("/pools/p1", Params{{"comment", "x"}}).ok());
  ASSERT_TRUE(h.client->put("/pools/p1", Params{{"comment", "y"}}).ok());
  ASSERT_TRUE(h.client->del("/pools/p1").ok());
  auto writes = h.fake.requests_to("/pools/p1");
  ASSERT_EQ(writes.size(), 3u);
  for (const auto& r : writes) {
    EXPECT_EQ(header_value(r, "CSRFPreventionToken"), kCsrf) << to_string(r.method);
    EXPECT_EQ(header_value(r, "Cookie"), std::string("PVEAuthCookie=") + kTicket);
  }
  EXPECT_EQ(writes[0].body, "comment=x");
  EXPECT_EQ(h.fake.requests_to("/access/ticket").size(), 1u) << "one login serves all requests";
}

TEST(ClientAuth, TicketIsRenewedBeforeItExpires) {
  Harness h(password_options());
  h.fake.route_login("root@pam", kPassword, kTicket, kCsrf);
  h.fake.route_data(HttpMethod::Get, "/version", {{"version", "9.1.1"}});
  ASSERT_TRUE(h.client->get("/version").ok());
  h.clock.advance(std::chrono::minutes(100));
  ASSERT_TRUE(h.client->get("/version").ok());
  EXPECT_EQ(h.fake.requests_to("/access/ticket").size(), 1u) << "still fresh after 100 min";
  h.clock.advance(std::chrono::minutes(6));
  ASSERT_TRUE(h.client->get("/version").ok());
  EXPECT_EQ(h.fake.requests_to("/access/ticket").size(), 2u) << "renewed after 106 min (< 2 h)";
}

TEST(ClientAuth, LogsInAgainOnceWhenTheTicketIsRefused) {
  Harness h(password_options());
  h.fake.route_login("root@pam", kPassword, kTicket, kCsrf);
  int calls = 0;
  h.fake.route(HttpMethod::Get, "/nodes", [&](const HttpRequest&) -> core::Result<HttpResponse> {
    return ++calls == 1 ? pve_error(401, "permission denied - invalid PVE ticket") : pve_data(Json::array());
  });
  ASSERT_TRUE(h.client->get("/nodes").ok());
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(h.fake.requests_to("/access/ticket").size(), 2u);
}

TEST(ClientAuth, PersistentUnauthorizedIsAnAuthErrorWithoutLoop) {
  Harness h(password_options());
  h.fake.route_login("root@pam", kPassword, kTicket, kCsrf);
  h.fake.route(HttpMethod::Get, "/nodes", [](const HttpRequest&) -> core::Result<HttpResponse> {
    return pve_error(401, "permission denied - invalid PVE ticket");
  });
  auto r = h.client->get("/nodes");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().category(), ErrorCategory::Auth);
  EXPECT_EQ(h.fake.requests_to("/access/ticket").size(), 2u);
  EXPECT_EQ(h.fake.requests_to("/nodes").size(), 2u);
}

TEST(ClientAuth, WrongPasswordIsAnAuthErrorNamingTheUser) {
  auto o = password_options();
  o.password = "wrong-password-123";
  Harness h(o);
  h.fake.route_login("root@pam", kPassword, kTicket, kCsrf);
  auto r = h.client->get("/nodes");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().category(), ErrorCategory::Auth);
  EXPECT_EQ(r.error().http_status(), 401);
  EXPECT_EQ(r.error().to_string(), "GET /nodes: login as root@pam: 401 authentication failure");
  EXPECT_TRUE(h.fake.requests_to("/nodes").empty());
}

TEST(ClientAuth, TokenClientNeverPostsToTicket) {
  Harness h(token_options());
  h.fake.route(HttpMethod::Get, "/nodes", [](const HttpRequest&) -> core::Result<HttpResponse> {
    return pve_error(401, "invalid token value!");
  });
  auto r = h.client->get("/nodes");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().category(), ErrorCategory::Auth);
  EXPECT_TRUE(h.fake.requests_to("/access/ticket").empty());
  EXPECT_TRUE(h.client->login().ok());
}

TEST(ClientAuth, ConcurrentRequestsShareOneLogin) {
  Harness h(password_options());
  h.fake.route_login("root@pam", kPassword, kTicket, kCsrf);
  h.fake.route_data(HttpMethod::Get, "/version", {{"version", "9.1.1"}});
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        if (!h.client->get("/version").ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(h.fake.requests_to("/access/ticket").size(), 1u);
  EXPECT_EQ(h.fake.requests_to("/version").size(), 80u);
}

// ---- fail-over and retries -------------------------------------------------------------

TEST(ClientFailover, MovesToTheNextHostAndRemembersIt) {
  auto o = token_options();
  o.hosts = {"pve1", "pve2:8007", "10.0.0.3"};
  Harness base(o);  // only for its fake: build the faulty chain by hand
  FaultyTransport faulty(base.fake);
  RecordingClock clock;
  auto client = Client::create(o, faulty, clock);
  ASSERT_TRUE(client.ok());
  base.fake.route_data(HttpMethod::Get, "/version", {{"version", "9.1.1"}});
  faulty.take_down("pve1:8006");
  ASSERT_TRUE((*client)->get("/version").ok());
  EXPECT_EQ((*client)->current_host(), "pve2:8007");
  EXPECT_TRUE(clock.sleeps.empty()) << "fail-over needs no backoff";
  ASSERT_TRUE((*client)->get("/version").ok());
  auto requests = base.fake.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(split_url(requests[1].url).host, "pve2:8007") << "the good host is remembered";
  EXPECT_EQ(faulty.failures_injected(), 1);
}

TEST(ClientFailover, PostFailsOverOnlyWhenTheRequestNeverArrived) {
  auto o = token_options();
  o.hosts = {"pve1", "pve2"};
  FakeTransport fake;
  FaultyTransport faulty(fake);
  RecordingClock clock;
  auto client = *Client::create(o, faulty, clock);
  fake.route_data(HttpMethod::Post, "/cluster/nextid", 100);
  faulty.fail_next(1, testing::connect_refused("pve1:8006"));
  EXPECT_TRUE(client->post("/cluster/nextid").ok());
  EXPECT_EQ(client->current_host(), "pve2:8006");

  // A timeout after the request went out: the first node may have acted on it.
  faulty.fail_next(1, transport_error("Timeout was reached", TransportStage::Io));
  auto r = client->post("/cluster/nextid");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().category(), ErrorCategory::Transport);
  EXPECT_EQ(fake.requests().size(), 1u) << "not resent anywhere";
}

TEST(ClientRetry, GetIsRetriedWithExponentialBackoff) {
  auto o = token_options();
  o.retries = 3;
  Harness h(o);
  for (int i = 0; i < 3; ++i) h.fake.push(pve_error(503, "service unavailable"));
  h.fake.route_data(HttpMethod::Get, "/version", {{"version", "9.1.1"}});
  ASSERT_TRUE(h.client->get("/version").ok());
  using ms = std::chrono::milliseconds;
  EXPECT_EQ(h.clock.sleeps, (std::vector<ms>{ms(100), ms(200), ms(400)}));
  EXPECT_EQ(h.fake.requests().size(), 4u);
}

TEST(ClientRetry, SingleHostRecoversAfterInjectedConnectFailures) {
  auto o = token_options();
  o.retries = 3;
  FakeTransport fake;
  FaultyTransport faulty(fake);
  RecordingClock clock;
  auto client = *Client::create(o, faulty, clock);
  fake.route_data(HttpMethod::Get, "/version", {{"version", "9.1.1"}});
  faulty.fail_next(2, testing::connect_refused("pve1:8006"));
  ASSERT_TRUE(client->get("/version").ok());
  EXPECT_EQ(faulty.failures_injected(), 2);
  EXPECT_EQ(clock.sleeps.size(), 2u);
  faulty.fail_next(10, testing::connect_refused("pve1:8006"));
  auto r = client->get("/version");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(faulty.failures_injected(), 2 + 4) << "first attempt plus 3 retries";
}

TEST(ClientRequests, PlainHttpSchemeForSimulators) {
  auto o = token_options();
  o.scheme = "http";
  o.hosts = {"127.0.0.1:18006"};
  Harness h(o);
  h.fake.route_data(HttpMethod::Get, "/version", {{"version", "9.1.1"}});
  ASSERT_TRUE(h.client->get("/version").ok());
  EXPECT_EQ(h.fake.requests()[0].url, "http://127.0.0.1:18006/api2/json/version");
}

TEST(ClientRetry, BackoffIsCappedAndAttemptsAreLimited) {
  auto o = token_options();
  o.retries = 4;
  o.backoff = std::chrono::milliseconds(300);
  o.max_backoff = std::chrono::milliseconds(1000);
  Harness h(o);
  h.fake.route(HttpMethod::Get, "/version", [](const HttpRequest&) -> core::Result<HttpResponse> {
    return transport_error("Timeout was reached", TransportStage::Io);
  });
  auto r = h.client->get("/version");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().category(), ErrorCategory::Transport);
  using ms = std::chrono::milliseconds;
  EXPECT_EQ(h.clock.sleeps, (std::vector<ms>{ms(300), ms(600), ms(1000), ms(1000)}));
  EXPECT_EQ(h.fake.requests().size(), 5u);
}

TEST(ClientRetry, PostIsNotRetriedOnServerErrors) {
  Harness h(token_options());
  h.fake.route(HttpMethod::Post, "/nodes/pve1/lxc/101/status/start",
               [](const HttpRequest&) -> core::Result<HttpResponse> {
                 return pve_error(500, "CT 101 already running");
               });
  auto r = h.client->post("/nodes/pve1/lxc/101/status/start");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(h.fake.requests().size(), 1u);
  EXPECT_TRUE(h.clock.sleeps.empty());
}

TEST(ClientRetry, PostIsRetriedWhenItNeverReachedAnyServer) {
  Harness h(token_options());
  h.fake.push(testing::connect_refused("pve1:8006"));
  h.fake.route_data(HttpMethod::Post, "/nodes/pve1/lxc/101/status/start", "UPID:pve1:00000001:00000002:6745A3C1:vzstart:101:root@pam:");
  EXPECT_TRUE(h.client->post("/nodes/pve1/lxc/101/status/start").ok());
  EXPECT_EQ(h.fake.requests().size(), 2u);
  EXPECT_EQ(h.clock.sleeps.size(), 1u);
}

TEST(ClientRetry, NotFoundAndTlsFailuresAreNotRetried) {
  Harness h(token_options());
  h.fake.route(HttpMethod::Get, "/nodes/pve1/qemu/999/config", [](const HttpRequest&) -> core::Result<HttpResponse> {
    return pve_error(500, "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist");
  });
  auto r = h.client->get("/nodes/pve1/qemu/999/config");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().category(), ErrorCategory::NotFound);
  EXPECT_EQ(h.fake.requests().size(), 1u);

  h.fake.route(HttpMethod::Get, "/version", [](const HttpRequest&) -> core::Result<HttpResponse> {
    return transport_error("SSL peer certificate was not OK", TransportStage::Tls);
  });
  EXPECT_FALSE(h.client->get("/version").ok());
  EXPECT_EQ(h.fake.requests().size(), 2u);
  EXPECT_TRUE(h.clock.sleeps.empty());
}

// ---- error mapping ---------------------------------------------------------------------

TEST(ClientErrors, ParameterErrorsBecomeDetails) {
  Harness h(token_options());
  h.fake.route(HttpMethod::Post, "/nodes/pve1/lxc", [](const HttpRequest&) -> core::Result<HttpResponse> {
    return pve_error(400, "Parameter verification failed.",
                     {{"vmid", "invalid format - value does not look like a valid VM ID\n"},
                      {"ostemplate", "property is missing and it is not optional"}});
  });
  auto r = h.client->post("/nodes/pve1/lxc", Params{{"vmid", "abc"}});
  ASSERT_FALSE(r.ok());
  const auto& e = r.error();
  EXPECT_EQ(e.category(), ErrorCategory::Api);
  EXPECT_EQ(e.http_status(), 400);
  EXPECT_EQ(e.details().at("vmid"), "invalid format - value does not look like a valid VM ID");
  EXPECT_EQ(e.details().at("ostemplate"), "property is missing and it is not optional");
  EXPECT_EQ(e.to_string(),
            "POST /nodes/pve1/lxc: 400 Parameter verification failed. (ostemplate: property is missing "
            "and it is not optional, vmid: invalid format - value does not look like a valid VM ID)");
}

TEST(ClientErrors, StatusTableMapsToCategories) {
  struct Case {
    int status;
    std::string reason;
    std::string body;
    ErrorCategory category;
    std::string text;
  };
  const Case cases[] = {
      {500, "VM 100 is locked (migrate)", "", ErrorCategory::Api, "GET /x: 500 VM 100 is locked (migrate)"},
      {500, "Internal Server Error", R"({"data":null,"message":"got timeout\n"})", ErrorCategory::Api,
       "GET /x: 500 got timeout"},
      {401, "No ticket", "", ErrorCategory::Auth, "GET /x: 401 No ticket"},
      {403, "Permission check failed (/vms/100, VM.Migrate)", "", ErrorCategory::Auth,
       "GET /x: 403 Permission check failed (/vms/100, VM.Migrate)"},
      {404, "Not Found", "", ErrorCategory::NotFound, "GET /x: 404 Not Found"},
      {500, "no such resource 'vm:100'", "", ErrorCategory::NotFound, "GET /x: 500 no such resource 'vm:100'"},
      {595, "Connection refused", "", ErrorCategory::Transport, "GET /x: 595 Connection refused"},
      {501, "Method 'GET /x' not implemented", "", ErrorCategory::Api,
       "GET /x: 501 Method 'GET /x' not implemented"},
      {502, "", "", ErrorCategory::Api, "GET /x: 502 HTTP error"},
  };
  for (const auto& c : cases) {
    auto o = token_options();
    o.retries = 0;
    Harness h(o);
    h.fake.push(HttpResponse{.status = c.status, .reason = c.reason, .body = c.body});
    auto r = h.client->get("/x");
    ASSERT_FALSE(r.ok()) << c.status;
    EXPECT_EQ(r.error().category(), c.category) << c.status << " " << c.reason;
    EXPECT_EQ(r.error().http_status(), c.status) << c.reason;
    EXPECT_EQ(r.error().to_string(), c.text) << c.reason;
  }
}

TEST(ClientErrors, TransportErrorsNameRequestAndHost) {
  auto o = token_options();
  o.retries = 0;
  Harness h(o);
  h.fake.push(testing::connect_refused("pve1:8006"));
  auto r = h.client->get("/nodes/pve1/status");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().category(), ErrorCategory::Transport);
  EXPECT_EQ(r.error().context(), (std::vector<std::string>{"GET /nodes/pve1/status", "pve1:8006"}));
}

TEST(ClientErrors, NonJsonSuccessIsAParseError) {
  Harness h(token_options());
  h.fake.push(HttpResponse{.status = 200, .reason = "OK", .body = "<html>"});
  auto r = h.client->get("/version");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().category(), ErrorCategory::Parse);
}

TEST(ClientRequests, GetParamsGoInTheQueryAndPostParamsInTheBody) {
  Harness h(token_options());
  h.fake.route_data(HttpMethod::Get, "/cluster/resources", Json::array());
  h.fake.route_data(HttpMethod::Post, "/nodes/pve1/qemu/100/migrate", "UPID:x");
  ASSERT_TRUE(h.client->get("/cluster/resources", Params{{"type", "vm"}}).ok());
  Params p;
  p.set("target", "pve 2").set("online", true).set("bwlimit", 1024);
  ASSERT_TRUE(h.client->post("/nodes/pve1/qemu/100/migrate", p).ok());
  auto requests = h.fake.requests();
  EXPECT_EQ(requests[0].url, "https://pve1:8006/api2/json/cluster/resources?type=vm");
  EXPECT_TRUE(requests[0].body.empty());
  EXPECT_EQ(requests[1].url, "https://pve1:8006/api2/json/nodes/pve1/qemu/100/migrate");
  EXPECT_EQ(requests[1].body, "target=pve%202&online=1&bwlimit=1024");
}

// ---- options ---------------------------------------------------------------------------

TEST(ClientOptions, ValidationNamesTheFields) {
  struct Case {
    const char* name;
    std::function<void(ClientOptions&)> change;
    const char* fragment;
  };
  const Case cases[] = {
      {"both secrets", [](ClientOptions& o) { o.token_id = "root@pam!x"; o.token_secret = "abc"; },
       "both password and token_secret are set"},
      {"no secret", [](ClientOptions& o) { o.password.clear(); }, "neither password nor token_secret"},
      {"no hosts", [](ClientOptions& o) { o.hosts.clear(); }, "hosts"},
      {"bad port", [](ClientOptions& o) { o.hosts = {"pve1:99999"}; }, "port must be 1..65535"},
      {"scheme in host", [](ClientOptions& o) { o.hosts = {"https://pve1:8006"}; }, "without a scheme"},
      {"no realm", [](ClientOptions& o) { o.user = "root"; }, "has no realm"},
      {"fingerprint", [](ClientOptions& o) { o.tls.verify = TlsVerify::Fingerprint; o.tls.fingerprints = {"AA:BB"}; },
       "is not a SHA-256 fingerprint"},
      {"ca file", [](ClientOptions& o) { o.tls.verify = TlsVerify::CaFile; }, "tls.ca_file"},
      {"renewal", [](ClientOptions& o) { o.ticket_renew_after = std::chrono::hours(3); }, "2 h"},
  };
  for (const auto& c : cases) {
    ClientOptions o = password_options();
    c.change(o);
    auto status = validate(o);
    ASSERT_FALSE(status.ok()) << c.name;
    EXPECT_EQ(status.error().category(), ErrorCategory::Config) << c.name;
    EXPECT_NE(status.error().to_string().find(c.fragment), std::string::npos)
        << c.name << ": " << status.error().to_string();
    EXPECT_EQ(status.error().to_string().find(kPassword), std::string::npos) << c.name;
  }
  EXPECT_TRUE(validate(password_options()).ok());
  EXPECT_TRUE(validate(token_options()).ok());
}

TEST(ClientOptions, HostPortForms) {
  struct Case {
    const char* text;
    const char* host;
    int port;
  };
  const Case cases[] = {{"pve1", "pve1", 8006},           {"pve1:8443", "pve1", 8443},
                        {"10.0.0.1", "10.0.0.1", 8006},   {"[fd00::1]:8007", "fd00::1", 8007},
                        {"fd00::1", "fd00::1", 8006},     {" pve.example.com ", "pve.example.com", 8006},
                        {"[fd00::1]", "fd00::1", 8006}};
  for (const auto& c : cases) {
    auto hp = parse_host_port(c.text);
    ASSERT_TRUE(hp.ok()) << c.text << ": " << hp.error().to_string();
    EXPECT_EQ(hp->host, c.host) << c.text;
    EXPECT_EQ(hp->port, c.port) << c.text;
  }
  EXPECT_EQ(parse_host_port("[fd00::1]:8007")->to_string(), "[fd00::1]:8007");
  for (const char* bad : {"", ":8006", "pve1:", "pve1:x", "[fd00::1", "[fd00::1]x", "pve1/api2"})
    EXPECT_FALSE(parse_host_port(bad).ok()) << bad;
}

}  // namespace
}  // namespace pvekit::pve
