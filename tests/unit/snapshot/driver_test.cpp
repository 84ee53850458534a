#include "snapshot/driver.h"

#include <gtest/gtest.h>

#include "core/config.h"

namespace pvekit::snapshot {
namespace {

TEST(ChooseDriver, Table) {
  using K = DriverKind;
  struct Case {
    DriverChoice in;
    std::optional<K> want;  // nullopt: refused
  } cases[] = {
      {{K::Auto, true, false, FsKind::Other}, K::Pve},
      {{K::Pve, true, true, FsKind::Other}, K::Pve},
      {{K::Btrfs, true, true, FsKind::Btrfs}, std::nullopt},
      {{K::Criu, true, false, FsKind::Other}, std::nullopt},
      {{K::Pve, false, true, FsKind::Other}, std::nullopt},
      {{K::Auto, false, false, FsKind::Btrfs}, K::Criu},
      {{K::Auto, false, true, FsKind::Btrfs}, K::Btrfs},
      {{K::Auto, false, true, FsKind::Zfs}, K::Zfs},
      {{K::Auto, false, true, FsKind::Other}, std::nullopt},
      {{K::Zfs, false, false, FsKind::Other}, K::Zfs},
      {{K::Criu, false, true, FsKind::Btrfs}, K::Criu},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    auto got = choose_driver(cases[i].in);
    if (cases[i].want) {
      ASSERT_TRUE(got.ok()) << "case " << i << ": " << got.error().to_string();
      EXPECT_EQ(*got, *cases[i].want) << "case " << i;
    } else {
      ASSERT_FALSE(got.ok()) << "case " << i;
      EXPECT_EQ(got.error().category(), core::ErrorCategory::Usage) << "case " << i;
    }
  }
}

// An in-memory driver: snapshots are names with times.
class MemoryDriver final : public Driver {
 public:
  DriverKind kind() const override { return DriverKind::Btrfs; }
  bool needs_freeze() const override { return true; }
  core::Status create(const Target&, const std::string& name) override {
    snaps.push_back({name, 0});
    return core::ok();
  }
  core::Status rollback(const Target&, const std::string&, bool) override { return core::ok(); }
  core::Result<std::vector<SnapshotInfo>> list(const Target&) override { return snaps; }
  core::Status remove(const Target&, const std::string& name) override {
    if (name == fail_on) return core::Error(core::ErrorCategory::Runtime, "busy");
    std::erase_if(snaps, [&](const SnapshotInfo& s) { return s.name == name; });
    return core::ok();
  }
  std::vector<SnapshotInfo> snaps;
  std::string fail_on;
};

TEST(ApplyRetention, RemovesWhatThePolicyDrops) {
  MemoryDriver d;
  d.snaps = {{"a", 100}, {"b", 200}, {"c", 300}};
  auto removed = apply_retention(d, {}, {.max_snapshots = 2}, 400, "c");
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, std::vector<std::string>{"a"});
  ASSERT_EQ(d.snaps.size(), 2u);
}

TEST(ApplyRetention, FailureNamesRetention) {
  MemoryDriver d;
  d.snaps = {{"a", 100}, {"b", 200}};
  d.fail_on = "a";
  auto removed = apply_retention(d, {}, {.max_snapshots = 1}, 400, "b");
  ASSERT_FALSE(removed.ok());
  EXPECT_EQ(removed.error().to_string(), "retention: busy");
}

TEST(DetectFs, MissingPathIsASystemError) {
  auto r = detect_fs("/nonexistent/rootfs");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().sys_errno(), ENOENT);
}

TEST(CheckpointConfig, DefaultsMatchTheDefaultStruct) {
  core::ConfigSchema schema;
  add_checkpoint_keys(schema);
  core::LayeredConfig layers(schema);
  auto c = checkpoint_config_from(layers);
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  CheckpointConfig d;
  EXPECT_EQ(c->driver, d.driver);
  EXPECT_EQ(c->btrfs_snapshot_dir, d.btrfs_snapshot_dir);
  EXPECT_EQ(c->zfs_dataset, d.zfs_dataset);
  EXPECT_EQ(c->retention.max_snapshots, d.retention.max_snapshots);
  EXPECT_EQ(c->retention.max_age_s, d.retention.max_age_s);
  EXPECT_EQ(c->pve_task_timeout_s, d.pve_task_timeout_s);
}

TEST(CheckpointConfig, ValuesAndErrorsNameTheKey) {
  core::ConfigSchema schema;
  add_checkpoint_keys(schema);
  core::LayeredConfig layers(schema);
  ASSERT_TRUE(layers.merge_document(core::Json::parse(R"({"checkpoint": {"driver": "zfs",
      "zfs": {"dataset": "tank/ct/{id}"}, "retention": {"max_snapshots": 3, "max_age": "7d"}}})"), "test").ok());
  auto c = checkpoint_config_from(layers);
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->driver, DriverKind::Zfs);
  EXPECT_EQ(c->zfs_dataset, "tank/ct/{id}");
  EXPECT_EQ(c->retention.max_snapshots, 3);
  EXPECT_EQ(c->retention.max_age_s, 7 * 86400);

  EXPECT_FALSE(layers.set("checkpoint.driver", "lvm", "--flag").ok());  // choices enforced by the schema
  ASSERT_TRUE(layers.set("checkpoint.retention.max_age", "soon", "--flag").ok());
  auto bad = checkpoint_config_from(layers);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().to_string().find("checkpoint.retention.max_age"), std::string::npos);
  EXPECT_NE(bad.error().to_string().find("soon"), std::string::npos);
}

}  // namespace
}  // namespace pvekit::snapshot
