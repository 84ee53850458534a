#include <gtest/gtest.h>

#include "core/json.h"
#include "core/files.h"
#include "sim/actions.h"
#include "sim/scenario.h"

namespace pvekit::sim {
namespace {

constexpr double kT0 = 1'700'000'000;

// The small scenario: 100/101 running qemu on ceph (pve1), 105 running qemu
// on local-lvm (pve1), 106 stopped qemu (pve2), 200 running CT on local-lvm
// (pve3), 201 running CT (pve1), 202 stopped CT (pve2), HA on vm:102.
World small_world() {
  auto c = load_scenario_file(std::string(PVEKIT_TEST_DATA_DIR) + "/scenarios/small.yaml", kT0);
  EXPECT_TRUE(c.ok()) << c.error().to_string();
  World w;
  w.cluster = std::move(*c);
  return w;
}

MigrateRequest qemu(int vmid, std::string from, std::string to, bool online = true) {
  MigrateRequest r;
  r.node = std::move(from);
  r.vmid = vmid;
  r.target = std::move(to);
  r.online = online;
  return r;
}

MigrateRequest lxc(int vmid, std::string from, std::string to, bool restart) {
  MigrateRequest r = qemu(vmid, std::move(from), std::move(to), false);
  r.type = GuestType::Lxc;
  r.restart = restart;
  return r;
}

TEST(MigrationTest, OnlineQemuMigrationLocksThenMovesGuest) {
  World w = small_world();
  auto upid = start_migration(w, qemu(100, "pve1", "pve2"), "root@pam", kT0);
  ASSERT_TRUE(upid.ok()) << upid.error().to_string();
  EXPECT_NE(upid->find(":qmigrate:100:root@pam:"), std::string::npos) << *upid;
  EXPECT_EQ(w.cluster.guests[100].lock, "migrate");
  const Task* t = w.tasks.find(*upid);
  ASSERT_NE(t, nullptr);
  const double end = t->end;
  EXPECT_GT(end - kT0, 10) << "8 GiB of memory takes a while";
  w.tasks.run_due(w, end - 0.5);
  EXPECT_FALSE(w.tasks.find(*upid)->finished);
  EXPECT_EQ(w.cluster.guests[100].node, "pve1");
  w.tasks.run_due(w, end);
  EXPECT_TRUE(w.tasks.find(*upid)->finished);
  EXPECT_EQ(w.tasks.find(*upid)->exitstatus, "OK");
  EXPECT_EQ(w.cluster.guests[100].node, "pve2");
  EXPECT_EQ(w.cluster.guests[100].lock, "");
  EXPECT_EQ(w.tasks.find(*upid)->log.back(), "TASK OK");
}

TEST(MigrationTest, DurationGrowsWithMemoryAndLocalDisks) {
  World w = small_world();
  const Guest& big = w.cluster.guests[102];    // 16G
  const Guest& small = w.cluster.guests[104];  // 2G
  EXPECT_GT(migration_duration(big, w.cluster, qemu(102, "pve2", "pve1")),
            migration_duration(small, w.cluster, qemu(104, "pve3", "pve1")));
  MigrateRequest with_disks = qemu(105, "pve1", "pve2");
  MigrateRequest without = with_disks;
  with_disks.with_local_disks = true;
  EXPECT_GT(migration_duration(w.cluster.guests[105], w.cluster, with_disks),
            migration_duration(w.cluster.guests[105], w.cluster, without) + 10);
}

TEST(MigrationTest, PreconditionFailuresAsPve) {
  struct Case {
    const char* name;
    MigrateRequest req;
    std::string message;
    int status;
  } cases[] = {
      {"running qemu without online", qemu(100, "pve1", "pve2", false), "can't migrate running VM without --online", 500},
      {"running CT without restart", lxc(201, "pve1", "pve2", false),
       "can't migrate running container without --online or --restart", 500},
      {"target is source", qemu(100, "pve1", "pve1"), "Parameter verification failed.", 400},
      {"unknown target", qemu(100, "pve1", "pve9"), "no such cluster node 'pve9'", 500},
      {"wrong source node", qemu(100, "pve2", "pve3"),
       "Configuration file 'nodes/pve2/qemu-server/100.conf' does not exist", 500},
      {"local disks without flag", qemu(105, "pve1", "pve2"),
       "can't live migrate attached local disks without with-local-disks option", 500},
  };
  for (auto& c : cases) {
    World w = small_world();
    auto r = start_migration(w, c.req, "root@pam", kT0);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.error().message(), c.message) << c.name;
    EXPECT_EQ(r.error().http_status(), c.status) << c.name;
    EXPECT_TRUE(w.tasks.list().empty()) << c.name;
  }
}

TEST(MigrationTest, TargetIsLocalNodeIsAParameterError) {
  World w = small_world();
  auto r = start_migration(w, qemu(100, "pve1", "pve1"), "root@pam", kT0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().details().at("target"), "target is local node.");
}

TEST(MigrationTest, LockedGuestCannotMigrate) {
  World w = small_world();
  ASSERT_TRUE(start_migration(w, qemu(100, "pve1", "pve2"), "root@pam", kT0).ok());
  auto again = start_migration(w, qemu(100, "pve1", "pve3"), "root@pam", kT0 + 1);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().message(), "VM 100 is locked (migrate)");
}

