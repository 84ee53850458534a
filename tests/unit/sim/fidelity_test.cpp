// Fidelity of pvesim's answers to PVE 9.1's (issue 13): config digests,
// /cluster/resources kinds, status fields, HA texts and tasks, the new
// endpoints, and the admin interface's guards. The PVE source each expected
// value comes from is named beside it.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "core/clock.h"
#include "sim/api.h"
#include "sim/scenario.h"
#include "sim/server.h"
#include "sim/views.h"

namespace pvekit::sim {
namespace {

using core::Json;

class FidelityTest : public ::testing::Test {
 protected:
  FidelityTest() : sim_(default_cluster(clock_.now_unix()), clock_), api_(sim_) {}

  ApiResponse call(const std::string& method, const std::string& path, Params params = {}) {
    return api_.handle({method, path, std::move(params),
                        {{"authorization", std::string("PVEAPIToken=root@pam!pvekit=") + kDefaultTokenSecret}},
                        {}});
  }
  Json get(const std::string& path, Params params = {}) {
    ApiResponse r = call("GET", path, std::move(params));
    EXPECT_EQ(r.status, 200) << path << ": " << r.text();
    return Json::parse(r.text())["data"];
  }
  // Runs simulated time forward and finishes due tasks.
  void pass(int seconds) {
    clock_.advance(std::chrono::seconds(seconds));
    sim_.tick();
  }
  Json task_status(const std::string& node, const std::string& upid) {
    return get("/nodes/" + node + "/tasks/" + upid + "/status");
  }
  Json first_running(const std::string& type) {
    for (const Json& r : get("/cluster/resources", {{"type", "vm"}})) {
      if (r["type"] == type && r["status"] == "running" && !r.contains("hastate")) return r;
    }
    return nullptr;
  }

