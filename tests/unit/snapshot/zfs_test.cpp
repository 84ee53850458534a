#include "snapshot/zfs.h"

#include <gtest/gtest.h>

#include "fake_runner.h"
#include "snapshot/driver.h"

namespace pvekit::snapshot {
namespace {

using testing::FakeRunner;

const char* kList = "zfs list -H -p -t snapshot -o name,creation -s creation -d 1 tank/ct/web";

TEST(ZfsList, ParsesNamesAndTimes) {
  auto r = parse_zfs_snapshot_list("tank/ct/web@a\t1700000000\ntank/ct/web@b\t1700000100\n", "tank/ct/web");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].name, "a");
  EXPECT_EQ((*r)[1].created, 1700000100);
  EXPECT_TRUE(parse_zfs_snapshot_list("", "tank").value().empty());
}

TEST(ZfsList, MalformedLinesAreParseErrors) {
  for (const char* text : {"tank/other@a\t1\n", "tank/ct/web@a 1\n", "tank/ct/web@a\tsoon\n", "tank/ct/web@\t1\n"}) {
    auto r = parse_zfs_snapshot_list(text, "tank/ct/web");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().category(), core::ErrorCategory::Parse);
  }
}

class ZfsDriverTest : public ::testing::Test {
 protected:
  ZfsDriverTest() {
    config_.zfs_dataset = "tank/ct/{id}";
    runner_.answer(kList, 0, "tank/ct/web@old\t1700000000\n");
  }
  std::unique_ptr<Driver> driver() { return make_zfs_driver(runner_, config_); }

  FakeRunner runner_;
  CheckpointConfig config_;
  Target web_{.id = "web", .rootfs = "/tank/ct/web/rootfs"};
};

TEST_F(ZfsDriverTest, CreateSnapshotsTheTemplatedDataset) {
  ASSERT_TRUE(driver()->create(web_, "s1").ok());
  EXPECT_EQ(runner_.calls.back(), "zfs snapshot tank/ct/web@s1");
}

TEST_F(ZfsDriverTest, CreateRefusesAnExistingName) {
  auto s = driver()->create(web_, "old");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().category(), core::ErrorCategory::Conflict);
  EXPECT_EQ(runner_.calls.size(), 1u);  // only the list
}

TEST_F(ZfsDriverTest, DatasetDefaultsToTheOneHoldingTheRootfs) {
  config_.zfs_dataset.clear();
  runner_.answer("zfs list -H -o name /tank/ct/web/rootfs", 0, "tank/ct/web\n");
  ASSERT_TRUE(driver()->create(web_, "s1").ok());
  EXPECT_EQ(runner_.calls.back(), "zfs snapshot tank/ct/web@s1");
}

TEST_F(ZfsDriverTest, RootfsOutsideZfsIsAnErrorWithZfsReason) {
  config_.zfs_dataset.clear();
  runner_.answer("zfs list -H -o name", 1, "", "cannot open '/srv/rootfs': not a ZFS filesystem\n");
  auto s = driver()->create(web_, "s1");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().to_string().find("not a ZFS filesystem"), std::string::npos) << s.error().to_string();
}

TEST_F(ZfsDriverTest, RollbackAndRemoveCheckTheSnapshotExists) {
  ASSERT_TRUE(driver()->rollback(web_, "old", false).ok());
  EXPECT_EQ(runner_.calls.back(), "zfs rollback tank/ct/web@old");
  ASSERT_TRUE(driver()->remove(web_, "old").ok());
  EXPECT_EQ(runner_.calls.back(), "zfs destroy tank/ct/web@old");
  for (auto s : {driver()->rollback(web_, "nope", false), driver()->remove(web_, "nope")}) {
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().category(), core::ErrorCategory::NotFound);
    EXPECT_NE(s.error().to_string().find("tank/ct/web@nope"), std::string::npos);
  }
}

TEST_F(ZfsDriverTest, DestroyNewerAddsDashR) {
  config_.zfs_destroy_newer = true;
  ASSERT_TRUE(driver()->rollback(web_, "old", false).ok());
  EXPECT_EQ(runner_.calls.back(), "zfs rollback -r tank/ct/web@old");
}

TEST_F(ZfsDriverTest, ZfsFailureCarriesCommandAndStderr) {
  runner_.answer("zfs rollback", 1, "", "cannot rollback to 'tank/ct/web@old': more recent snapshots exist\n");
  auto s = driver()->rollback(web_, "old", false);
  ASSERT_FALSE(s.ok());
  const std::string text = s.error().to_string();
  EXPECT_NE(text.find("zfs rollback tank/ct/web@old: exit status 1"), std::string::npos) << text;
  EXPECT_NE(text.find("more recent snapshots exist"), std::string::npos) << text;
}

TEST_F(ZfsDriverTest, ListReturnsTheSnapshots) {
  auto r = driver()->list(web_);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].name, "old");
  EXPECT_EQ((*r)[0].created, 1700000000);
}

TEST_F(ZfsDriverTest, BadNamesAreRefusedBeforeAnyCommand) {
  auto s = driver()->create(web_, "a@b");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().category(), core::ErrorCategory::Usage);
  EXPECT_TRUE(runner_.calls.empty());
}

}  // namespace
}  // namespace pvekit::snapshot
