#include "pve/api.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/clock.h"
#include "support/fake_transport.h"

namespace pvekit::pve {
namespace {

using core::ErrorCategory;
using core::Json;
using pvekit::testing::FakeTransport;
using pvekit::testing::form_value;
using pvekit::testing::header_value;
using pvekit::testing::pve_data;
using pvekit::testing::pve_error;
using pvekit::testing::split_url;

const std::string kUpid = "UPID:pve1:0003F2A1:01B3C4D5:6745A3C1:qmigrate:100:root@pam:";
const std::string kTaskStatusPath = "/nodes/pve1/tasks/" + kUpid + "/status";

struct Api : ::testing::Test {
  Api() {
    ClientOptions o{.hosts = {"pve1"}, .token_id = "root@pam!pvekit", .token_secret = "secret"};
    client = *Client::create(o, fake, clock);
  }
  FakeTransport fake;
  core::ManualClock clock;
  std::unique_ptr<Client> client;
};

// A task that is running for `polls` status requests, then stops with `exit`.
void script_task(FakeTransport& fake, int polls, const std::string& exit) {
  auto count = std::make_shared<int>(0);
  fake.route(HttpMethod::Get, kTaskStatusPath, [=](const HttpRequest&) -> core::Result<HttpResponse> {
    Json s = {{"upid", kUpid}, {"node", "pve1"}, {"type", "qmigrate"}, {"id", "100"}, {"status", "running"}};
    if (++*count > polls) {
      s["status"] = "stopped";
      s["exitstatus"] = exit;
    }
    return pve_data(s);
  });
}

TEST_F(Api, WaitTaskReturnsWhenStoppedOk) {
  script_task(fake, 3, "OK");
  auto start = clock.monotonic();
  auto r = wait_task(*client, kUpid, {.timeout = std::chrono::seconds(60), .poll_interval = std::chrono::seconds(2)});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->exitstatus, "OK");
  EXPECT_EQ(fake.requests_to(kTaskStatusPath).size(), 4u);
  EXPECT_EQ(clock.monotonic() - start, std::chrono::seconds(6)) << "three polls, 2 s apart";
}

TEST_F(Api, WaitTaskTurnsExitStatusIntoError) {
  script_task(fake, 1, "migration aborted");
  auto r = wait_task(*client, kUpid);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().category(), ErrorCategory::Api);
  EXPECT_EQ(r.error().message(), "migration aborted");
  EXPECT_EQ(r.error().to_string(), "task " + kUpid + ": migration aborted");
}

TEST_F(Api, WaitTaskGivesUpAtTheDeadline) {
  script_task(fake, 1000, "OK");
  auto r = wait_task(*client, kUpid, {.timeout = std::chrono::seconds(10), .poll_interval = std::chrono::seconds(3)});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().to_string().find("still running after 10 s"), std::string::npos) << r.error().to_string();
  // Polls at 0, 3, 6, 9 and one last at 10.
  EXPECT_EQ(fake.requests_to(kTaskStatusPath).size(), 5u);
  EXPECT_EQ(clock.monotonic(), std::chrono::seconds(10));
}

TEST_F(Api, WaitTaskRejectsMalformedUpid) {
  auto r = wait_task(*client, "not-a-upid");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().category(), ErrorCategory::Parse);
  EXPECT_TRUE(fake.requests().empty());
}

TEST_F(Api, TaskLogUsesStartAndLimit) {
  fake.route_data(HttpMethod::Get, "/nodes/pve1/tasks/" + kUpid + "/log",
                  Json::array({{{"n", 1}, {"t", "starting"}}, {{"n", 2}, {"t", "TASK OK"}}}));
  auto log = get_task_log(*client, kUpid, 0, 50);
  ASSERT_TRUE(log.ok()) << log.error().to_string();
  EXPECT_EQ(log->size(), 2u);
  EXPECT_EQ(split_url(fake.requests()[0].url).query, "start=0&limit=50");
}