  core::ManualClock clock_;
  Simulator sim_;
  Api api_;
};

// PVE's digest is Digest::SHA::sha1_hex of the config file's text
// (PVE::AbstractConfig / PVE::Cluster cfs_read_file): keys sorted as
// "key: value" lines. The hash below is `sha1sum` of exactly that text.
TEST(ConfigDigestTest, IsTheSha1HexOfTheConfigFileText) {
  Guest g;
  g.vmid = 200;
  g.type = GuestType::Lxc;
  g.name = "ct200";
  g.cpus = 2;
  g.maxmem = 1ull << 30;
  g.swap = 512ull << 20;
  g.maxdisk = 8ull << 30;
  g.storage = "local-lvm";
  g.tags = "web";
  g.config = {{"ostype", "debian"}, {"arch", "amd64"}};
  EXPECT_EQ(config_file_text(g),
            "arch: amd64\ncores: 2\nhostname: ct200\nmemory: 1024\nostype: debian\n"
            "rootfs: local-lvm:subvol-200-disk-0,size=8G\nswap: 512\ntags: web\nunprivileged: 1\n");
  EXPECT_EQ(guest_config(g)["digest"], "895d98c5cbbcf49d44678d7b2be0b470380171f0");
  g.cpus = 4;
  EXPECT_NE(guest_config(g)["digest"], "895d98c5cbbcf49d44678d7b2be0b470380171f0");
}

TEST_F(FidelityTest, ConfigDigestIs40HexDigits) {
  Json vm = first_running("qemu");
  Json config = get("/nodes/" + vm["node"].get<std::string>() + "/qemu/" + std::to_string(vm["vmid"].get<int>()) +
                    "/config");
  EXPECT_TRUE(std::regex_match(config["digest"].get<std::string>(), std::regex("[0-9a-f]{40}"))) << config["digest"];
}

// pve-manager PVE::API2::Cluster resources: pools first as {id: "/pool/<name>",
// type: pool, pool}; `type` keeps exactly the entries of that kind.
TEST_F(FidelityTest, ResourcesHavePoolAndNetworkEntriesAndTheFilterIsExact) {
  Json all = get("/cluster/resources");
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all[0], (Json{{"id", "/pool/prod"}, {"type", "pool"}, {"pool", "prod"}}));
  std::map<std::string, int> kinds;
  for (const Json& r : all) ++kinds[r["type"].get<std::string>()];
  EXPECT_EQ(kinds["pool"], 2);
  EXPECT_EQ(kinds["network"], 5);  // each node's local zone
  EXPECT_EQ(kinds["sdn"], 5);
  for (const Json& r : all) {
    if (r["type"] != "network") continue;
    EXPECT_EQ(r["network-type"], "zone");
    EXPECT_EQ(r["id"], "network/" + r["node"].get<std::string>() + "/zone/" + r["network"].get<std::string>());
  }
  for (const std::string type : {"sdn", "node", "storage"}) {
    for (const Json& r : get("/cluster/resources", {{"type", type}})) EXPECT_EQ(r["type"], type) << r;
  }
  for (const Json& r : get("/cluster/resources", {{"type", "vm"}})) {
    EXPECT_TRUE(r["type"] == "qemu" || r["type"] == "lxc") << r;
  }
  EXPECT_EQ(call("GET", "/cluster/resources", {{"type", "pool"}}).status, 400) << "not in the schema's enum";
}

// qemu-server's vmstatus($vmid, 1): blockstat per drive, nics per tap
// device, proxmox-support, balloon, freemem and ballooninfo from QMP.
TEST_F(FidelityTest, QemuStatusHasTheQmpFigures) {
  Json vm = first_running("qemu");
  const std::string vmid = std::to_string(vm["vmid"].get<int>());
  Json s = get("/nodes/" + vm["node"].get<std::string>() + "/qemu/" + vmid + "/status/current");
  ASSERT_TRUE(s["blockstat"].contains("scsi0")) << s.dump();
  EXPECT_EQ(s["blockstat"]["scsi0"]["rd_bytes"], s["diskread"]);
  EXPECT_EQ(s["blockstat"]["scsi0"]["wr_bytes"], s["diskwrite"]);
  ASSERT_TRUE(s["nics"].contains("tap" + vmid + "i0")) << s["nics"].dump();
  EXPECT_EQ(s["nics"]["tap" + vmid + "i0"]["netin"], s["netin"]);
  EXPECT_EQ(s["proxmox-support"]["pbs-dirty-bitmap"], true);
  EXPECT_EQ(s["balloon"], s["maxmem"]);
  EXPECT_EQ(s["ballooninfo"]["max_mem"], s["maxmem"]);
  EXPECT_EQ(s["ballooninfo"]["total_mem"].get<uint64_t>() - s["ballooninfo"]["free_mem"].get<uint64_t>(),
            s["mem"].get<uint64_t>());
  EXPECT_EQ(s["freemem"], s["ballooninfo"]["free_mem"]);
  EXPECT_EQ(s["running-machine"], "pc-i440fx-10.0+pve0");
  EXPECT_EQ(s["running-qemu"], "10.0.2");
}

TEST_F(FidelityTest, LxcStatusHasSwapAndAllPressures) {
  Json ct = first_running("lxc");
  ASSERT_FALSE(ct.is_null());
  Json s = get("/nodes/" + ct["node"].get<std::string>() + "/lxc/" + std::to_string(ct["vmid"].get<int>()) +
               "/status/current");
  EXPECT_TRUE(s["swap"].is_number_integer());
  EXPECT_LE(s["swap"].get<uint64_t>(), s["maxswap"].get<uint64_t>());
  for (const char* key : {"pressurecpusome", "pressurecpufull", "pressureiosome", "pressureiofull",
                          "pressurememorysome", "pressurememoryfull"}) {
    EXPECT_TRUE(s.contains(key)) << key;
  }
}

// PVE::API2::HA::Status: "$node ($status, " . localtime($timestamp) . ")".
TEST_F(FidelityTest, HaStatusTimesArePerlLocaltime) {
  const std::regex perl_time(R"(.* \((active|idle), [A-Z][a-z]{2} [A-Z][a-z]{2} [ 1-3][0-9] \d\d:\d\d:\d\d \d{4}\))");
  int checked = 0;
  for (const Json& e : get("/cluster/ha/status/current")) {
    if (e["type"] != "master" && e["type"] != "lrm") continue;
    EXPECT_TRUE(std::regex_match(e["status"].get<std::string>(), perl_time)) << e["status"];
    ++checked;
  }
  EXPECT_EQ(checked, 6);
}

// pve-manager PVE::API2::Tasks $convert_token_task: user and tokenid apart.
TEST_F(FidelityTest, TasksStartedWithATokenShowUserAndTokenidApart) {
  Json ct = first_running("lxc");
  const std::string node = ct["node"], vmid = std::to_string(ct["vmid"].get<int>());
  ApiResponse r = call("POST", "/nodes/" + node + "/lxc/" + vmid + "/status/suspend");
  ASSERT_EQ(r.status, 200) << r.text();
  const std::string upid = Json::parse(r.text())["data"];
  EXPECT_NE(upid.find(":vzsuspend:" + vmid + ":root@pam!pvekit:"), std::string::npos) << upid;
  Json status = task_status(node, upid);
  EXPECT_EQ(status["user"], "root@pam");
  EXPECT_EQ(status["tokenid"], "pvekit");
  pass(5);
  Json list = get("/nodes/" + node + "/tasks", {{"userfilter", "root@pam"}, {"typefilter", "vzsuspend"}});
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["user"], "root@pam");
  EXPECT_EQ(list[0]["tokenid"], "pvekit");
}

