#include "balance/snapshot_reader.h"

#include <gtest/gtest.h>

#include "balance/fake_cluster.h"
#include "pve/api.h"

namespace pvekit::balance {
namespace {

TEST(LocalDiskBytes, CountsOnlyDisksOnNodeLocalStorage) {
  struct Case {
    const char* name;
    std::map<std::string, std::string> config;
    uint64_t expected;
  };
  const std::vector<std::string> shared = {"ceph", "nfs"};
  const Case cases[] = {
      {"local scsi disk", {{"scsi0", "local-lvm:vm-100-disk-0,size=32G"}}, 32ull << 30},
      {"shared disk", {{"virtio0", "ceph:vm-100-disk-0,size=32G"}}, 0},
      {"cdrom", {{"ide2", "local:iso/debian.iso,media=cdrom,size=600M"}}, 0},
      {"no media", {{"ide2", "none,media=cdrom"}}, 0},
      {"pass-through", {{"scsi1", "/dev/disk/by-id/ata-X,size=1T"}}, 0},
      {"lxc rootfs and mount point",
       {{"rootfs", "local-lvm:subvol-101-disk-0,size=8G"}, {"mp0", "local-lvm:vm-101-disk-1,mp=/data,size=2G"}},
       10ull << 30},
      {"lxc bind mount", {{"mp1", "/srv/share,mp=/share"}}, 0},
      {"efi and tpm", {{"efidisk0", "local-lvm:vm-1-disk-1,size=4M"}, {"tpmstate0", "local-lvm:vm-1-disk-2,size=4M"}},
       8ull << 20},
      {"not a disk key", {{"net0", "virtio=AA:BB,bridge=vmbr0"}, {"memory", "2048"}}, 0},
  };
  for (const auto& c : cases) EXPECT_EQ(local_disk_bytes(c.config, shared), c.expected) << c.name;
}

TEST(Percentile, NearestRank) {
  EXPECT_EQ(percentile({}, 90), 0.0);
  EXPECT_EQ(percentile({5, 1, 3, 2, 4}, 100), 5.0);
  EXPECT_EQ(percentile({5, 1, 3, 2, 4}, 50), 3.0);
  EXPECT_EQ(percentile({5, 1, 3, 2, 4}, 1), 1.0);
  std::vector<double> hundred;
  for (int i = 1; i <= 100; ++i) hundred.push_back(i);
  EXPECT_EQ(percentile(hundred, 95), 95.0);
}

TEST(SnapshotReader, BuildsTheClusterStateFromTheApi) {
  testing::FakeCluster c;
  c.add_node("pve1", 64ull << 30, 16);
  c.add_node("pve2", 32ull << 30, 8, false);
  c.add_guest(100, {.node = "pve1", .tags = "plb_pin_pve1;Web", .maxmem = 8ull << 30,
                    .config = {{"scsi0", "local-lvm:vm-100-disk-0,size=20G"}, {"scsi1", "ceph:vm-100-disk-1,size=1T"}}});
  c.add_guest(101, {.node = "pve1", .type = "lxc", .status = "stopped", .lock = "backup"});
  BalanceConfig config;
  config.proxmox_cluster.maintenance_nodes = {"pve1"};
  auto snap = read_snapshot(c.client(), config);
  ASSERT_TRUE(snap.ok()) << snap.error().to_string();
  EXPECT_EQ(snap->cluster_name, "fake");
  EXPECT_TRUE(snap->quorate);
  EXPECT_EQ(snap->pve_version, "9.1.1");
  ASSERT_EQ(snap->state.nodes.size(), 2u);
  const Node* pve1 = snap->state.find_node("pve1");
  ASSERT_NE(pve1, nullptr);
  EXPECT_TRUE(pve1->maintenance);
  EXPECT_EQ(pve1->cpus, 16u);
  EXPECT_EQ(pve1->disk_total, 500ull << 30) << "only the local storage counts";
  EXPECT_FALSE(snap->state.find_node("pve2")->online);
  const Guest* g100 = snap->state.find_guest(100);
  ASSERT_NE(g100, nullptr);
  EXPECT_EQ(g100->tags, (std::vector<std::string>{"plb_pin_pve1", "web"}));
  EXPECT_EQ(g100->local_disk_bytes, 20ull << 30);
  EXPECT_EQ(g100->memory_max, 8ull << 30);
  const Guest* g101 = snap->state.find_guest(101);
  ASSERT_NE(g101, nullptr);
  EXPECT_EQ(g101->type, GuestType::Lxc);
  EXPECT_EQ(g101->status, GuestStatus::Stopped);
  EXPECT_EQ(g101->memory_used, 0u);
  EXPECT_EQ(g101->lock, "backup");
}

// The daemon's rounds read only the configs that may have changed.
TEST(SnapshotReader, ConfigCacheReadsOnlyChangedGuestsAndRotatesTheRest) {
  testing::FakeCluster c;
  c.add_node("pve1");
  c.add_node("pve2");
  for (uint32_t vmid = 100; vmid < 106; ++vmid)
    c.add_guest(vmid, {.node = "pve1", .config = {{"scsi0", "local-lvm:vm-disk,size=10G"}, {"digest", "first"}}});
  auto config_reads = [&] {
    size_t n = 0;
    for (const auto& r : c.transport().requests())
      if (r.url.find("/config") != std::string::npos) ++n;
    c.transport().clear_requests();
    return n;
  };
  GuestConfigCache cache(/*refresh_per_round=*/1);
  auto round = [&] { return read_snapshot(c.client(), BalanceConfig{}, 4, &cache); };

  ASSERT_TRUE(round().ok());
  EXPECT_EQ(config_reads(), 6u) << "the first round reads every config";
  auto second = round();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(config_reads(), 1u) << "then one, the one read longest ago";
  EXPECT_EQ(second->state.find_guest(103)->local_disk_bytes, 10ull << 30) << "the rest come from the cache";

  // A change /cluster/resources shows (a lock, a move) is read at once.
  c.guests[102].lock = "backup";
  c.guests[104].node = "pve2";
  ASSERT_TRUE(round().ok());
  EXPECT_EQ(config_reads(), 3u);

  // A disk moved to shared storage shows nowhere but in the config: the
  // rotation finds it within one pass over the guests, and its digest changed.
  c.guests[105].config["scsi0"] = "ceph:vm-disk,size=10G";
  c.guests[105].config["digest"] = "changed";
  bool seen = false;
  for (int r = 0; r < 6 && !seen; ++r) {
    auto snap = round();
    ASSERT_TRUE(snap.ok());
    seen = snap->state.find_guest(105)->local_disk_bytes == 0;
    if (seen) {
      EXPECT_EQ(cache.digest_changes(), 1u);
    }
  }
  EXPECT_TRUE(seen) << "a change only the config shows was never picked up";

  // A guest that is gone leaves the cache; one that comes is read.
  c.guests.erase(100);
  c.add_guest(107, {.node = "pve2"});
  ASSERT_TRUE(round().ok());
  EXPECT_EQ(cache.reads(), 2u);  // 107 and one rotated
}

TEST(SnapshotReader, GuestWhoseConfigFailsIsLeftOutWithAWarning) {
  testing::FakeCluster c;
  c.add_node("pve1");
  c.add_guest(100, {.node = "pve1"});
  c.add_guest(101, {.node = "pve1"});
  c.transport().route(pve::HttpMethod::Get, "/nodes/pve1/qemu/101/config", [](const pve::HttpRequest&) {
    return core::Result<pve::HttpResponse>(pvekit::testing::pve_error(500, "Configuration file does not exist"));
  });
  auto snap = read_snapshot(c.client(), BalanceConfig{});
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->state.guests.size(), 1u);
  ASSERT_EQ(snap->warnings.size(), 1u);
  EXPECT_NE(snap->warnings[0].find("guest 101 left out"), std::string::npos) << snap->warnings[0];
}

TEST(SnapshotReader, NodeFiguresComeFromTheNodeItself) {
  testing::FakeCluster c;
  c.add_node("pve1", 64ull << 30, 16);
  c.transport().route(pve::HttpMethod::Get, "/nodes/pve1/status", [](const pve::HttpRequest&) {
    return core::Result<pve::HttpResponse>(pvekit::testing::pve_data(
        {{"cpu", 0.25}, {"memory", {{"total", 128ull << 30}, {"used", 40ull << 30}}}, {"cpuinfo", {{"cpus", 32}}}}));
  });
  auto snap = read_snapshot(c.client(), BalanceConfig{});
  ASSERT_TRUE(snap.ok()) << snap.error().to_string();
  const Node* pve1 = snap->state.find_node("pve1");
  ASSERT_NE(pve1, nullptr);
  EXPECT_EQ(pve1->memory_total, 128ull << 30) << "not the 64 GiB of /cluster/resources";
  EXPECT_EQ(pve1->memory_used, 40ull << 30);
  EXPECT_EQ(pve1->cpus, 32u);
  EXPECT_DOUBLE_EQ(pve1->cpu_usage, 0.25);
}

TEST(SnapshotReader, NodeWhoseStatusFailsIsTreatedAsOfflineWithAWarning) {
  testing::FakeCluster c;
  c.add_node("pve1");
  c.add_node("pve2");
  c.add_guest(100, {.node = "pve1"});
  c.transport().route(pve::HttpMethod::Get, "/nodes/pve2/status", [](const pve::HttpRequest&) {
    return core::Result<pve::HttpResponse>(pvekit::testing::pve_error(500, "hostname lookup 'pve2' failed"));
  });
  auto snap = read_snapshot(c.client(), BalanceConfig{});
  ASSERT_TRUE(snap.ok()) << snap.error().to_string();
  EXPECT_TRUE(snap->state.find_node("pve1")->online);
  EXPECT_FALSE(snap->state.find_node("pve2")->online);
  ASSERT_EQ(snap->warnings.size(), 1u);
  EXPECT_NE(snap->warnings[0].find("node pve2 treated as offline"), std::string::npos) << snap->warnings[0];
  EXPECT_NE(snap->warnings[0].find("hostname lookup"), std::string::npos) << snap->warnings[0];
}

TEST(NodeStatusRotation, NewNodesAtOnceThenTheOnesAskedLongestAgo) {
  NodeStatusRotation rotation(2);
  const std::vector<std::string> five = {"a", "b", "c", "d", "e"};
  auto ask = [&](const std::vector<std::string>& online, const std::string& failing = "") {
    auto due = rotation.due(online);
    for (const auto& n : due) rotation.answered(n, n != failing);
    return due;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ask(five), five) << "every node is new";
  EXPECT_EQ(ask(five), (V{"a", "b"}));
  EXPECT_EQ(ask(five), (V{"c", "d"}));
  EXPECT_EQ(ask(five, "e"), (V{"e", "a"}));
  EXPECT_EQ(ask(five), (V{"e", "b", "c"})) << "e did not answer: asked again at once";
  EXPECT_EQ(rotation.reads(), 3u);
  // d goes offline and comes back: asked at once, as a new node.
  EXPECT_EQ(ask({"a", "b", "c", "e"}), (V{"a", "b"}));
  EXPECT_EQ(ask(five), (V{"d", "c", "e"}));
  // Every node within ceil(5 / 2) rounds.
  std::map<std::string, int> seen;
  for (int r = 0; r < 3; ++r)
    for (const auto& n : ask(five)) ++seen[n];
  EXPECT_EQ(seen.size(), 5u);
}

TEST(SnapshotReader, NodeStatusesInRotationKeepTheResourceFiguresOfTheOthers) {
  testing::FakeCluster c;
  for (int i = 1; i <= 6; ++i) c.add_node("pve" + std::to_string(i), 64ull << 30, 16);
  c.add_guest(100, {.node = "pve1"});
  NodeStatusRotation rotation(2);
  GuestConfigCache cache;
  auto status_reads = [&] {
    size_t n = 0;
    for (const auto& r : c.transport().requests())
      if (r.url.find("/nodes/") != std::string::npos && r.url.ends_with("/status")) ++n;
    c.transport().clear_requests();
    return n;
  };
  auto round = [&] { return read_snapshot(c.client(), BalanceConfig{}, 4, &cache, &rotation); };
  auto first = round();
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  EXPECT_EQ(status_reads(), 6u);
  auto later = round();
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(status_reads(), 2u);
  // The plan's input is the same as with every status read: the nodes not
  // asked keep /cluster/resources' figures, which the node's status repeats.
  auto full = read_snapshot(c.client(), BalanceConfig{});
  ASSERT_TRUE(full.ok());
  c.transport().clear_requests();
  for (const auto& n : full->state.nodes) {
    const Node* same = later->state.find_node(n.name);
    ASSERT_NE(same, nullptr);
    EXPECT_EQ(same->memory_total, n.memory_total) << n.name;
    EXPECT_EQ(same->memory_used, n.memory_used) << n.name;
    EXPECT_EQ(same->cpus, n.cpus) << n.name;
    EXPECT_EQ(same->online, n.online) << n.name;
  }
}

TEST(SnapshotReader, FailsWhenTheClusterCannotBeListed) {
  testing::FakeCluster c;
  c.transport().route(pve::HttpMethod::Get, "/cluster/resources", [](const pve::HttpRequest&) {
    return core::Result<pve::HttpResponse>(pvekit::testing::pve_error(403, "Permission check failed"));
  });
  auto snap = read_snapshot(c.client(), BalanceConfig{});
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.error().category(), core::ErrorCategory::Auth);
}

