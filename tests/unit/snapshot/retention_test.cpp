#include "snapshot/retention.h"

#include <gtest/gtest.h>

namespace pvekit::snapshot {
namespace {

using Names = std::vector<std::string>;

TEST(Retention, CountLimitDropsOldestFirstAndKeepsTheNewOne) {
  std::vector<SnapshotInfo> snaps = {{"a", 100}, {"b", 200}, {"c", 300}, {"d", 400}};
  EXPECT_EQ(select_expired(snaps, {.max_snapshots = 2}, 1000, "d"), (Names{"a", "b"}));
}

TEST(Retention, NoLimitsDropNothing) {
  EXPECT_TRUE(select_expired({{"a", 1}, {"b", 2}}, {}, 1'000'000, "b").empty());
}

TEST(Retention, AgeLimitDropsOldButNeverTheOneJustTaken) {
  std::vector<SnapshotInfo> snaps = {{"old", 100}, {"mid", 900}, {"new", 990}};
  EXPECT_EQ(select_expired(snaps, {.max_age_s = 50}, 1000, "mid"), (Names{"old"}));
}

TEST(Retention, UnknownCreationTimeOnlyCountsTowardsTheLimit) {
  std::vector<SnapshotInfo> snaps = {{"x", 0}, {"a", 100}};
  EXPECT_TRUE(select_expired(snaps, {.max_age_s = 10}, 1000, "a").empty());
  EXPECT_EQ(select_expired(snaps, {.max_snapshots = 1}, 1000, "a"), (Names{"x"}));
}

TEST(Retention, KeptSnapshotCountsEvenWhenItSortsLast) {
  // Clock skew: the snapshot just taken reports an older time than the others.
  std::vector<SnapshotInfo> snaps = {{"a", 500}, {"b", 600}, {"new", 100}};
  EXPECT_EQ(select_expired(snaps, {.max_snapshots = 2}, 1000, "new"), (Names{"a"}));
  EXPECT_EQ(select_expired(snaps, {.max_snapshots = 1}, 1000, "new"), (Names{"a", "b"}));
}

TEST(Retention, EqualTimesAreOrderedByName) {
  std::vector<SnapshotInfo> snaps = {{"b", 100}, {"a", 100}, {"c", 100}};
  EXPECT_EQ(select_expired(snaps, {.max_snapshots = 1}, 1000, "c"), (Names{"a", "b"}));
}

TEST(ParseAge, UnitsAndErrors) {
  struct Case {
    const char* text;
    std::optional<int64_t> want;
  } cases[] = {{"90", 90},     {"30s", 30}, {"15m", 900},         {"12h", 43200}, {"7d", 604800},
               {"2w", 1209600}, {"", {}},   {"-1d", {}},          {"d", {}},      {"1y", {}},
               {"1.5h", {}},   {" 3h ", 10800}};
  for (const auto& c : cases) EXPECT_EQ(parse_age(c.text), c.want) << c.text;
}

TEST(SnapshotName, FollowsProxmoxRules) {
  for (const char* good : {"ab", "before_upgrade", "Snap1", "lxcri_20260101_120000_001"})
    EXPECT_TRUE(validate_snapshot_name(good).ok()) << good;
  for (const char* bad : {"", "a", "1abc", "has-dash", "has space", "a/b", "x@y",
                          "a1234567890123456789012345678901234567890"}) {
    auto s = validate_snapshot_name(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.error().category(), core::ErrorCategory::Usage);
    EXPECT_NE(s.error().to_string().find(std::string("\"") + bad + "\""), std::string::npos) << s.error().to_string();
  }
}

TEST(SnapshotName, AutomaticNamesAreValidAndSortByTime) {
  std::string a = auto_snapshot_name(1767268800123), b = auto_snapshot_name(1767268801000);
  EXPECT_EQ(a, "lxcri_20260101_120000_123");
  EXPECT_LT(a, b);
  EXPECT_TRUE(validate_snapshot_name(a).ok());
}

TEST(Template, ReplacesEveryPlaceholder) {
  EXPECT_EQ(expand_template("{rootfs}.snap/{id}/{id}", {{"id", "web"}, {"rootfs", "/b/rootfs"}}),
            "/b/rootfs.snap/web/web");
  EXPECT_EQ(expand_template("tank/{x}", {{"id", "web"}}), "tank/{x}");
  EXPECT_EQ(expand_template("{id}", {{"id", "{id}"}}), "{id}");
}

}  // namespace
}  // namespace pvekit::snapshot
