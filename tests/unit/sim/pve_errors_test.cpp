// Errors as PVE sends them: reason phrases, task lookups and filters,
// "localhost", failed task logs, CT migration refusals and range checks.
// The PVE source each expectation comes from is named beside it.
#include <gtest/gtest.h>

#include "core/clock.h"
#include "sim/api.h"
#include "sim/scenario.h"
#include "sim/server.h"

namespace pvekit::sim {
namespace {

using core::Json;

class PveErrorsTest : public ::testing::Test {
 protected:
  PveErrorsTest() : sim_(default_cluster(clock_.now_unix()), clock_), api_(sim_) {}

  ApiResponse call(const std::string& method, const std::string& path, Params params = {}) {
    return api_.handle({method, path, std::move(params),
                        {{"authorization", std::string("PVEAPIToken=root@pam!pvekit=") + kDefaultTokenSecret}},
                        {}});
  }
  ApiResponse admin(const std::string& path, Params params = {}) {
    return api_.handle_admin({"POST", path, std::move(params), {}, {}});
  }
  static Json body(const ApiResponse& r) { return Json::parse(r.text()); }
  static Json data(const ApiResponse& r) { return body(r)["data"]; }
  // Runs the simulation until every task started so far is over.
  void finish_tasks() {
    clock_.advance(std::chrono::seconds(3600));
    sim_.tick();
  }
  std::vector<std::string> log_of(const std::string& node, const std::string& upid) {
    std::vector<std::string> lines;
    for (const auto& l : data(call("GET", "/nodes/" + node + "/tasks/" + upid + "/log", {{"limit", "1000"}}))) {
      lines.push_back(l["t"]);
    }
    return lines;
  }
  static int task_error_lines(const std::vector<std::string>& log) {
    int n = 0;
    for (const auto& l : log) n += l.rfind("TASK ERROR", 0) == 0;
    return n;
  }
  // PVE's parameter error: 400, the standard message and `errors[param]`.
  static void expect_param_error(const ApiResponse& r, const std::string& param, const std::string& message) {
    EXPECT_EQ(r.status, 400) << r.text();
    EXPECT_EQ(r.reason, "Parameter verification failed.");
    Json b = body(r);
    EXPECT_TRUE(b["data"].is_null());
    EXPECT_EQ(b["message"], "Parameter verification failed.\n");
    ASSERT_TRUE(b["errors"].contains(param)) << r.text();
    EXPECT_EQ(b["errors"][param], message) << r.text();
  }