TEST(MigrationTest, OfflineTargetFailsTheTask) {
  World w = small_world();
  w.cluster.find_node("pve3")->online = false;
  auto upid = start_migration(w, qemu(100, "pve1", "pve3"), "root@pam", kT0);
  ASSERT_TRUE(upid.ok());
  w.tasks.run_due(w, kT0 + 1000);
  const Task* t = w.tasks.find(*upid);
  EXPECT_EQ(t->exitstatus, "migration aborted");
  EXPECT_EQ(w.cluster.guests[100].node, "pve1");
  EXPECT_EQ(w.cluster.guests[100].lock, "");
  EXPECT_NE(t->log.back().find("TASK ERROR: migration aborted"), std::string::npos);
}

TEST(MigrationTest, InjectedMigrationFailureIsUsedOnce) {
  World w = small_world();
  w.faults.fail_migration[100] = "disk mirror broke";
  auto first = start_migration(w, qemu(100, "pve1", "pve2"), "root@pam", kT0);
  w.tasks.run_due(w, kT0 + 1000);
  EXPECT_EQ(w.tasks.find(*first)->exitstatus, "migration aborted");
  bool logged = false;
  for (const auto& line : w.tasks.find(*first)->log) logged = logged || line.find("disk mirror broke") != std::string::npos;
  EXPECT_TRUE(logged);
  auto second = start_migration(w, qemu(100, "pve1", "pve2"), "root@pam", kT0 + 1000);
  w.tasks.run_due(w, kT0 + 2000);
  EXPECT_EQ(w.tasks.find(*second)->exitstatus, "OK");
  EXPECT_EQ(w.cluster.guests[100].node, "pve2");
}

TEST(MigrationTest, ContainerRestartMigrationStopsAndRestarts) {
  World w = small_world();
  auto upid = start_migration(w, lxc(201, "pve1", "pve2", true), "root@pam", kT0);
  ASSERT_TRUE(upid.ok()) << upid.error().to_string();
  EXPECT_NE(upid->find(":vzmigrate:201:"), std::string::npos);
  EXPECT_EQ(w.cluster.guests[201].status, "stopped");
  w.tasks.run_due(w, kT0 + 1000);
  EXPECT_EQ(w.cluster.guests[201].status, "running");
  EXPECT_EQ(w.cluster.guests[201].node, "pve2");
}

TEST(MigrationTest, HaManagedGuestGoesThroughHaMigrate) {
  World w = small_world();
  auto upid = start_migration(w, qemu(102, "pve2", "pve1"), "root@pam", kT0);
  ASSERT_TRUE(upid.ok());
  EXPECT_NE(upid->find(":hamigrate:102:"), std::string::npos);
  w.tasks.run_due(w, kT0 + 1000);
  EXPECT_EQ(w.cluster.guests[102].node, "pve1");
  ASSERT_EQ(w.tasks.list().size(), 2u);
  EXPECT_EQ(w.tasks.list().front()->upid.type, "qmigrate");
}