TEST_F(Api, MigrateSendsSchemaParameterNames) {
  fake.route_data(HttpMethod::Post, "/nodes/pve1/qemu/100/migrate", kUpid);
  MigrateOptions o{.target = "pve2", .online = true, .with_local_disks = true, .with_conntrack_state = true,
                   .bwlimit = 51200, .targetstorage = "local-zfs"};
  auto upid = migrate_guest(*client, "pve1", GuestType::Qemu, 100, o);
  ASSERT_TRUE(upid.ok()) << upid.error().to_string();
  EXPECT_EQ(*upid, kUpid);
  EXPECT_EQ(fake.requests()[0].body,
            "target=pve2&online=1&with-local-disks=1&with-conntrack-state=1&targetstorage=local-zfs&bwlimit=51200");

  auto lxc = migrate_params(GuestType::Lxc, {.target = "pve3", .restart = true, .timeout = 120, .targetstorage = "s"});
  ASSERT_TRUE(lxc.ok());
  EXPECT_EQ(lxc->encode(), "target=pve3&restart=1&timeout=120&target-storage=s");
}

TEST_F(Api, MigrateRejectsOptionsOfTheOtherGuestType) {
  EXPECT_FALSE(migrate_params(GuestType::Lxc, {.target = "pve2", .with_local_disks = true}).ok());
  EXPECT_FALSE(migrate_params(GuestType::Qemu, {.target = "pve2", .restart = true}).ok());
  auto r = migrate_guest(*client, "pve1", GuestType::Qemu, 100, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().category(), ErrorCategory::Config);
  EXPECT_EQ(r.error().to_string(), "POST /nodes/pve1/qemu/100/migrate: migrate: target node is required");
  EXPECT_TRUE(fake.requests().empty());
}

TEST_F(Api, LxcCreateParams) {
  LxcCreateOptions o{.vmid = 200,
                     .ostemplate = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
                     .hostname = "ct200",
                     .rootfs = "local-lvm:8",
                     .memory = 512,
                     .cores = 2,
                     .net = {{0, "name=eth0,bridge=vmbr0,ip=dhcp"}},
                     .unprivileged = true,
                     .start = true,
                     .tags = {"OCI", "app"},
                     .extra = {{"cmode", "console"}}};
  auto p = lxc_create_params(o);
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  EXPECT_EQ(p->get("vmid"), "200");
  EXPECT_EQ(p->get("net0"), "name=eth0,bridge=vmbr0,ip=dhcp");
  EXPECT_EQ(p->get("unprivileged"), "1");
  EXPECT_EQ(p->get("start"), "1");
  EXPECT_EQ(p->get("tags"), "oci;app");
  EXPECT_EQ(p->get("cmode"), "console");
  EXPECT_FALSE(p->get("swap").has_value());
  EXPECT_FALSE(lxc_create_params({.vmid = 99, .ostemplate = "x"}).ok());
  EXPECT_FALSE(lxc_create_params({.vmid = 200}).ok());
  EXPECT_FALSE(lxc_create_params({.vmid = 200, .ostemplate = "x", .hostname = "a", .extra = {{"hostname", "b"}}}).ok());
}

