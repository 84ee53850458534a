#include <gtest/gtest.h>

#include "oci/linux/process.h"

namespace pvekit::oci::linux {
namespace {

TEST(InheritedListenFds, CountsDescriptorsMeantForUs) {
  EXPECT_EQ(inherited_listen_fds("2", "1234", 1234), 2);
  EXPECT_EQ(inherited_listen_fds("1", "77", 77), 1);
}

TEST(InheritedListenFds, IgnoresAnotherProcessesOrMalformedActivation) {
  EXPECT_EQ(inherited_listen_fds("2", "1", 1234), 0);
  EXPECT_EQ(inherited_listen_fds(nullptr, "1234", 1234), 0);
  EXPECT_EQ(inherited_listen_fds("2", nullptr, 1234), 0);
  EXPECT_EQ(inherited_listen_fds("0", "1234", 1234), 0);
  EXPECT_EQ(inherited_listen_fds("-3", "1234", 1234), 0);
  EXPECT_EQ(inherited_listen_fds("two", "1234", 1234), 0);
  EXPECT_EQ(inherited_listen_fds("2", "12x", 1234), 0);
}

}  // namespace
}  // namespace pvekit::oci::linux
