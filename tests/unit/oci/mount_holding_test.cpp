#include <gtest/gtest.h>

#include "oci/linux/mounts.h"

namespace pvekit::oci::linux {
namespace {

const char* kMountinfo =
    "26 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
    "40 26 0:30 / /tmp rw,relatime - tmpfs tmpfs rw\n"
    "41 40 0:31 / /tmp/b rw,relatime shared:7 master:2 - tmpfs tmpfs rw\n"
    "42 41 0:32 / /tmp/b rw,relatime shared:9 - tmpfs tmpfs rw\n";

TEST(MountHolding, LongestMountPointThatIsAParent) {
  auto m = mount_holding(kMountinfo, "/tmp/x/rootfs");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->mount_point, "/tmp");
  EXPECT_FALSE(m->shared);
  m = mount_holding(kMountinfo, "/var/lib/rootfs");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->mount_point, "/");
  EXPECT_TRUE(m->shared);
}

TEST(MountHolding, MountPointItselfAndTopmostOfStacked) {
  auto m = mount_holding(kMountinfo, "/tmp/b");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->mount_point, "/tmp/b");
  EXPECT_TRUE(m->shared);
  m = mount_holding(kMountinfo, "/tmp/bb/rootfs");  // a sibling with a common prefix
  ASSERT_TRUE(m);
  EXPECT_EQ(m->mount_point, "/tmp");
}

TEST(MountHolding, NothingInEmptyOrMalformedText) {
  EXPECT_FALSE(mount_holding("", "/tmp"));
  EXPECT_FALSE(mount_holding("garbage line\n", "/tmp"));
}

}  // namespace
}  // namespace pvekit::oci::linux
