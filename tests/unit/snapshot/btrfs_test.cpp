// The btrfs driver's commands and directory handling, with a fake btrfs that
// creates and deletes plain directories where the real one would make subvolumes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "fake_runner.h"
#include "snapshot/driver.h"
#include "support/temp_dir.h"

namespace pvekit::snapshot {
namespace {

namespace fs = std::filesystem;
using testing::FakeRunner;

class BtrfsDriverTest : public ::testing::Test {
 protected:
  BtrfsDriverTest() : tmp_("btrfs-driver") {
    rootfs_ = tmp_.path() + "/rootfs";
    fs::create_directories(rootfs_);
    std::ofstream(rootfs_ + "/file") << "v1";
    // snapshot [-r] SRC DST copies; delete removes.
    runner_.on("btrfs subvolume snapshot", [](const std::vector<std::string>& a) {
      fs::copy(a[a.size() - 2], a.back(), fs::copy_options::recursive);
      return core::CommandOutput{};
    });
    runner_.on("btrfs subvolume delete", [](const std::vector<std::string>& a) {
      fs::remove_all(a.back());
      return core::CommandOutput{};
    });
  }
  std::unique_ptr<Driver> driver() { return make_btrfs_driver(runner_, config_); }
  std::string content() {
    std::ifstream in(rootfs_ + "/file");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  pvekit::testing::TempDir tmp_;
  std::string rootfs_;
  FakeRunner runner_;
  CheckpointConfig config_;
  Target target() const { return {.id = "web", .rootfs = rootfs_}; }
};

TEST_F(BtrfsDriverTest, CreateTakesAReadOnlySnapshotInTheSnapshotDir) {
  ASSERT_TRUE(driver()->create(target(), "s1").ok());
  EXPECT_EQ(runner_.calls.front(), "btrfs subvolume show " + rootfs_);
  EXPECT_EQ(runner_.calls.back(), "btrfs subvolume snapshot -r " + rootfs_ + " " + rootfs_ + ".snapshots/s1");
  auto listed = driver()->list(target());
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].name, "s1");
}

TEST_F(BtrfsDriverTest, SnapshotDirTemplateUsesIdAndRootfs) {
  config_.btrfs_snapshot_dir = tmp_.path() + "/snaps/{id}";
  ASSERT_TRUE(driver()->create(target(), "s1").ok());
  EXPECT_TRUE(fs::is_directory(tmp_.path() + "/snaps/web/s1"));
}

TEST_F(BtrfsDriverTest, RootfsThatIsNoSubvolumeIsRefusedWithAHint) {
  runner_.answer("btrfs subvolume show", 1, "", "ERROR: not a subvolume");
  auto s = driver()->create(target(), "s1");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().to_string().find("is not a btrfs subvolume"), std::string::npos) << s.error().to_string();
  EXPECT_NE(s.error().to_string().find("btrfs subvolume create"), std::string::npos);
}

TEST_F(BtrfsDriverTest, ExistingNameIsAConflict) {
  ASSERT_TRUE(driver()->create(target(), "s1").ok());
  auto s = driver()->create(target(), "s1");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().category(), core::ErrorCategory::Conflict);
}

TEST_F(BtrfsDriverTest, RollbackSwapsInACopyOfTheSnapshot) {
  ASSERT_TRUE(driver()->create(target(), "s1").ok());
  std::ofstream(rootfs_ + "/file") << "v2";
  std::ofstream(rootfs_ + "/new") << "x";
  runner_.calls.clear();
  ASSERT_TRUE(driver()->rollback(target(), "s1", false).ok());
  EXPECT_EQ(content(), "v1");
  EXPECT_FALSE(fs::exists(rootfs_ + "/new"));
  EXPECT_FALSE(fs::exists(rootfs_ + ".rollback"));
  EXPECT_FALSE(fs::exists(rootfs_ + ".replaced"));
  EXPECT_TRUE(fs::exists(rootfs_ + ".snapshots/s1/file"));  // the snapshot itself stays
  EXPECT_EQ(runner_.calls.back(), "btrfs subvolume delete " + rootfs_ + ".replaced");
}

TEST_F(BtrfsDriverTest, RollbackClearsLeftoversOfAnInterruptedOne) {
  ASSERT_TRUE(driver()->create(target(), "s1").ok());
  fs::create_directories(rootfs_ + ".rollback");
  ASSERT_TRUE(driver()->rollback(target(), "s1", false).ok());
  EXPECT_EQ(content(), "v1");
}

TEST_F(BtrfsDriverTest, FailedSnapshotLeavesTheRootfsAlone) {
  ASSERT_TRUE(driver()->create(target(), "s1").ok());
  std::ofstream(rootfs_ + "/file") << "v2";
  FakeRunner failing;
  failing.answer("btrfs subvolume snapshot", 1, "", "ERROR: cannot snapshot: No space left on device");
  auto s = make_btrfs_driver(failing, config_)->rollback(target(), "s1", false);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().to_string().find("No space left on device"), std::string::npos);
  EXPECT_EQ(content(), "v2");
}

TEST_F(BtrfsDriverTest, MissingSnapshotIsNotFound) {
  for (auto s : {driver()->rollback(target(), "nope", false), driver()->remove(target(), "nope")}) {
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().category(), core::ErrorCategory::NotFound);
  }
}

TEST_F(BtrfsDriverTest, RemoveDeletesTheSubvolume) {
  ASSERT_TRUE(driver()->create(target(), "s1").ok());
  ASSERT_TRUE(driver()->remove(target(), "s1").ok());
  EXPECT_EQ(runner_.calls.back(), "btrfs subvolume delete " + rootfs_ + ".snapshots/s1");
  EXPECT_TRUE(driver()->list(target()).value().empty());
}

TEST_F(BtrfsDriverTest, ListIgnoresForeignEntries) {
  fs::create_directories(rootfs_ + ".snapshots/not-ours");
  std::ofstream(rootfs_ + ".snapshots/file") << "";
  ASSERT_TRUE(driver()->create(target(), "s1").ok());
  auto listed = driver()->list(target());
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].name, "s1");
}

}  // namespace
}  // namespace pvekit::snapshot
