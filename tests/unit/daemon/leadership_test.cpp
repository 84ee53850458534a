#include "daemon/leadership.h"

#include <gtest/gtest.h>

#include "support/fake_transport.h"

namespace pvekit::daemon {
namespace {

// The HA manager status as PVE 9 answers GET /cluster/ha/status/manager_status.
core::Json manager_status(const std::string& master, double timestamp, int quorate = 1) {
  return {{"manager_status", {{"master_node", master}, {"timestamp", timestamp}, {"node_status", {{"pve1", "online"}}}}},
          {"quorum", {{"node", "pve1"}, {"quorate", quorate}}}};
}

struct HaMaster : ::testing::Test {
  HaMaster() {
    pve::ClientOptions o{.hosts = {"pve1"}, .token_id = "root@pam!proxlb", .token_secret = "secret"};
    client = *pve::Client::create(o, fake, clock);
  }
  void answer(const core::Json& status) {
    fake.route_data(pve::HttpMethod::Get, "/cluster/ha/status/manager_status", status);
  }
  testing::FakeTransport fake;
  core::ManualClock clock{1'800'000'000.0};
  std::unique_ptr<pve::Client> client;
};

TEST_F(HaMaster, OnlyTheDaemonOnTheMasterNodeActs) {
  answer(manager_status("pve2", clock.now_unix() - 5));
  HaMasterLeadership on_pve1(*client, "pve1"), on_pve2(*client, "pve2");
  EXPECT_EQ(on_pve1.confirm().value_or(true), false);
  EXPECT_EQ(on_pve2.confirm().value_or(false), true);
  EXPECT_EQ(on_pve1.describe(), "node pve1 (HA master mode; the master is pve2)");
  EXPECT_EQ(on_pve2.describe(), "node pve2, the HA master");
}

TEST_F(HaMaster, StaleStatusOrLostQuorumMeansNobodyActs) {
  HaMasterLeadership on_pve2(*client, "pve2", /*max_age_seconds=*/60);
  answer(manager_status("pve2", clock.now_unix() - 120));
  auto stale = on_pve2.confirm();
  ASSERT_FALSE(stale.ok());
  EXPECT_NE(stale.error().to_string().find("is 120 s old"), std::string::npos) << stale.error().to_string();
  answer(manager_status("pve2", clock.now_unix(), /*quorate=*/0));
  EXPECT_EQ(on_pve2.confirm().value_or(true), false);
  answer(manager_status("", clock.now_unix()));
  EXPECT_EQ(on_pve2.confirm().value_or(true), false);
}

TEST_F(HaMaster, UnreadableStatusIsAnError) {
  fake.route(pve::HttpMethod::Get, "/cluster/ha/status/manager_status", [](const pve::HttpRequest&) {
    return core::Result<pve::HttpResponse>(testing::pve_error(403, "Permission check failed (/, Sys.Audit)"));
  });
  HaMasterLeadership on_pve1(*client, "pve1");
  auto r = on_pve1.confirm();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().to_string().find("read the HA manager status"), std::string::npos);
}

TEST(SoleDaemon, AlwaysActs) {
  SoleDaemon sole;
  EXPECT_EQ(sole.confirm().value_or(false), true);
}

}  // namespace
}  // namespace pvekit::daemon
