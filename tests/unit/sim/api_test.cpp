// The API dispatcher without sockets: auth, CSRF, envelopes, errors, faults.
#include "sim/api.h"

#include <gtest/gtest.h>

#include "core/clock.h"
#include "sim/scenario.h"

namespace pvekit::sim {
namespace {

using core::Json;

class ApiTest : public ::testing::Test {
 protected:
  ApiTest() : sim_(default_cluster(clock_.now_unix()), clock_), api_(sim_) {}

  ApiResponse call(const std::string& method, const std::string& path, Params params = {},
                   std::map<std::string, std::string> headers = {}, std::map<std::string, std::string> cookies = {}) {
    return api_.handle({method, path, std::move(params), std::move(headers), std::move(cookies)});
  }
  ApiResponse token_call(const std::string& method, const std::string& path, Params params = {}) {
    return call(method, path, std::move(params),
                {{"authorization", std::string("PVEAPIToken=root@pam!pvekit=") + kDefaultTokenSecret}});
  }
  static Json data(const ApiResponse& r) { return Json::parse(r.text())["data"]; }

  core::ManualClock clock_;
  Simulator sim_;
  Api api_;
};

TEST_F(ApiTest, NoCredentialsIs401NoTicket) {
  ApiResponse r = call("GET", "/version");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.reason, "No ticket");
}

TEST_F(ApiTest, UnknownRouteIs501) {
  ApiResponse r = token_call("GET", "/foo");
  EXPECT_EQ(r.status, 501);
  EXPECT_EQ(r.reason, "Method 'GET /foo' not implemented");
}

TEST_F(ApiTest, ParameterErrorsUsePveShape) {
  ApiResponse r = token_call("GET", "/nodes/pve1/rrddata", {{"timeframe", "hour"}, {"bogus", "1"}});
  EXPECT_EQ(r.status, 400);
  Json body = Json::parse(r.text());
  EXPECT_TRUE(body["data"].is_null());
  EXPECT_EQ(body["message"], "Parameter verification failed.\n");
  EXPECT_EQ(body["errors"]["bogus"],
            "property is not defined in schema and the schema does not allow additional properties");
}

TEST_F(ApiTest, TicketLoginCsrfAndExpiry) {
  ApiResponse login = call("POST", "/access/ticket", {{"username", "root@pam"}, {"password", kDefaultPassword}});
  ASSERT_EQ(login.status, 200) << login.text();
  const std::string ticket = data(login)["ticket"], csrf = data(login)["CSRFPreventionToken"];
  EXPECT_EQ(data(login)["username"], "root@pam");
  std::map<std::string, std::string> cookie = {{"PVEAuthCookie", ticket}};
  EXPECT_EQ(call("GET", "/nodes", {}, {}, cookie).status, 200);
  // Writes with a ticket need the CSRF token.
  ApiResponse no_csrf = call("POST", "/nodes/pve5/lxc/111/status/stop", {}, {}, cookie);
  EXPECT_EQ(no_csrf.status, 401);
  EXPECT_EQ(no_csrf.reason, "Permission denied - invalid csrf token");
  ApiResponse with_csrf = call("POST", "/nodes/pve2/lxc/108/status/shutdown", {}, {{"csrfpreventiontoken", csrf}}, cookie);
  EXPECT_EQ(with_csrf.status, 200) << with_csrf.text();
  clock_.advance(std::chrono::seconds(7201));
  EXPECT_EQ(call("GET", "/nodes", {}, {}, cookie).status, 401);
}

TEST_F(ApiTest, WrongPasswordIs401AuthenticationFailure) {
  ApiResponse r = call("POST", "/access/ticket", {{"username", "root@pam"}, {"password", "nope"}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.reason, "authentication failure");
}

TEST_F(ApiTest, MigrationTaskRunsBySimulatedTime) {
  ApiResponse r = token_call("POST", "/nodes/pve1/qemu/100/migrate", {{"target", "pve2"}, {"online", "1"}});
  // vm:100 is HA-managed: the request becomes a hamigrate task.
  ASSERT_EQ(r.status, 200) << r.text();
  const std::string upid = data(r);
  EXPECT_NE(upid.find(":hamigrate:100:root@pam!pvekit:"), std::string::npos) << upid;
  Json st = data(token_call("GET", "/nodes/pve1/tasks/" + upid + "/status"));
  EXPECT_EQ(st["status"], "running");
  clock_.advance(std::chrono::seconds(600));
  st = data(token_call("GET", "/nodes/pve1/tasks/" + upid + "/status"));
  EXPECT_EQ(st["status"], "stopped");
  EXPECT_EQ(st["exitstatus"], "OK");
  Json cfg = data(token_call("GET", "/nodes/pve2/qemu/100/config"));
  EXPECT_EQ(cfg["name"], "web1");
  EXPECT_EQ(token_call("GET", "/nodes/pve1/qemu/100/config").status, 500);
  Json log = data(token_call("GET", "/nodes/pve1/tasks/" + upid + "/log"));
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log[0]["n"], 1);
}

TEST_F(ApiTest, OfflineNodeAnswers595AndShowsOffline) {
  ApiResponse off = api_.handle_admin({"POST", "/node/pve3/offline", {}, {}, {}});
  ASSERT_EQ(off.status, 200);
  ApiResponse r = token_call("GET", "/nodes/pve3/status");
  EXPECT_EQ(r.status, 595);
  Json nodes = data(token_call("GET", "/cluster/resources", {{"type", "node"}}));
  for (const auto& n : nodes) EXPECT_EQ(n["status"], n["node"] == "pve3" ? "offline" : "online") << n["node"];
  Json status = data(token_call("GET", "/cluster/status"));
  for (const auto& e : status) {
    if (e["type"] == "node") {
      EXPECT_EQ(e["online"], e["name"] == "pve3" ? 0 : 1);
    }
  }
}

TEST_F(ApiTest, QuorumLossBlocksWrites) {
  api_.handle_admin({"POST", "/quorum/lost", {}, {}, {}});
  ApiResponse r = token_call("POST", "/nodes/pve1/qemu/101/migrate", {{"target", "pve2"}, {"online", "1"}});
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.reason, "cluster not ready - no quorum?");
  EXPECT_EQ(data(token_call("GET", "/cluster/status"))[0]["quorate"], 0);
  api_.handle_admin({"POST", "/quorum/ok", {}, {}, {}});
  EXPECT_EQ(data(token_call("GET", "/cluster/status"))[0]["quorate"], 1);
}