  core::ManualClock clock_;
  Simulator sim_;
  Api api_;
};

// --- the reason phrase --------------------------------------------------------

// PVE::APIServer::AnyEvent::response: $msg = $resp->message; ($msg) = $msg =~ m/^(.*)$/m.
TEST(ReasonPhraseTest, IsTheFirstLineOfTheMessageAsItIs) {
  EXPECT_EQ(reason_phrase("Parameter verification failed.\n"), "Parameter verification failed.");
  EXPECT_EQ(reason_phrase("unable to remove VM 100 - purge parameter not set."),
            "unable to remove VM 100 - purge parameter not set.");
  EXPECT_EQ(reason_phrase("first line\nsecond line\n"), "first line");
}

TEST(ReasonPhraseTest, ControlCharactersBecomeSpaces) {
  EXPECT_EQ(reason_phrase("a\rb\x01" "c\x7f" "d\te"), "a b c d\te");
  EXPECT_EQ(reason_phrase("no\r\nX-Injected: 1"), "no ");
}

TEST(ReasonPhraseTest, IsCutToTheLimitOnACharacterBoundary) {
  const std::string ascii(2000, 'x');
  EXPECT_EQ(reason_phrase(ascii).size(), kMaxReasonBytes);
  // "é" is two bytes: the cut must not leave half of one.
  std::string wide = std::string(kMaxReasonBytes - 1, 'x') + "\xc3\xa9" + "tail";
  const std::string cut = reason_phrase(wide);
  EXPECT_EQ(cut, std::string(kMaxReasonBytes - 1, 'x'));
}

TEST_F(PveErrorsTest, ErrorsCarryTheMessageAsReasonAndBody) {
  ApiResponse r = call("GET", "/nodes/pve1/qemu/999/config");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.reason, "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist");
  EXPECT_EQ(body(r)["message"], "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist\n");
  // The body of a parameter error stays PVE's.
  expect_param_error(call("GET", "/nodes/pve1/qemu/abc/config"), "vmid", "type check ('integer') failed - got 'abc'");
}

// --- unknown task ids -----------------------------------------------------------

// PVE::API2::Tasks read_task_status: raise_param_exc({ upid => "unable to parse worker upid" }) / "no such task".
TEST_F(PveErrorsTest, UnknownTaskIs400NoSuchTask) {
  const std::string upid = "UPID:pve1:000F4240:00000001:65000000:vzstart:100:root@pam:";
  expect_param_error(call("GET", "/nodes/pve1/tasks/" + upid + "/status"), "upid", "no such task");
  expect_param_error(call("GET", "/nodes/pve1/tasks/not-a-upid/status"), "upid", "unable to parse worker upid");
  expect_param_error(call("GET", "/nodes/pve1/tasks/not-a-upid/log"), "upid", "unable to parse worker upid");
  // read_task_log does not check the file: PVE::Tools::dump_logfile answers with one line.
  ApiResponse log = call("GET", "/nodes/pve1/tasks/" + upid + "/log");
  ASSERT_EQ(log.status, 200) << log.text();
  EXPECT_EQ(data(log), Json::parse(R"([{"n":1,"t":"unable to open file - No such file or directory"}])"));
}

TEST_F(PveErrorsTest, TaskOfAnotherNodeIsNoSuchTaskThere) {
  ApiResponse r = call("POST", "/nodes/pve2/lxc/108/status/shutdown");
  ASSERT_EQ(r.status, 200) << r.text();
  const std::string upid = data(r);
  EXPECT_EQ(call("GET", "/nodes/pve2/tasks/" + upid + "/status").status, 200);
  expect_param_error(call("GET", "/nodes/pve3/tasks/" + upid + "/status"), "upid", "no such task");
}

// --- task list filters ----------------------------------------------------------

// PVE::API2::Tasks node_tasks: $task->{type} ne $typefilter; $task->{user} !~ m/\Q$userfilter\E/i,
// after $convert_token_task has split the token name off the user.
TEST_F(PveErrorsTest, TypefilterMatchesTheTypeExactly) {
  ASSERT_EQ(call("POST", "/nodes/pve2/lxc/108/status/shutdown").status, 200);
  finish_tasks();
  auto types = [&](Params p) {
    std::vector<std::string> out;
    for (const auto& t : data(call("GET", "/nodes/pve2/tasks", std::move(p)))) out.push_back(t["type"]);
    return out;
  };
  EXPECT_EQ(types({{"typefilter", "vzshutdown"}}), std::vector<std::string>{"vzshutdown"});
  EXPECT_TRUE(types({{"typefilter", "vzshut"}}).empty());
  EXPECT_TRUE(types({{"typefilter", "shutdown"}}).empty());
  EXPECT_EQ(types({{"userfilter", "ROOT@PAM"}}), std::vector<std::string>{"vzshutdown"});
  EXPECT_TRUE(types({{"userfilter", "pvekit"}}).empty()) << "the token name is not part of the user";
  EXPECT_TRUE(types({{"userfilter", "alice"}}).empty());
}

// --- localhost ------------------------------------------------------------------

// pve-manager PVE::HTTPServer: a node of 'localhost' is never proxied; the
// handlers act on the node answering, which /cluster/status marks `local`.
TEST_F(PveErrorsTest, LocalhostIsTheLocalNode) {
  std::string local;
  for (const auto& m : data(call("GET", "/cluster/status"))) {
    if (m["type"] == "node" && m["local"] == 1) local = m["name"];
  }
  ASSERT_EQ(local, "pve1");
  ApiResponse st = call("GET", "/nodes/localhost/status");
  ASSERT_EQ(st.status, 200) << st.text();
  EXPECT_EQ(data(st), data(call("GET", "/nodes/pve1/status")));
  EXPECT_EQ(data(call("GET", "/nodes/localhost/qemu")), data(call("GET", "/nodes/pve1/qemu")));
  EXPECT_EQ(call("GET", "/nodes/localhost/qemu/100/config").status, 200);
  ApiResponse other = call("GET", "/nodes/localhost/lxc/108/config");  // on pve2
  EXPECT_EQ(other.reason, "Configuration file 'nodes/pve1/lxc/108.conf' does not exist");
  ApiResponse r = call("POST", "/nodes/localhost/qemu/107/status/shutdown");
  ASSERT_EQ(r.status, 200) << r.text();
  const std::string upid = data(r);
  EXPECT_NE(upid.find("UPID:pve1:"), std::string::npos) << upid;
  EXPECT_EQ(call("GET", "/nodes/localhost/tasks/" + upid + "/status").status, 200);
  EXPECT_EQ(data(call("GET", "/nodes/localhost/tasks", {{"source", "all"}}))[0]["upid"], upid);
}

// --- one TASK ERROR line ---------------------------------------------------------

// PVE::RESTEnvironment::fork_worker writes "TASK ERROR: $err" once, the error on one line.
TEST_F(PveErrorsTest, FailedStatusTaskHasOneTaskErrorLine) {
  ASSERT_EQ(admin("/fail-task/vzstart", {{"message", "startup for container failed"}}).status, 200);
  ApiResponse r = call("POST", "/nodes/pve4/lxc/129/status/start");  // a stopped CT
  ASSERT_EQ(r.status, 200) << r.text();
  finish_tasks();
  const std::string upid = data(r);
  const auto log = log_of("pve4", upid);
  EXPECT_EQ(task_error_lines(log), 1);
  EXPECT_EQ(log.back(), "TASK ERROR: startup for container failed");
  EXPECT_EQ(data(call("GET", "/nodes/pve4/tasks/" + upid + "/status"))["exitstatus"], "startup for container failed");
}

TEST_F(PveErrorsTest, FailedCreateTaskHasOneTaskErrorLine) {
  ASSERT_EQ(admin("/fail-task/vzcreate", {{"message", "unpacking failed:\nno space"}}).status, 200);
  ApiResponse r = call("POST", "/nodes/pve2/lxc",
                       {{"vmid", "900"}, {"ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"}});
  ASSERT_EQ(r.status, 200) << r.text();
  finish_tasks();
  const auto log = log_of("pve2", data(r));
  EXPECT_EQ(task_error_lines(log), 1);
  EXPECT_EQ(log.back(), "TASK ERROR: unable to create CT 900 - unpacking failed: no space");
}

TEST_F(PveErrorsTest, FailedMigrationTaskHasOneTaskErrorLine) {
  ASSERT_EQ(admin("/fail-migration/107", {{"message", "disk mirror broke"}}).status, 200);
  ApiResponse r = call("POST", "/nodes/pve1/qemu/107/migrate", {{"target", "pve2"}, {"online", "1"}});
  ASSERT_EQ(r.status, 200) << r.text();
  finish_tasks();
  const auto log = log_of("pve1", data(r));
  EXPECT_EQ(task_error_lines(log), 1);
  EXPECT_EQ(log.back(), "TASK ERROR: migration aborted");
}

// --- migrating a running CT --------------------------------------------------------

// pve-container PVE::API2::LXC migrate_vm: "can't migrate running container
// without --online or --restart\n" before any task.
TEST_F(PveErrorsTest, RunningContainerWithoutRestartIsRefused) {
  ApiResponse r = call("POST", "/nodes/pve2/lxc/108/migrate", {{"target", "pve5"}});
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.reason, "can't migrate running container without --online or --restart");
  EXPECT_EQ(body(r)["message"], "can't migrate running container without --online or --restart\n");
  EXPECT_TRUE(data(call("GET", "/nodes/pve2/tasks", {{"source", "all"}})).empty());
}

