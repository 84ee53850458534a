// No secret (password, ticket, CSRF token, API token secret) may reach a log
// line or an error message, whatever happens.

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "core/clock.h"
#include "pve/api.h"
#include "pve/client.h"
#include "support/fake_transport.h"

namespace pvekit::pve {
namespace {

using core::Json;
using pvekit::testing::FakeTransport;
using pvekit::testing::pve_data;
using pvekit::testing::pve_error;

const std::string kPassword = "Pa55-w0rd-never-logged";
const std::string kTicket = "PVE:root@pam:6745A3C1::dGlja2V0LXNpZ25hdHVyZS1zZWNyZXQ=";
const std::string kCsrf = "6745A3C1:Y3NyZi1zZWNyZXQtdmFsdWU";
const std::string kTokenSecret = "d1e2f3a4-b5c6-4789-9abc-def012345678";

// Routes the default spdlog logger into a string for the test's lifetime.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_);
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const { return stream_.str(); }

 private:
  std::ostringstream stream_;
  std::shared_ptr<spdlog::logger> previous_;
};

void expect_no_secret(const std::string& text, const std::string& where) {
  for (const auto& secret : {kPassword, kTicket, kCsrf, kTokenSecret}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << where << " leaks a secret:\n" << text;
  }
  // Even the distinctive parts of secrets must not show.
  EXPECT_EQ(text.find("dGlja2V0"), std::string::npos) << where;
  EXPECT_EQ(text.find("Y3NyZi1"), std::string::npos) << where;
}

TEST(Secrets, NeverInLogsOrErrorsAcrossTicketFlows) {
  LogCapture capture;
  FakeTransport fake;
  core::ManualClock clock;
  ClientOptions o{.hosts = {"pve1", "pve2"}, .user = "root@pam", .password = kPassword};
  o.retries = 1;
  auto client = *Client::create(o, fake, clock);
  std::vector<std::string> errors;
  auto keep = [&](const auto& result) {
    if (!result.ok()) errors.push_back(result.error().to_string());
  };

  // Failed login (wrong credentials): PVE's 401.
  fake.push(pve_error(401, "authentication failure"));
  keep(client->get("/nodes"));
  // Login transport failure on both hosts.
  fake.push(pvekit::testing::connect_refused("pve1:8006"));
  fake.push(pvekit::testing::connect_refused("pve2:8006"));
  fake.push(pve_error(401, "authentication failure"));
  keep(client->get("/nodes"));
  // Successful login, refused ticket, re-login, then a failing write.
  fake.route_login("root@pam", kPassword, kTicket, kCsrf);
  fake.push(pve_error(401, "permission denied - invalid PVE ticket"));
  fake.route(HttpMethod::Post, "/nodes/pve1/lxc", [](const HttpRequest&) -> core::Result<HttpResponse> {
    return pve_error(400, "Parameter verification failed.", {{"password", "too short"}});
  });
  keep(client->get("/nodes"));
  LxcCreateOptions create{.vmid = 200, .ostemplate = "local:vztmpl/x.tar.zst", .password = kPassword};
  keep(lxc_create(*client, "pve1", create));
  // Renewal after the ticket ages.
  clock.advance(std::chrono::hours(1) + std::chrono::minutes(50));
  fake.route_data(HttpMethod::Get, "/version", {{"version", "9.1.1"}});
  keep(client->get("/version"));

  ASSERT_GE(errors.size(), 3u);
  for (const auto& e : errors) expect_no_secret(e, "error '" + e + "'");
  std::string log = capture.text();
  EXPECT_NE(log.find("logged in as root@pam"), std::string::npos) << "the capture works:\n" << log;
  EXPECT_NE(log.find("renewing ticket"), std::string::npos) << log;
  expect_no_secret(log, "log");
}

TEST(Secrets, NeverInLogsOrErrorsWithApiTokens) {
  LogCapture capture;
  FakeTransport fake;
  core::ManualClock clock;
  ClientOptions o{.hosts = {"pve1"}, .token_id = "root@pam!pvekit", .token_secret = kTokenSecret};
  o.retries = 1;
  auto client = *Client::create(o, fake, clock);
  std::vector<std::string> errors;
  fake.push(pve_error(401, "invalid token value!"));
  fake.push(pvekit::testing::connect_refused("pve1:8006"));
  fake.push(pve::transport_error("Timeout was reached", TransportStage::Io));
  auto a = client->get("/nodes");
  auto b = client->get("/nodes");
  ASSERT_FALSE(a.ok());
  ASSERT_FALSE(b.ok());
  expect_no_secret(a.error().to_string(), "error");
  expect_no_secret(b.error().to_string(), "error");
  std::string log = capture.text();
  EXPECT_NE(log.find("retrying"), std::string::npos) << log;
  expect_no_secret(log, "log");
  // And validation errors do not echo secrets either.
  ClientOptions both = o;
  both.user = "root@pam";
  both.password = kPassword;
  auto status = validate(both);
  ASSERT_FALSE(status.ok());
  expect_no_secret(status.error().to_string(), "validation error");
}

}  // namespace
}  // namespace pvekit::pve