TEST_F(Api, LxcLifecycleCallsUseSchemaPaths) {
  struct Case {
    std::function<core::Result<std::string>()> call;
    HttpMethod method;
    std::string path;
    std::string params;
  };
  std::vector<Case> cases = {
      {[&] { return lxc_create(*client, "pve1", {.vmid = 101, .ostemplate = "local:vztmpl/a.tar.zst"}); },
       HttpMethod::Post, "/nodes/pve1/lxc", "vmid=101&ostemplate=local%3Avztmpl%2Fa.tar.zst"},
      {[&] { return lxc_start(*client, "pve1", 101); }, HttpMethod::Post, "/nodes/pve1/lxc/101/status/start", ""},
      {[&] { return lxc_stop(*client, "pve1", 101); }, HttpMethod::Post, "/nodes/pve1/lxc/101/status/stop", ""},
      {[&] { return lxc_shutdown(*client, "pve1", 101, 30, true); }, HttpMethod::Post,
       "/nodes/pve1/lxc/101/status/shutdown", "timeout=30&forceStop=1"},
      {[&] { return lxc_suspend(*client, "pve1", 101); }, HttpMethod::Post, "/nodes/pve1/lxc/101/status/suspend", ""},
      {[&] { return lxc_resume(*client, "pve1", 101); }, HttpMethod::Post, "/nodes/pve1/lxc/101/status/resume", ""},
      {[&] { return lxc_delete(*client, "pve1", 101, true); }, HttpMethod::Delete, "/nodes/pve1/lxc/101", "purge=1"},
      {[&] { return lxc_snapshot_create(*client, "pve1", 101, "s1", "before"); }, HttpMethod::Post,
       "/nodes/pve1/lxc/101/snapshot", "snapname=s1&description=before"},
      {[&] { return lxc_snapshot_rollback(*client, "pve1", 101, "s1", true); }, HttpMethod::Post,
       "/nodes/pve1/lxc/101/snapshot/s1/rollback", "start=1"},
      {[&] { return lxc_snapshot_delete(*client, "pve1", 101, "s1"); }, HttpMethod::Delete,
       "/nodes/pve1/lxc/101/snapshot/s1", ""},
  };
  for (const auto& c : cases) {
    fake.clear_requests();
    fake.route_data(c.method, c.path, kUpid);
    auto r = c.call();
    ASSERT_TRUE(r.ok()) << c.path << ": " << r.error().to_string();
    EXPECT_EQ(*r, kUpid);
    auto reqs = fake.requests();
    ASSERT_EQ(reqs.size(), 1u) << c.path;
    EXPECT_EQ(reqs[0].method, c.method) << c.path;
    auto url = split_url(reqs[0].url);
    EXPECT_EQ(url.path, c.path);
    EXPECT_EQ(c.method == HttpMethod::Delete ? url.query : reqs[0].body, c.params) << c.path;
  }
}

TEST_F(Api, TaskStartingCallsRejectNonUpidAnswers) {
  fake.route_data(HttpMethod::Post, "/nodes/pve1/lxc/101/status/start", nullptr);
  auto r = lxc_start(*client, "pve1", 101);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().category(), ErrorCategory::Parse);
}

TEST_F(Api, ClusterCallsAndFilters) {
  fake.route_data(HttpMethod::Get, "/cluster/resources",
                  Json::array({{{"id", "qemu/100"}, {"type", "qemu"}, {"vmid", 100}, {"node", "pve1"}}}));
  fake.route_data(HttpMethod::Get, "/cluster/nextid", "104");
  fake.route_data(HttpMethod::Get, "/version", {{"version", "9.1.1"}, {"release", "9.1"}});
  auto res = get_cluster_resources(*client, ResourceFilter::Vm);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->at(0).vmid, 100);
  EXPECT_EQ(split_url(fake.requests()[0].url).query, "type=vm");
  auto id = get_next_vmid(*client);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 104) << "PVE sends nextid as a string";
  EXPECT_EQ(get_version(*client)->version, "9.1.1");
}

TEST_F(Api, RrddataParameters) {
  fake.route_data(HttpMethod::Get, "/nodes/pve1/rrddata", Json::array({{{"time", 1}, {"cpu", 0.5}}}));
  fake.route_data(HttpMethod::Get, "/nodes/pve1/lxc/101/rrddata", Json::array());
  auto rows = get_node_rrddata(*client, "pve1", Timeframe::Hour, Consolidation::Max);
  ASSERT_TRUE(rows.ok());
  EXPECT_DOUBLE_EQ(rows->at(0).at("cpu"), 0.5);
  EXPECT_EQ(split_url(fake.requests()[0].url).query, "timeframe=hour&cf=MAX");
  ASSERT_TRUE(get_guest_rrddata(*client, "pve1", GuestType::Lxc, 101, Timeframe::Week).ok());
  EXPECT_EQ(split_url(fake.requests()[1].url).query, "timeframe=week&cf=AVERAGE");
}