// qemu-server's vm_stop / vm_start: for an HA-managed guest an hastop /
// hastart task ("Requesting HA stop for VM 100") sets the HA request state,
// then the CRM has the guest stopped or started by root@pam.
TEST_F(FidelityTest, StoppingAndStartingAnHaGuestGoesThroughTheHaManager) {
  Json vm;
  for (const Json& r : get("/cluster/resources", {{"type", "vm"}})) {
    if (r["vmid"] == 100) vm = r;
  }
  ASSERT_EQ(vm["hastate"], "started");
  const std::string node = vm["node"];
  ApiResponse stop = call("POST", "/nodes/" + node + "/qemu/100/status/stop");
  ASSERT_EQ(stop.status, 200) << stop.text();
  const std::string upid = Json::parse(stop.text())["data"];
  EXPECT_NE(upid.find(":hastop:100:"), std::string::npos) << upid;
  pass(2);
  Json log = get("/nodes/" + node + "/tasks/" + upid + "/log");
  EXPECT_EQ(log[0]["t"], "Requesting HA stop for VM 100");
  Json crm = get("/nodes/" + node + "/tasks", {{"typefilter", "qmstop"}, {"source", "all"}});
  ASSERT_EQ(crm.size(), 1u);
  EXPECT_EQ(crm[0]["user"], "root@pam");
  EXPECT_FALSE(crm[0].contains("tokenid"));
  pass(2);
  EXPECT_EQ(get("/nodes/" + node + "/qemu/100/status/current")["status"], "stopped");
  EXPECT_EQ(get("/cluster/ha/resources")[0]["state"], "stopped");

  ApiResponse start = call("POST", "/nodes/" + node + "/qemu/100/status/start");
  ASSERT_EQ(start.status, 200) << start.text();
  EXPECT_NE(Json::parse(start.text())["data"].get<std::string>().find(":hastart:100:"), std::string::npos);
  pass(5);
  EXPECT_EQ(get("/nodes/" + node + "/qemu/100/status/current")["status"], "running");
  EXPECT_EQ(get("/cluster/ha/resources")[0]["state"], "started");
}

TEST_F(FidelityTest, ClusterOptionsShowAndChangeTheCrsSettings) {
  Json options = get("/cluster/options");
  EXPECT_EQ(options["crs"], (Json{{"ha", "static"}, {"ha-rebalance-on-start", 1}}));
  EXPECT_EQ(options["keyboard"], "en-us");
  ApiResponse put = call("PUT", "/cluster/options",
                         {{"crs", "ha=dynamic,ha-auto-rebalance=1,ha-auto-rebalance-threshold=0.4,"
                                  "ha-auto-rebalance-method=topsis"},
                          {"max_workers", "8"},
                          {"delete", "keyboard"}});
  ASSERT_EQ(put.status, 200) << put.text();
  EXPECT_TRUE(Json::parse(put.text())["data"].is_null());
  options = get("/cluster/options");
  EXPECT_EQ(options["crs"], (Json{{"ha", "dynamic"}, {"ha-auto-rebalance", 1}, {"ha-auto-rebalance-threshold", 0.4},
                                  {"ha-auto-rebalance-method", "topsis"}}));
  EXPECT_EQ(options["max_workers"], 8);
  EXPECT_FALSE(options.contains("keyboard"));
}

// PVE::JSONSchema: property-string problems are "invalid format - ..." of
// the parameter, in the 400 parameter error.
TEST_F(FidelityTest, ClusterOptionsRefuseBadCrsAsPveDoes) {
  const std::pair<std::string, std::string> cases[] = {
      {"ha=fast", "invalid format - ha: value 'fast' does not have a value in the enumeration 'basic, static, dynamic'"},
      {"ha=static,bogus=1", "invalid format - invalid key in comma-separated list property: bogus"},
      {"static", "invalid format - value without key, but schema does not define a default key"},
      {"ha-auto-rebalance-margin=-1", "invalid format - ha-auto-rebalance-margin: value must have a minimum value of 0"},
  };
  for (const auto& [value, message] : cases) {
    ApiResponse r = call("PUT", "/cluster/options", {{"crs", value}});
    EXPECT_EQ(r.status, 400) << value;
    EXPECT_EQ(Json::parse(r.text())["errors"]["crs"], message) << value;
  }
  EXPECT_EQ(get("/cluster/options")["crs"]["ha"], "static") << "nothing was changed";
  EXPECT_EQ(call("PUT", "/cluster/options", {{"max_workers", "0"}}).status, 400);
}

