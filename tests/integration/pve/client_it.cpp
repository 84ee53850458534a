// The PVE client against a real pvesim process: HTTPS with fingerprint
// pinning, ticket and token login, resources, a migration waited to OK,
// fail-over, and the libcurl transport used from several threads.

#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "core/clock.h"
#include "pve/api.h"
#include "pve/client.h"
#include "pve/fingerprint.h"
#include "sim/scenario.h"  // default credentials (header-only constants)
#include "support/child_process.h"

namespace pvekit::pve {
namespace {

using namespace std::chrono_literals;

// pvesim as a child process, started with --port 0; the constructor reads
// the "listening on" line.
class Pvesim {
 public:
  explicit Pvesim(std::vector<std::string> extra_args = {}) : process_(arguments(std::move(extra_args))) {
    static const std::regex banner(R"(pvesim: listening on https://[^:]+:(\d+) fingerprint ([0-9A-F:]+))");
    std::smatch m;
    if (!process_.started()) {
      error_ = process_.error();
    } else if (!process_.wait_for_output(banner, 30s, m)) {
      error_ = "pvesim did not print its banner: " + process_.error();
    } else {
      port_ = std::stoi(m[1]);
      fingerprint_ = m[2];
    }
  }

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  const std::string& fingerprint() const { return fingerprint_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  static std::vector<std::string> arguments(std::vector<std::string> extra_args) {
    std::vector<std::string> args = {PVESIM_PATH, "--port", "0", "--time-scale", "120", "--log-level", "warn"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    return args;
  }

  testing::ChildProcess process_;
  int port_ = 0;
  std::string fingerprint_;
  std::string error_;
};

class ClientIt : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { sim_ = new Pvesim(); }
  static void TearDownTestSuite() {
    delete sim_;
    sim_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(sim_->ok()) << sim_->error(); }

  ClientOptions pinned_options() const {
    ClientOptions o;
    o.hosts = {sim_->host()};
    o.tls.verify = TlsVerify::Fingerprint;
    o.tls.fingerprints = {sim_->fingerprint()};
    o.timeout = 20s;
    o.retries = 1;
    o.backoff = 100ms;
    return o;
  }
  static ClientOptions with_password(ClientOptions o) {
    o.user = "root@pam";
    o.password = sim::kDefaultPassword;
    return o;
  }
  static ClientOptions with_token(ClientOptions o) {
    o.token_id = "root@pam!pvekit";
    o.token_secret = sim::kDefaultTokenSecret;
    return o;
  }

  // Client plus the transport and clock it borrows.
  struct Connection {
    std::unique_ptr<Transport> transport;
    core::SystemClock clock;
    std::unique_ptr<Client> client;
  };
  static std::unique_ptr<Connection> connect(const ClientOptions& o) {
    auto c = std::make_unique<Connection>();
    auto t = make_transport(o);
    EXPECT_TRUE(t.ok()) << t.error().to_string();
    if (!t.ok()) return nullptr;
    c->transport = std::move(t).value();
    auto client = Client::create(o, *c->transport, c->clock);
    EXPECT_TRUE(client.ok()) << client.error().to_string();
    if (!client.ok()) return nullptr;
    c->client = std::move(client).value();
    return c;
  }

  static Pvesim* sim_;
};

Pvesim* ClientIt::sim_ = nullptr;

TEST_F(ClientIt, BannerFingerprintIsInPveFormat) {
  EXPECT_TRUE(normalize_fingerprint(sim_->fingerprint()).has_value()) << sim_->fingerprint();
  EXPECT_EQ(*normalize_fingerprint(sim_->fingerprint()), sim_->fingerprint());
}

TEST_F(ClientIt, PasswordLoginOverPinnedHttps) {
  auto c = connect(with_password(pinned_options()));
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->client->login().ok());
  auto version = get_version(*c->client);
  ASSERT_TRUE(version.ok()) << version.error().to_string();
  EXPECT_FALSE(version->version.empty());
  auto status = get_cluster_status(*c->client);
  ASSERT_TRUE(status.ok()) << status.error().to_string();
  EXPECT_TRUE(status->quorate);
  EXPECT_GT(status->online_count(), 1u);
  // A write with the ticket needs the CSRF token; a harmless one: a snapshot list is GET,
  // so post a parameter error instead and expect PVE's 400, not 401.
  auto bad = c->client->post("/nodes/" + status->nodes[0].name + "/lxc", Params{{"vmid", "abc"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().http_status(), 401) << bad.error().to_string();
  EXPECT_NE(bad.error().category(), core::ErrorCategory::Auth) << bad.error().to_string();
}

TEST_F(ClientIt, WrongPasswordIsAnAuthError) {
  auto o = with_password(pinned_options());
  o.password = "not-the-password";
  auto c = connect(o);
  ASSERT_TRUE(c);
  auto r = get_nodes(*c->client);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().category(), core::ErrorCategory::Auth) << r.error().to_string();
  EXPECT_EQ(r.error().to_string().find("not-the-password"), std::string::npos);
}

TEST_F(ClientIt, TokenLoginAndNodeFingerprints) {
  auto c = connect(with_token(pinned_options()));
  ASSERT_TRUE(c);
  auto nodes = get_nodes(*c->client);
  ASSERT_TRUE(nodes.ok()) << nodes.error().to_string();
  ASSERT_FALSE(nodes->empty());
  for (const auto& n : *nodes) {
    if (n.status == "online") {
      EXPECT_TRUE(fingerprints_equal(n.ssl_fingerprint, sim_->fingerprint())) << n.node;
    }
  }
  auto status = get_node_status(*c->client, nodes->front().node);
  ASSERT_TRUE(status.ok()) << status.error().to_string();
  EXPECT_GT(status->memory.total, 0u);
}

TEST_F(ClientIt, WrongFingerprintIsRefused) {
  auto o = with_token(pinned_options());
  o.tls.fingerprints = {std::string(95, '0')};
  for (size_t i = 2; i < 95; i += 3) o.tls.fingerprints[0][i] = ':';
  auto c = connect(o);
  ASSERT_TRUE(c);
  auto r = get_version(*c->client);
  ASSERT_FALSE(r.ok()) << "a server with another certificate must not be trusted";
  EXPECT_EQ(r.error().category(), core::ErrorCategory::Transport) << r.error().to_string();
  EXPECT_EQ(transport_stage(r.error()), TransportStage::Tls) << r.error().to_string();
}

TEST_F(ClientIt, SystemCaVerificationRejectsTheSelfSignedCertificate) {
  auto o = with_token(pinned_options());
  o.tls = TlsOptions{.verify = TlsVerify::System};
  auto c = connect(o);
  ASSERT_TRUE(c);
  auto r = get_version(*c->client);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(transport_stage(r.error()), TransportStage::Tls) << r.error().to_string();
  o.tls = TlsOptions{.verify = TlsVerify::Insecure};
  auto insecure = connect(o);
  ASSERT_TRUE(insecure);
  EXPECT_TRUE(get_version(*insecure->client).ok()) << "explicitly insecure skips the check";
}

TEST_F(ClientIt, ListsResourcesWithFilters) {
  auto c = connect(with_token(pinned_options()));
  ASSERT_TRUE(c);
  auto all = get_cluster_resources(*c->client);
  ASSERT_TRUE(all.ok()) << all.error().to_string();
  auto vms = get_cluster_resources(*c->client, ResourceFilter::Vm);
  ASSERT_TRUE(vms.ok()) << vms.error().to_string();
  ASSERT_FALSE(vms->empty());
  EXPECT_LT(vms->size(), all->size());
  for (const auto& r : *vms) {
    EXPECT_TRUE(r.type == "qemu" || r.type == "lxc") << r.id;
    EXPECT_GE(r.vmid, 100) << r.id;
    EXPECT_FALSE(r.node.empty()) << r.id;
    EXPECT_GT(r.maxmem, 0u) << r.id;
  }
  auto nodes = get_cluster_resources(*c->client, ResourceFilter::Node);
  ASSERT_TRUE(nodes.ok());
  for (const auto& n : *nodes) EXPECT_EQ(n.type, "node");
}

TEST_F(ClientIt, MigrationIsWaitedToOk) {
  auto c = connect(with_token(pinned_options()));
  ASSERT_TRUE(c);
  auto vms = get_cluster_resources(*c->client, ResourceFilter::Vm);
  auto nodes = get_cluster_resources(*c->client, ResourceFilter::Node);
  ASSERT_TRUE(vms.ok() && nodes.ok());
  // A running VM on shared storage, not HA-managed, and another online node.
  std::optional<ClusterResource> guest;
  for (const auto& r : *vms) {
    if (r.type != "qemu" || r.status != "running" || !r.hastate.empty() || !r.lock.empty()) continue;
    auto config = get_guest_config(*c->client, r.node, GuestType::Qemu, r.vmid);
    ASSERT_TRUE(config.ok()) << config.error().to_string();
    bool local = false;
    for (const auto& [key, value] : config->values) {
      if (value.find("local-lvm:") != std::string::npos) local = true;
    }
    if (!local) {
      guest = r;
      break;
    }
  }
  ASSERT_TRUE(guest.has_value()) << "no running VM on shared storage in the default scenario";
  std::string target;
  for (const auto& n : *nodes) {
    if (n.status == "online" && n.node != guest->node) target = n.node;
  }
  ASSERT_FALSE(target.empty());

  auto upid = migrate_guest(*c->client, guest->node, GuestType::Qemu, guest->vmid,
                            {.target = target, .online = true});
  ASSERT_TRUE(upid.ok()) << upid.error().to_string();
  auto done = wait_task(*c->client, *upid, {.timeout = 120s, .poll_interval = 200ms});
  ASSERT_TRUE(done.ok()) << done.error().to_string();
  EXPECT_EQ(done->exitstatus, "OK");
  auto log = get_task_log(*c->client, *upid);
  ASSERT_TRUE(log.ok()) << log.error().to_string();
  EXPECT_FALSE(log->empty());

  auto after = get_cluster_resources(*c->client, ResourceFilter::Vm);
  ASSERT_TRUE(after.ok());
  bool moved = false;
  for (const auto& r : *after) {
    if (r.vmid == guest->vmid) moved = r.node == target;
  }
  EXPECT_TRUE(moved) << "vm " << guest->vmid << " should now be on " << target;
}

TEST_F(ClientIt, FailsOverFromADeadHost) {
  // Port 1 on loopback is closed: connection refused, then the live host.
  auto o = with_token(pinned_options());
  o.hosts = {"127.0.0.1:1", sim_->host()};
  auto c = connect(o);
  ASSERT_TRUE(c);
  auto r = get_version(*c->client);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(c->client->current_host(), sim_->host());
}

TEST_F(ClientIt, TransportIsSafeFromSeveralThreads) {
  auto c = connect(with_password(pinned_options()));
  ASSERT_TRUE(c);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 15; ++i) {
        if (!get_version(*c->client).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

// Stops and deletes a container at scope exit if a test left it behind.
class ContainerGuard {
 public:
  ContainerGuard(Client& client, std::string node, int64_t vmid) : client_(client), node_(std::move(node)), vmid_(vmid) {}
  ~ContainerGuard() {
    if (!armed_) return;
    WaitOptions quick{.timeout = 30s, .poll_interval = 100ms};
    // Best effort: the container may already be stopped or gone.
    if (auto up = lxc_stop(client_, node_, vmid_); up.ok()) (void)wait_task(client_, *up, quick);
    if (auto up = lxc_delete(client_, node_, vmid_, true); up.ok()) (void)wait_task(client_, *up, quick);
  }
  void disarm() { armed_ = false; }

 private:
  Client& client_;
  std::string node_;
  int64_t vmid_;
  bool armed_ = true;
};

TEST_F(ClientIt, ContainerLifecycleWithSnapshots) {
  auto c = connect(with_password(pinned_options()));
  ASSERT_TRUE(c);
  Client& client = *c->client;
  const WaitOptions wait{.timeout = 120s, .poll_interval = 100ms};
  auto nodes = get_cluster_resources(client, ResourceFilter::Node);
  ASSERT_TRUE(nodes.ok());
  std::string node;
  for (const auto& n : *nodes) {
    if (n.status == "online" && node.empty()) node = n.node;
  }
  ASSERT_FALSE(node.empty());
  auto storages = get_node_storages(client, node, "vztmpl");
  ASSERT_TRUE(storages.ok()) << storages.error().to_string();
  ASSERT_FALSE(storages->empty());
  auto templates = get_storage_content(client, node, storages->front().storage, "vztmpl");
  ASSERT_TRUE(templates.ok()) << templates.error().to_string();
  ASSERT_FALSE(templates->empty());
  auto vmid = get_next_vmid(client);
  ASSERT_TRUE(vmid.ok()) << vmid.error().to_string();

  LxcCreateOptions create{.vmid = *vmid,
                          .ostemplate = templates->front().volid,
                          .hostname = "pvekit-it",
                          .memory = 256,
                          .cores = 1,
                          .net = {{0, "name=eth0,bridge=vmbr0,ip=dhcp"}},
                          .unprivileged = true,
                          .tags = {"pvekit", "it"}};
  auto created = lxc_create(client, node, create);
  ASSERT_TRUE(created.ok()) << created.error().to_string();
  ContainerGuard guard(client, node, *vmid);
  ASSERT_TRUE(wait_task(client, *created, wait).ok());

  auto config = get_guest_config(client, node, GuestType::Lxc, *vmid);
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  EXPECT_EQ(config->name(), "pvekit-it");
  EXPECT_EQ(config->memory_mib(), 256);
  EXPECT_EQ(config->tags(), (std::vector<std::string>{"pvekit", "it"}));

  auto step = [&](const char* what, core::Result<std::string> upid) {
    ASSERT_TRUE(upid.ok()) << what << ": " << upid.error().to_string();
    auto done = wait_task(client, *upid, wait);
    ASSERT_TRUE(done.ok()) << what << ": " << done.error().to_string();
  };
  step("start", lxc_start(client, node, *vmid));
  auto guests = list_guests(client, node, GuestType::Lxc);
  ASSERT_TRUE(guests.ok());
  bool running = false;
  for (const auto& g : *guests) {
    if (g.vmid == *vmid) running = g.status == "running";
  }
  EXPECT_TRUE(running);
  step("snapshot", lxc_snapshot_create(client, node, *vmid, "before", "integration test"));
  auto snaps = lxc_snapshot_list(client, node, *vmid);
  ASSERT_TRUE(snaps.ok()) << snaps.error().to_string();
  bool found = false;
  for (const auto& s : *snaps) found = found || s.name == "before";
  EXPECT_TRUE(found);
  step("suspend", lxc_suspend(client, node, *vmid));
  step("resume", lxc_resume(client, node, *vmid));
  step("shutdown", lxc_shutdown(client, node, *vmid, 10, true));
  step("rollback", lxc_snapshot_rollback(client, node, *vmid, "before"));
  step("delsnapshot", lxc_snapshot_delete(client, node, *vmid, "before"));
  step("destroy", lxc_delete(client, node, *vmid, true));
  guard.disarm();
  auto gone = get_guest_config(client, node, GuestType::Lxc, *vmid);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().category(), core::ErrorCategory::NotFound) << gone.error().to_string();
}

TEST_F(ClientIt, StartingARunningContainerFailsWithPveMessage) {
  auto c = connect(with_token(pinned_options()));
  ASSERT_TRUE(c);
  auto cts = get_cluster_resources(*c->client, ResourceFilter::Vm);
  ASSERT_TRUE(cts.ok());
  for (const auto& r : *cts) {
    if (r.type != "lxc" || r.status != "running") continue;
    auto upid = lxc_start(*c->client, r.node, r.vmid);
    if (upid.ok()) {
      // PVE starts a task that fails; the error must carry its exit status.
      auto done = wait_task(*c->client, *upid, {.timeout = 60s, .poll_interval = 100ms});
      ASSERT_FALSE(done.ok());
      EXPECT_FALSE(done.error().message().empty());
    } else {
      EXPECT_NE(upid.error().http_status(), 0) << upid.error().to_string();
    }
    return;
  }
  GTEST_SKIP() << "no running container in the scenario";
}

TEST_F(ClientIt, ReadOnlyCallsParse) {
  auto c = connect(with_token(pinned_options()));
  ASSERT_TRUE(c);
  Client& client = *c->client;
  auto nodes = get_nodes(client);
  ASSERT_TRUE(nodes.ok());
  const std::string node = nodes->front().node;
  auto rrd = get_node_rrddata(client, node, Timeframe::Hour);
  ASSERT_TRUE(rrd.ok()) << rrd.error().to_string();
  ASSERT_FALSE(rrd->empty());
  EXPECT_TRUE(rrd->front().count("time")) << "rows carry their timestamp";
  auto qemu = list_guests(client, node, GuestType::Qemu);
  ASSERT_TRUE(qemu.ok()) << qemu.error().to_string();
  if (!qemu->empty()) {
    auto grrd = get_guest_rrddata(client, node, GuestType::Qemu, qemu->front().vmid, Timeframe::Day,
                                  Consolidation::Max);
    EXPECT_TRUE(grrd.ok()) << grrd.error().to_string();
  }
  EXPECT_TRUE(get_storage_configs(client).ok());
  EXPECT_TRUE(get_pools(client).ok());
  auto ha = get_ha_resources(client);
  ASSERT_TRUE(ha.ok()) << ha.error().to_string();
  auto rules = get_ha_rules(client);
  EXPECT_TRUE(rules.ok()) << rules.error().to_string();
  auto manager = get_ha_manager_status(client);
  EXPECT_TRUE(manager.ok()) << manager.error().to_string();
}

TEST_F(ClientIt, HaMigrateIsAccepted) {
  auto c = connect(with_token(pinned_options()));
  ASSERT_TRUE(c);
  auto ha = get_ha_resources(*c->client);
  ASSERT_TRUE(ha.ok()) << ha.error().to_string();
  auto vms = get_cluster_resources(*c->client, ResourceFilter::Vm);
  auto nodes = get_cluster_resources(*c->client, ResourceFilter::Node);
  ASSERT_TRUE(vms.ok() && nodes.ok());
  for (const auto& res : *ha) {
    if (res.state != "started") continue;
    std::string current;
    for (const auto& v : *vms) {
      if (res.sid == (v.type == "qemu" ? "vm:" : "ct:") + std::to_string(v.vmid)) current = v.node;
    }
    for (const auto& n : *nodes) {
      if (n.status != "online" || n.node == current || current.empty()) continue;
      auto r = ha_migrate(*c->client, res.sid, n.node);
      ASSERT_TRUE(r.ok()) << r.error().to_string();
      EXPECT_EQ(r->sid, res.sid);
      EXPECT_EQ(r->requested_node, n.node);
      return;
    }
  }
  GTEST_SKIP() << "no started HA resource with another online node in the scenario";
}

TEST_F(ClientIt, UploadsATemplate) {
  auto c = connect(with_password(pinned_options()));
  ASSERT_TRUE(c);
  Client& client = *c->client;
  auto nodes = get_nodes(client);
  ASSERT_TRUE(nodes.ok());
  const std::string node = nodes->front().node;
  auto storages = get_node_storages(client, node, "vztmpl");
  ASSERT_TRUE(storages.ok() && !storages->empty());
  const std::string storage = storages->front().storage;
  auto file = std::filesystem::temp_directory_path() / ("pvekit-it-" + std::to_string(getpid()) + ".tar.zst");
  {
    std::ofstream out(file, std::ios::binary);
    out << std::string(4096, 'x');
  }
  auto upid = upload_to_storage(client, {.node = node, .storage = storage, .file = file.string()});
  std::filesystem::remove(file);
  ASSERT_TRUE(upid.ok()) << upid.error().to_string();
  ASSERT_TRUE(wait_task(client, *upid, {.timeout = 60s, .poll_interval = 100ms}).ok());
  auto content = get_storage_content(client, node, storage, "vztmpl");
  ASSERT_TRUE(content.ok());
  bool found = false;
  for (const auto& v : *content) found = found || v.volid.find(file.filename().string()) != std::string::npos;
  EXPECT_TRUE(found) << "uploaded template listed in " << storage;
}

}  // namespace
}  // namespace pvekit::pve