TEST(StatusActionTest, StartStopAndErrors) {
  World w = small_world();
  auto bad = start_status_action(w, "pve2", 202, GuestType::Lxc, "stop", "root@pam", kT0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "CT 202 not running");
  auto start = start_status_action(w, "pve2", 202, GuestType::Lxc, "start", "root@pam", kT0);
  ASSERT_TRUE(start.ok());
  EXPECT_NE(start->find(":vzstart:202:"), std::string::npos);
  w.tasks.run_due(w, kT0 + 10);
  EXPECT_EQ(w.cluster.guests[202].status, "running");
  auto again = start_status_action(w, "pve2", 202, GuestType::Lxc, "start", "root@pam", kT0 + 10);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().message(), "CT 202 already running");
}

TEST(CreateDestroyTest, CreateFromTemplateThenDestroy) {
  World w = small_world();
  Params p = {{"vmid", "300"}, {"ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"},
              {"hostname", "new"}, {"memory", "1024"}, {"rootfs", "ceph:4"}, {"start", "1"}};
  auto upid = create_lxc(w, "pve2", p, "root@pam", kT0);
  ASSERT_TRUE(upid.ok()) << upid.error().to_string();
  EXPECT_EQ(w.cluster.guests[300].lock, "create");
  w.tasks.run_due(w, kT0 + 100);
  EXPECT_EQ(w.cluster.guests[300].status, "running");
  EXPECT_EQ(w.cluster.guests[300].maxmem, 1024ull << 20);
  auto dup = create_lxc(w, "pve2", p, "root@pam", kT0 + 100);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().message(), "CT 300 already exists on node 'pve2'");
  auto running = destroy_guest(w, "pve2", 300, GuestType::Lxc, true, "root@pam", kT0 + 100);
  ASSERT_FALSE(running.ok());
  ASSERT_TRUE(start_status_action(w, "pve2", 300, GuestType::Lxc, "stop", "root@pam", kT0 + 100).ok());
  w.tasks.run_due(w, kT0 + 200);
  ASSERT_TRUE(destroy_guest(w, "pve2", 300, GuestType::Lxc, true, "root@pam", kT0 + 200).ok());
  w.tasks.run_due(w, kT0 + 300);
  EXPECT_EQ(w.cluster.guests.count(300), 0u);
}

TEST(CreateDestroyTest, MissingTemplateIsRejected) {
  World w = small_world();
  auto r = create_lxc(w, "pve1", {{"vmid", "300"}, {"ostemplate", "local:vztmpl/nope.tar.zst"}}, "root@pam", kT0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "volume 'local:vztmpl/nope.tar.zst' does not exist");
}

TEST(SnapshotTest, CreateRollbackDelete) {
  World w = small_world();
  ASSERT_TRUE(create_snapshot(w, "pve1", 201, GuestType::Lxc, "before", "d", "root@pam", kT0).ok());
  EXPECT_EQ(w.cluster.guests[201].lock, "snapshot");
  w.tasks.run_due(w, kT0 + 10);
  ASSERT_EQ(w.cluster.guests[201].snapshots.size(), 1u);
  auto dup = create_snapshot(w, "pve1", 201, GuestType::Lxc, "before", "", "root@pam", kT0 + 10);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().message(), "snapshot name 'before' already used");
  auto bad = create_snapshot(w, "pve1", 201, GuestType::Lxc, "1bad", "", "root@pam", kT0 + 10);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().http_status(), 400);
  ASSERT_TRUE(rollback_snapshot(w, "pve1", 201, GuestType::Lxc, "before", false, "root@pam", kT0 + 10).ok());
  w.tasks.run_due(w, kT0 + 20);
  ASSERT_TRUE(delete_snapshot(w, "pve1", 201, GuestType::Lxc, "before", "root@pam", kT0 + 20).ok());
  w.tasks.run_due(w, kT0 + 30);
  EXPECT_TRUE(w.cluster.guests[201].snapshots.empty());
  EXPECT_FALSE(delete_snapshot(w, "pve1", 201, GuestType::Lxc, "before", "root@pam", kT0 + 30).ok());
}

}  // namespace
}  // namespace pvekit::sim