// With online=1 the API starts vzmigrate; PVE::LXC::Migrate::prepare dies
// "lxc live migration is currently not implemented" and
// PVE::AbstractMigrate::migrate ends the task "migration aborted".
TEST_F(PveErrorsTest, RunningContainerOnlineFailsItsTask) {
  for (const char* restart : {"0", "1"}) {
    ApiResponse r =
        call("POST", "/nodes/pve2/lxc/108/migrate", {{"target", "pve5"}, {"online", "1"}, {"restart", restart}});
    ASSERT_EQ(r.status, 200) << r.text();
    const std::string upid = data(r);
    EXPECT_NE(upid.find(":vzmigrate:108:"), std::string::npos) << upid;
    finish_tasks();
    Json st = data(call("GET", "/nodes/pve2/tasks/" + upid + "/status"));
    EXPECT_EQ(st["exitstatus"], "migration aborted");
    const auto log = log_of("pve2", upid);
    ASSERT_EQ(log.size(), 2u);
    const std::string aborted = " ERROR: migration aborted (duration 00:00:00): ";
    EXPECT_NE(log[0].find(aborted + "lxc live migration is currently not implemented"), std::string::npos) << log[0];
    EXPECT_EQ(log[1], "TASK ERROR: migration aborted");
    Json ct = data(call("GET", "/nodes/pve2/lxc/108/status/current"));
    EXPECT_EQ(ct["status"], "running");
    EXPECT_FALSE(data(call("GET", "/nodes/pve2/lxc/108/config")).contains("lock"));
  }
}

// --- values out of range ---------------------------------------------------------------

