// The pve driver against an in-memory PVE API (requests and task outcomes).
#include <gtest/gtest.h>

#include "core/clock.h"
#include "pve/client.h"
#include "snapshot/driver.h"
#include "support/fake_transport.h"

namespace pvekit::snapshot {
namespace {

using core::Json;
using pve::HttpMethod;
using pvekit::testing::FakeTransport;
using pvekit::testing::form_value;
using pvekit::testing::pve_data;

const std::string kUpid = "UPID:pve1:0003F2A1:01B3C4D5:6745A3C1:vzsnapshot:101:root@pam:";

class PveDriverTest : public ::testing::Test {
 protected:
  PveDriverTest() {
    pve::ClientOptions o{.hosts = {"pve1"}, .token_id = "root@pam!pvekit", .token_secret = "secret"};
    client_ = *pve::Client::create(o, fake_, clock_);
    fake_.route_data(HttpMethod::Get, "/nodes/pve1/lxc/101/snapshot",
                     Json::array({{{"name", "s0"}, {"snaptime", 1700000000}}, {{"name", "current"}}}));
    for (auto [m, path] : {std::pair{HttpMethod::Post, std::string("/nodes/pve1/lxc/101/snapshot")},
                           std::pair{HttpMethod::Post, std::string("/nodes/pve1/lxc/101/snapshot/s0/rollback")},
                           std::pair{HttpMethod::Delete, std::string("/nodes/pve1/lxc/101/snapshot/s0")}})
      fake_.route_data(m, path, kUpid);
    task_exit("OK");
  }
  void task_exit(const std::string& exit) {
    fake_.route_data(HttpMethod::Get, "/nodes/pve1/tasks/" + kUpid + "/status",
                     {{"upid", kUpid}, {"node", "pve1"}, {"status", "stopped"}, {"exitstatus", exit}});
  }
  std::unique_ptr<Driver> driver() { return make_pve_driver(*client_, config_); }

  FakeTransport fake_;
  core::ManualClock clock_;
  std::unique_ptr<pve::Client> client_;
  CheckpointConfig config_;
  Target ct_{.id = "web", .pve_node = "pve1", .pve_vmid = 101};
};

TEST_F(PveDriverTest, ListDropsCurrent) {
  auto r = driver()->list(ct_);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].name, "s0");
  EXPECT_EQ((*r)[0].created, 1700000000);
}

TEST_F(PveDriverTest, CreatePostsSnapnameAndWaitsForTheTask) {
  ASSERT_TRUE(driver()->create(ct_, "s1").ok());
  auto posts = fake_.requests_to("/nodes/pve1/lxc/101/snapshot");
  ASSERT_EQ(posts.size(), 2u);  // the existence check, then the create
  EXPECT_EQ(posts[1].method, HttpMethod::Post);
  EXPECT_EQ(form_value(posts[1].body, "snapname"), "s1");
  EXPECT_EQ(fake_.requests_to("/nodes/pve1/tasks/" + kUpid + "/status").size(), 1u);
}

TEST_F(PveDriverTest, RollbackPassesStart) {
  ASSERT_TRUE(driver()->rollback(ct_, "s0", true).ok());
  auto r = fake_.requests_to("/nodes/pve1/lxc/101/snapshot/s0/rollback");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(form_value(r[0].body, "start"), "1");
}

TEST_F(PveDriverTest, ExistingAndMissingNames) {
  auto dup = driver()->create(ct_, "s0");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().category(), core::ErrorCategory::Conflict);
  for (auto s : {driver()->rollback(ct_, "nope", false), driver()->remove(ct_, "nope")}) {
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().category(), core::ErrorCategory::NotFound);
    EXPECT_NE(s.error().to_string().find("CT 101 on pve1"), std::string::npos) << s.error().to_string();
  }
}

TEST_F(PveDriverTest, FailedTaskCarriesPvesMessage) {
  task_exit("snapshot feature is not available");
  auto s = driver()->remove(ct_, "s0");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().to_string().find("snapshot feature is not available"), std::string::npos)
      << s.error().to_string();
  EXPECT_NE(s.error().to_string().find("delete snapshot s0 of CT 101 on pve1"), std::string::npos);
}

TEST_F(PveDriverTest, ContainerWithoutVmidIsRefused) {
  auto s = driver()->create({.id = "web"}, "s1");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().to_string().find("no Proxmox node and vmid"), std::string::npos);
  EXPECT_TRUE(fake_.requests().empty());
}

}  // namespace
}  // namespace pvekit::snapshot