TEST(MigrationTarget, ComesFromTheTaskLogsStartLine) {
  EXPECT_EQ(migration_target({{1, "2026-12-07 03:00:00 use dedicated network address (10.1.0.3)"},
                              {2, "2026-12-07 03:00:00 starting migration of VM 104 to node 'pve3' (10.1.0.3)"}}),
            "pve3");
  EXPECT_EQ(migration_target({{1, "2026-12-07 03:00:00 starting migration of CT 201 to node 'pve-b' (10.0.0.2)"}}),
            "pve-b");
  EXPECT_EQ(migration_target({{1, "no content"}}), "");
}

TEST(SnapshotReader, RunningMigrationsAndMigrateLocksAreInFlight) {
  testing::FakeCluster c;
  c.add_node("pve1");
  c.add_node("pve2");
  c.add_node("pve3");
  c.add_guest(101, {.node = "pve1"});
  c.add_guest(102, {.node = "pve1", .type = "lxc"});
  c.add_guest(103, {.node = "pve2", .lock = "migrate"});  // its task is not listed
  c.add_guest(104, {.node = "pve2", .lock = "backup"});
  std::string upid = c.add_running_migration(101, "pve3", 100);
  std::string ended = c.add_running_migration(102, "pve2", 0);
  ASSERT_TRUE(pve::get_task_status(c.client(), ended).ok());  // the first poll sees it end
  auto snap = read_snapshot(c.client(), BalanceConfig{});
  ASSERT_TRUE(snap.ok()) << snap.error().to_string();
  const auto& s = snap->state;
  ASSERT_TRUE(s.find_guest(101)->migration);
  EXPECT_EQ(s.find_guest(101)->migration->source, "pve1");
  EXPECT_EQ(s.find_guest(101)->migration->target, "pve3");
  EXPECT_EQ(s.find_guest(101)->migration->upid, upid);
  EXPECT_EQ(s.find_guest(101)->planned_node(), "pve3");
  EXPECT_FALSE(s.find_guest(102)->migration) << "its task ended";
  ASSERT_TRUE(s.find_guest(103)->migration);
  EXPECT_FALSE(s.find_guest(103)->migration->target_known());
  EXPECT_EQ(s.find_guest(103)->planned_node(), "pve2");
  EXPECT_FALSE(s.find_guest(104)->migration);
}

}  // namespace
}  // namespace pvekit::balance