TEST_F(FidelityTest, NetworkDomainsAndHaGroups) {
  Json all = get("/nodes/pve1/network");
  ASSERT_EQ(all.size(), 2u);
  Json bridges = get("/nodes/pve1/network", {{"type", "any_bridge"}});
  ASSERT_EQ(bridges.size(), 1u);
  EXPECT_EQ(bridges[0]["iface"], "vmbr0");
  EXPECT_EQ(bridges[0]["cidr"], "10.0.0.11/24");
  EXPECT_EQ(bridges[0]["bridge_ports"], "eno1");
  EXPECT_EQ(get("/nodes/pve1/network", {{"type", "eth"}})[0]["iface"], "eno1");
  EXPECT_TRUE(get("/nodes/pve1/network", {{"type", "bond"}}).empty());
  EXPECT_TRUE(get("/cluster/ha/groups").empty()) << "the default cluster has PVE 9 rules, no groups";
  // Anyone may list the realms: the login box needs them (permissions: world).
  ApiResponse domains = api_.handle({"GET", "/access/domains", {}, {}, {}});
  ASSERT_EQ(domains.status, 200);
  Json realms = Json::parse(domains.text())["data"];
  ASSERT_EQ(realms.size(), 2u);
  EXPECT_EQ(realms[0]["realm"], "pam");
  EXPECT_EQ(realms[1]["type"], "pve");
}

TEST(HaGroupsTest, ScenarioGroupsAreListedAsPve8Does) {
  const std::string yaml = R"(
nodes: [{name: a}, {name: b}]
guests: [{vmid: 100, node: a}]
datacenter: {crs: "ha=basic", max_workers: 4}
ha:
  groups: [{group: prefer-a, nodes: "a:2,b", restricted: true, comment: old style}]
  resources: [{sid: "vm:100", group: prefer-a}]
)";
  auto doc = core::parse_yaml(yaml, "test.yaml");
  ASSERT_TRUE(doc.ok());
  auto c = cluster_from_json(*doc, 1.7e9);
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  World w;
  w.cluster = std::move(*c);
  Json groups = ha_groups(w);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0]["group"], "prefer-a");
  EXPECT_EQ(groups[0]["type"], "group");
  EXPECT_EQ(groups[0]["nodes"], "a:2,b");
  EXPECT_EQ(groups[0]["restricted"], 1);
  EXPECT_EQ(groups[0]["nofailback"], 0);
  EXPECT_EQ(ha_resources(w, "")[0]["group"], "prefer-a");
  EXPECT_EQ(w.cluster.datacenter.at("max_workers"), "4");

  auto bad = core::parse_yaml("nodes: [{name: a}]\ndatacenter: {crs: \"ha=fast\"}\n", "bad.yaml");
  ASSERT_TRUE(bad.ok());
  auto refused = cluster_from_json(*bad, 1.7e9);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().to_string().find("datacenter.crs: invalid format - ha: value 'fast'"), std::string::npos)
      << refused.error().to_string();
}

TEST_F(FidelityTest, AdminInterfaceRequiresTheBearerTokenWhenOneIsSet) {
  EXPECT_EQ(api_.handle_admin({"GET", "/state", {}, {}, {}}).status, 200) << "no token: open by design";
  api_.set_admin_token("s3cret-admin");
  ApiResponse none = api_.handle_admin({"GET", "/state", {}, {}, {}});
  EXPECT_EQ(none.status, 401);
  EXPECT_NE(none.reason.find("requires 'Authorization: Bearer"), std::string::npos) << none.reason;
  EXPECT_EQ(api_.handle_admin({"GET", "/state", {}, {{"authorization", "Bearer wrong-admin!"}}, {}}).status, 401);
  EXPECT_EQ(api_.handle_admin({"POST", "/quorum/lost", {}, {{"authorization", "Bearer s3cret-admi"}}, {}}).status, 401);
  EXPECT_EQ(api_.handle_admin({"GET", "/state", {}, {{"authorization", "Bearer s3cret-admin"}}, {}}).status, 200);
}

TEST(AdminGuardTest, RunAppRefusesANonLoopbackHostWithoutAllowRemoteAdmin) {
  AppOptions o;
  o.server.host = "0.0.0.0";
  o.list_routes = true;  // would print and return without binding
  std::ostringstream out;
  core::Status st = run_app(o, out);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().to_string().find("--allow-remote-admin"), std::string::npos) << st.error().to_string();
  EXPECT_TRUE(out.str().empty());
  o.allow_remote_admin = true;
  EXPECT_TRUE(run_app(o, out).ok());
  o.server.host = "127.0.0.1";
  o.allow_remote_admin = false;
  EXPECT_TRUE(run_app(o, out).ok());
}

}  // namespace
}  // namespace pvekit::sim