TEST_F(Api, HaMigrateAndRules) {
  fake.route_data(HttpMethod::Post, "/cluster/ha/resources/vm:100/migrate",
                  {{"sid", "vm:100"}, {"requested-node", "pve2"}});
  fake.route_data(HttpMethod::Get, "/cluster/ha/rules", Json::array());
  auto r = ha_migrate(*client, "vm:100", "pve2");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->requested_node, "pve2");
  EXPECT_EQ(fake.requests()[0].body, "node=pve2");
  ASSERT_TRUE(get_ha_rules(*client, "node-affinity").ok());
  EXPECT_EQ(split_url(fake.requests()[1].url).query, "type=node-affinity");
}

TEST_F(Api, NodeNamesAreEncodedInPaths) {
  EXPECT_EQ(node_path("pve1"), "/nodes/pve1");
  EXPECT_EQ(node_path("a/b c"), "/nodes/a%2Fb%20c");
  EXPECT_EQ(guest_path("pve1", GuestType::Qemu, 100), "/nodes/pve1/qemu/100");
}

TEST_F(Api, UploadIsMultipartWithTheFileLast) {
  auto dir = std::filesystem::temp_directory_path() / ("pvekit-upload-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto file = dir / "alpine-3.20-default_20240908_amd64.tar.xz";
  {
    std::ofstream out(file, std::ios::binary);
    out << std::string("\x00\x01template-bytes\r\n--", 19);
  }
  fake.route_data(HttpMethod::Post, "/nodes/pve1/storage/local/upload",
                  "UPID:pve1:00000001:00000002:6745A3C1:imgcopy::root@pam:");
  auto upid = upload_to_storage(*client, {.node = "pve1", .storage = "local", .file = file.string()});
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(upid.ok()) << upid.error().to_string();
  auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& req = requests[0];
  std::string type = header_value(req, "Content-Type");
  ASSERT_EQ(type.rfind("multipart/form-data; boundary=", 0), 0u) << type;
  std::string boundary = type.substr(std::string("multipart/form-data; boundary=").size());
  auto content_at = req.body.find("name=\"content\"\r\n\r\nvztmpl\r\n");
  auto file_at = req.body.find("name=\"filename\"; filename=\"alpine-3.20-default_20240908_amd64.tar.xz\"");
  ASSERT_NE(content_at, std::string::npos) << req.body;
  ASSERT_NE(file_at, std::string::npos) << req.body;
  EXPECT_LT(content_at, file_at);
  EXPECT_NE(req.body.find(std::string("\x00\x01template-bytes", 16)), std::string::npos);
  EXPECT_EQ(req.body.substr(req.body.size() - boundary.size() - 6), "--" + boundary + "--\r\n");
  EXPECT_EQ(header_value(req, "CSRFPreventionToken"), "") << "token auth needs no CSRF";
}

TEST_F(Api, UploadOfAMissingFileFailsBeforeSending) {
  auto r = upload_to_storage(*client, {.node = "pve1", .storage = "local", .file = "/nonexistent/x.tar.zst"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().to_string().find("POST /nodes/pve1/storage/local/upload"), std::string::npos);
  EXPECT_TRUE(fake.requests().empty());
}

TEST(UploadBody, BoundaryNeverOccursInTheData) {
  std::string data = "--pvekit-upload-7d3f9a1c and more";
  auto body = build_upload_body({.content = "iso"}, "x.iso", data);
  std::string boundary = body.content_type.substr(body.content_type.find('=') + 1);
  EXPECT_EQ(data.find(boundary), std::string::npos) << boundary;
}

}  // namespace
}  // namespace pvekit::pve