// The schema has memory minimum 16 and no maximum; pvesim holds bytes in 64 bits.
TEST_F(PveErrorsTest, HugeMemoryIsRefusedNotWrapped) {
  const Params base = {{"vmid", "901"}, {"ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"}};
  const std::string too_big = "value must have a maximum value of 8796093022207";
  for (const char* value : {"4611686018427387904", "8796093022208", "99999999999999999999999"}) {
    Params p = base;
    p["memory"] = value;
    expect_param_error(call("POST", "/nodes/pve2/lxc", p), "memory", too_big);
    p.erase("memory");
    p["swap"] = value;
    expect_param_error(call("POST", "/nodes/pve2/lxc", p), "swap", too_big);
  }
  Params p = base;
  p["memory"] = "15";
  expect_param_error(call("POST", "/nodes/pve2/lxc", p), "memory", "value must have a minimum value of 16");
  p["memory"] = "8796093022207";
  ASSERT_EQ(call("POST", "/nodes/pve2/lxc", p).status, 200);
  EXPECT_EQ(data(call("GET", "/nodes/pve2/lxc/901/status/current"))["maxmem"].get<uint64_t>(), 8796093022207ull << 20);
}

// pve-container create_vm: only STORAGE:SIZE (PVE::LXC::NEW_DISK_RE) makes a
// new disk; "local-lvm:-8" names an existing volume, which the lvmthin plugin
// cannot parse (LvmThinPlugin::parse_volname), so the create task fails.
TEST_F(PveErrorsTest, NegativeRootfsSizeFailsTheCreateTask) {
  ApiResponse r = call("POST", "/nodes/pve2/lxc",
                       {{"vmid", "902"},
                        {"ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"},
                        {"rootfs", "local-lvm:-8"}});
  ASSERT_EQ(r.status, 200) << r.text();
  const std::string upid = data(r);
  // While the task runs the CT exists, without a wrapped size.
  EXPECT_LT(data(call("GET", "/nodes/pve2/lxc/902/status/current"))["maxdisk"].get<double>(), 1e12);
  finish_tasks();
  Json st = data(call("GET", "/nodes/pve2/tasks/" + upid + "/status"));
  EXPECT_EQ(st["exitstatus"], "unable to create CT 902 - unable to parse lvm volume name '-8'");
  EXPECT_EQ(call("GET", "/nodes/pve2/lxc/902/config").status, 500) << "a failed create removes the CT";
  // A size too large for any storage fails the same way, never wraps.
  r = call("POST", "/nodes/pve2/lxc",
           {{"vmid", "903"},
            {"ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"},
            {"rootfs", "local-lvm:99999999999999999999"}});
  ASSERT_EQ(r.status, 200) << r.text();
  EXPECT_EQ(data(call("GET", "/nodes/pve2/lxc/903/status/current"))["maxdisk"], 0);
  finish_tasks();
  const std::string exit903 = data(call("GET", "/nodes/pve2/tasks/" + std::string(data(r)) + "/status"))["exitstatus"];
  EXPECT_EQ(exit903.rfind("unable to create CT 903 - unable to allocate", 0), 0u) << exit903;
  // A plain number is a size on the default storage, as PVE.
  r = call("POST", "/nodes/pve2/lxc",
           {{"vmid", "904"}, {"ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"}, {"rootfs", "3"}});
  ASSERT_EQ(r.status, 200) << r.text();
  finish_tasks();
  EXPECT_EQ(data(call("GET", "/nodes/pve2/lxc/904/status/current"))["maxdisk"], 3ull << 30);
}

TEST_F(PveErrorsTest, FaultCountsBeyondIntAreRefused) {
  ApiResponse r = admin("/fail-requests", {{"count", "2147483648"}});
  expect_param_error(r, "count", "value must have a maximum value of 2147483647");
  EXPECT_EQ(call("GET", "/version").status, 200) << "no fault was set";
  expect_param_error(admin("/fail-requests", {{"count", "-1"}}), "count", "value must have a minimum value of 0");
  expect_param_error(admin("/fail-requests", {{"count", "1"}, {"hang_ms", "4294967296"}}), "hang_ms",
                     "value must have a maximum value of 2147483647");
  expect_param_error(admin("/fail-requests", {{"mode", "explode"}}), "mode",
                     "value 'explode' does not have a value in the enumeration '500, hang'");
  expect_param_error(admin("/delay", {{"ms", "2147483648"}}), "ms", "value must have a maximum value of 2147483647");
  // 4294967396 would wrap to vmid 100 in an int.
  expect_param_error(admin("/fail-migration/4294967396"), "vmid", "value must have a maximum value of 999999999");
  const auto room = static_cast<int64_t>(4294967295.0 - sim_.now());
  expect_param_error(admin("/advance", {{"seconds", "1e300"}}), "seconds",
                     "value must have a maximum value of " + std::to_string(room));
  expect_param_error(admin("/advance"), "seconds", "property is missing and it is not optional");
  ASSERT_EQ(admin("/fail-requests", {{"count", "2147483647"}}).status, 200);
  EXPECT_EQ(call("GET", "/version").status, 500);
}

}  // namespace
}  // namespace pvekit::sim
