// Pure parts of the init's process set-up: HOME from /etc/passwd, which
// sysctls a container's namespaces allow, and the namespaces of the clone.

#include <sched.h>

#include <gtest/gtest.h>

#include "oci/linux/namespaces.h"
#include "oci/linux/process.h"

namespace pvekit::oci::linux {
namespace {

using Env = std::vector<std::string>;

const char* kPasswd = "root:x:0:0:root:/root:/bin/sh\nnohome:x:7:7:::/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n";

TEST(EnvWithHome, TakesTheHomeOfTheUidFromPasswd) {
  EXPECT_EQ(env_with_home({"PATH=/bin"}, 1000, kPasswd), (Env{"PATH=/bin", "HOME=/home/user"}));
  EXPECT_EQ(env_with_home({}, 0, kPasswd), (Env{"HOME=/root"}));
}

TEST(EnvWithHome, FallsBackToRootDirectory) {
  EXPECT_EQ(env_with_home({"A=1"}, 4242, kPasswd), (Env{"A=1", "HOME=/"}));
  EXPECT_EQ(env_with_home({}, 7, kPasswd), (Env{"HOME=/"}));
  EXPECT_EQ(env_with_home({}, 0, ""), (Env{"HOME=/"}));
  EXPECT_EQ(env_with_home({}, 0, "garbage line\n::\n"), (Env{"HOME=/"}));
}

TEST(EnvWithHome, KeepsAGivenHomeAndReplacesAnEmptyOne) {
  EXPECT_EQ(env_with_home({"HOME=/data", "A=1"}, 1000, kPasswd), (Env{"HOME=/data", "A=1"}));
  EXPECT_EQ(env_with_home({"HOME=", "A=1"}, 1000, kPasswd), (Env{"A=1", "HOME=/home/user"}));
}

TEST(UserName, TakesTheNameOfTheUidFromPasswd) {
  EXPECT_EQ(user_name(0, kPasswd), "root");
  EXPECT_EQ(user_name(1000, kPasswd), "user");
  EXPECT_EQ(user_name(4242, kPasswd), "4242");
  EXPECT_EQ(user_name(0, ""), "0");
  EXPECT_EQ(user_name(0, "garbage line\n:x:0:0::/:/bin/sh\n"), "0");
}

LinuxConfig with(std::vector<std::string> namespaces, std::map<std::string, std::string> sysctl) {
  LinuxConfig l;
  for (auto& type : namespaces) l.namespaces.push_back({type, ""});
  l.sysctl = std::move(sysctl);
  return l;
}

TEST(CheckSysctlNamespaces, AllowsSysctlsOfTheContainersNamespaces) {
  EXPECT_TRUE(check_sysctl_namespaces(with({"ipc", "network", "uts"},
                                           {{"kernel.shm_rmid_forced", "1"}, {"fs.mqueue.msg_max", "10"},
                                            {"net.ipv4.ip_forward", "1"}, {"net/ipv4/tcp_syncookies", "1"},
                                            {"kernel.domainname", "example.test"}}))
                  .ok());
  EXPECT_TRUE(check_sysctl_namespaces(with({}, {})).ok());
}

TEST(CheckSysctlNamespaces, RefusesWhatWouldChangeTheHost) {
  auto refused = [](LinuxConfig l, const std::string& field) {
    auto s = check_sysctl_namespaces(l);
    ASSERT_FALSE(s.ok()) << field;
    EXPECT_NE(s.error().to_string().find("linux.sysctl." + field), std::string::npos) << s.error().to_string();
  };
  refused(with({"ipc", "network", "uts"}, {{"vm.swappiness", "60"}}), "vm.swappiness");
  refused(with({"ipc", "network", "uts"}, {{"kernel.panic", "1"}}), "kernel.panic");
  refused(with({"ipc", "uts"}, {{"net.ipv4.ip_forward", "1"}}), "net.ipv4.ip_forward");
  refused(with({"network"}, {{"kernel.sem", "1 2 3 4"}}), "kernel.sem");
  refused(with({"network"}, {{"fs/mqueue/msg_max", "10"}}), "fs/mqueue/msg_max");
  refused(with({"ipc"}, {{"kernel.domainname", "x"}}), "kernel.domainname");
  refused(with({"uts"}, {{"kernel.hostname", "x"}}), "kernel.hostname");
}

// A cgroup namespace made by the clone would be rooted at the runtime's
// cgroup, not the container's: the init unshares it after joining.
TEST(CloneFlags, LeaveTheCgroupNamespaceToTheInit) {
  int flags = clone_flags(with({"pid", "mount", "cgroup", "user"}, {}));
  EXPECT_EQ(flags, CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUSER);
  EXPECT_EQ(flags & CLONE_NEWCGROUP, 0);
}

}  // namespace
}  // namespace pvekit::oci::linux