TEST_F(ApiTest, FailRequestsFaultFailsExactlyN) {
  api_.handle_admin({"POST", "/fail-requests", {{"count", "2"}}, {}, {}});
  EXPECT_EQ(token_call("GET", "/nodes").status, 500);
  EXPECT_EQ(token_call("GET", "/nodes").status, 500);
  EXPECT_EQ(token_call("GET", "/nodes").status, 200);
}

TEST_F(ApiTest, ResourcesListsEveryGuestWithBooleansAsIntegers) {
  Json all = data(token_call("GET", "/cluster/resources"));
  int vms = 0;
  for (const auto& r : all) {
    if (r["type"] == "qemu" || r["type"] == "lxc") {
      ++vms;
      EXPECT_TRUE(r["template"].is_number_integer());
    }
  }
  EXPECT_EQ(vms, 60);
  Json vm_only = data(token_call("GET", "/cluster/resources", {{"type", "vm"}}));
  EXPECT_EQ(vm_only.size(), 60u);
}

TEST_F(ApiTest, RrddataIsNotEmptyForOnlineNodeAndRunningGuest) {
  Json node = data(token_call("GET", "/nodes/pve1/rrddata", {{"timeframe", "hour"}}));
  EXPECT_EQ(node.size(), 60u);
  Json guest = data(token_call("GET", "/nodes/pve1/qemu/100/rrddata", {{"timeframe", "day"}, {"cf", "MAX"}}));
  ASSERT_EQ(guest.size(), 1440u);  // PVE 9: one row a minute for a day (pve-cluster src/PVE/RRD.pm)
  EXPECT_TRUE(guest[0].contains("pressurememorysome"));
  for (const char* frame : {"month", "year"}) {
    EXPECT_EQ(data(token_call("GET", "/nodes/pve1/qemu/100/rrddata", {{"timeframe", frame}})).size(), 1440u) << frame;
  }
}

// pve-manager's storage rrddata: total and used per row, the last row as
// the storage's status shows it; an unknown storage is an RRD error.
TEST_F(ApiTest, StorageRrddataEndsAtTheStorageStatus) {
  Json status = data(token_call("GET", "/nodes/pve1/storage", {{"storage", "local-lvm"}}));
  ASSERT_EQ(status.size(), 1u);
  Json rows = data(token_call("GET", "/nodes/pve1/storage/local-lvm/rrddata", {{"timeframe", "month"}}));
  ASSERT_EQ(rows.size(), 1440u);
  EXPECT_EQ(rows.back()["total"], status[0]["total"]);
  EXPECT_EQ(rows.back()["used"].get<double>(), status[0]["used"].get<double>());
  EXPECT_GT(rows.back()["used"].get<double>(), 0) << "local-lvm holds guests in the built-in cluster";
  for (const char* bad : {"decade", "bogus"}) {
    EXPECT_EQ(token_call("GET", "/nodes/pve1/storage/local-lvm/rrddata", {{"timeframe", bad}}).status, 400) << bad;
  }
  ApiResponse none = token_call("GET", "/nodes/pve1/storage/nope/rrddata", {{"timeframe", "hour"}});
  EXPECT_EQ(none.status, 500);
  EXPECT_EQ(none.reason, "RRD error: opening '/var/lib/rrdcached/db/pve-storage-9.0/pve1/nope': No such file or directory");
}

// qemu-server's and pve-container's rrddata read the RRD file of the vmid
// ("pve-vm-9.0/$vmid", PVE::RRD::create_rrd_data) without loading a config:
// the qemu path answers for a container and any node answers for any guest.
TEST_F(ApiTest, RrddataOnTheQemuPathAnswersForAContainerOnAnyNode) {
  Json ct;
  for (const Json& r : data(token_call("GET", "/cluster/resources", {{"type", "vm"}}))) {
    if (r["type"] == "lxc" && r["status"] == "running") ct = r;
  }
  ASSERT_FALSE(ct.is_null());
  const std::string vmid = std::to_string(ct["vmid"].get<int>());
  const std::string other = ct["node"] == "pve1" ? "pve2" : "pve1";
  Json via_qemu = data(token_call("GET", "/nodes/" + other + "/qemu/" + vmid + "/rrddata", {{"timeframe", "hour"}}));
  Json via_lxc = data(token_call("GET", "/nodes/" + ct["node"].get<std::string>() + "/lxc/" + vmid + "/rrddata",
                                 {{"timeframe", "hour"}}));
  ASSERT_EQ(via_qemu.size(), 60u);
  EXPECT_EQ(via_qemu, via_lxc);
  ApiResponse none = token_call("GET", "/nodes/pve1/qemu/999999/rrddata", {{"timeframe", "hour"}});
  EXPECT_EQ(none.status, 500);
  EXPECT_EQ(none.reason, "RRD error: opening '/var/lib/rrdcached/db/pve-vm-9.0/999999': No such file or directory");
}

}  // namespace
}  // namespace pvekit::sim
