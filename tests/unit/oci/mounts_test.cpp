#include "oci/linux/mounts.h"

#include <gtest/gtest.h>
#include <sys/mount.h>

#include "support/recording_syscalls.h"

namespace pvekit::oci::linux {
namespace {

using testing::RecordingSyscalls;
using Kind = MountOp::Kind;

Spec small_spec() {
  auto spec = parse_spec(Json::parse(R"({
    "ociVersion": "1.0.2",
    "process": {"args": ["sh"], "cwd": "/"},
    "root": {"path": "rootfs", "readonly": true},
    "mounts": [
      {"destination": "/proc", "type": "proc", "source": "proc"},
      {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
      {"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind", "ro", "rprivate"]}
    ],
    "linux": {"namespaces": [{"type": "mount"}], "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"],
              "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438}]}
  })"));
  EXPECT_TRUE(spec.ok()) << spec.error().to_string();
  return *spec;
}

TEST(MountOptions, FlagsPropagationAndData) {
  struct Case {
    std::vector<std::string> options;
    unsigned long flags, propagation;
    std::string data;
    bool bind, recursive;
  };
  const Case cases[] = {
      {{"ro", "nosuid", "nodev", "noexec"}, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, "", false, false},
      {{"ro", "rw"}, 0, 0, "", false, false},
      {{"rbind", "rprivate"}, 0, MS_PRIVATE | MS_REC, "", true, true},
      {{"bind", "shared"}, 0, MS_SHARED, "", true, false},
      {{"mode=755", "size=65536k", "strictatime"}, MS_STRICTATIME, 0, "mode=755,size=65536k", false, false},
      {{"defaults"}, 0, 0, "", false, false},
  };
  for (const auto& c : cases) {
    auto f = parse_mount_options(c.options);
    std::string name = ::testing::PrintToString(c.options);
    EXPECT_EQ(f.flags, c.flags) << name;
    EXPECT_EQ(f.propagation, c.propagation) << name;
    EXPECT_EQ(f.data, c.data) << name;
    EXPECT_EQ(f.bind, c.bind) << name;
    EXPECT_EQ(f.recursive, c.recursive) << name;
  }
}

TEST(MountOptions, RecursiveOptionsBecomeMountAttributes) {
  auto f = parse_mount_options({"rbind", "rro", "rnosuid", "rnoatime"});
  EXPECT_TRUE(f.unknown.empty());
  EXPECT_EQ(f.data, "");
  EXPECT_EQ(f.recursive_set, static_cast<uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME));
  EXPECT_EQ(f.recursive_clear, static_cast<uint64_t>(MOUNT_ATTR__ATIME));
  auto later_wins = parse_mount_options({"rro", "rrw", "rnoexec", "rexec"});
  EXPECT_EQ(later_wins.recursive_set, 0u);
  EXPECT_EQ(later_wins.recursive_clear, static_cast<uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC));
  EXPECT_TRUE(check_mount_options(Mount{"/x", "bind", "/src", {"rbind", "rro"}}, 0).ok());
}

TEST(MountOptions, UnknownWordsAreRefusedByNameWhereTheOptionSetIsKnown) {
  struct Case {
    std::string type;
    std::vector<std::string> options;
    std::string refused;  // empty: accepted
  };
  const Case cases[] = {
      {"tmpfs", {"nosuid", "size=1m", "mode=1777", "tmpcopyup"}, ""},
      {"tmpfs", {"nosuid", "frobnicate"}, "frobnicate"},
      {"tmpfs", {"inode64", "noswap"}, ""},
      {"devpts", {"newinstance", "ptmxmode=0666", "gid=5"}, ""},
      {"proc", {"hidepid=2", "nosuid"}, ""},
      {"proc", {"newinstance"}, "newinstance"},
      {"bind", {"rbind", "ro", "idmap"}, "idmap"},
      {"none", {"bind", "tmpcopyup"}, "tmpcopyup applies to tmpfs"},
      {"sysfs", {"tmpcopyup"}, "tmpcopyup applies to tmpfs"},
      {"nfs", {"hard", "intr", "vers=4"}, ""},  // options of other filesystems go to the kernel
      {"cgroup", {"nosuid", "nodev", "noexec", "relatime", "ro"}, ""},
  };
  for (const auto& c : cases) {
    Mount m{"/x", c.type, c.type == "none" ? "/src" : c.type, c.options};
    auto s = check_mount_options(m, 3);
    std::string name = c.type + " " + ::testing::PrintToString(c.options);
    if (c.refused.empty()) {
      EXPECT_TRUE(s.ok()) << name << ": " << s.error().to_string();
      continue;
    }
    ASSERT_FALSE(s.ok()) << name;
    EXPECT_NE(s.error().to_string().find("mounts[3].options"), std::string::npos) << s.error().to_string();
    EXPECT_NE(s.error().to_string().find(c.refused), std::string::npos) << s.error().to_string();
  }
}

TEST(PlanMounts, OrderIsPropagationRootfsMountsDevicesMasksReadonlyPivot) {
  auto ops = plan_mounts(small_spec(), MountContext{.rootfs = "/b/rootfs"});
  std::vector<std::pair<Kind, std::string>> got;
  for (const auto& op : ops) got.emplace_back(op.kind, op.target);
  std::vector<std::pair<Kind, std::string>> want = {
      {Kind::RootPropagation, "/"}, {Kind::BindRootfs, "/b/rootfs"}, {Kind::Mount, "/proc"},
      {Kind::Mount, "/dev"},        {Kind::Mount, "/data"},          {Kind::Device, "/dev/null"},
      {Kind::Device, "/dev/zero"},  {Kind::Device, "/dev/full"},     {Kind::Device, "/dev/random"},
      {Kind::Device, "/dev/urandom"}, {Kind::Device, "/dev/tty"},    {Kind::Symlink, "/dev/fd"},
      {Kind::Symlink, "/dev/stdin"}, {Kind::Symlink, "/dev/stdout"}, {Kind::Symlink, "/dev/stderr"},
      {Kind::Device, "/dev/fuse"},  {Kind::MaskPath, "/proc/kcore"}, {Kind::ReadonlyPath, "/proc/sys"},
      {Kind::PivotRoot, "/b/rootfs"}, {Kind::RemountRootReadonly, "/"}};
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].first, want[i].first) << "op " << i;
    EXPECT_EQ(got[i].second, want[i].second) << "op " << i;
  }
  EXPECT_EQ(ops[0].flags.propagation, static_cast<unsigned long>(MS_SLAVE | MS_REC));
  EXPECT_EQ(ops[15].mode, 0666u);
  EXPECT_EQ(ops[15].major, 10);
}

TEST(PlanMounts, PropagationNoPivotAndUserNamespaceDevices) {
  Spec spec = small_spec();
  spec.linux->rootfs_propagation = "rshared";
  auto ops = plan_mounts(spec, MountContext{.rootfs = "/r", .no_pivot = true, .user_namespace = true});
  EXPECT_EQ(ops[0].flags.propagation, static_cast<unsigned long>(MS_SHARED | MS_REC));
  for (const auto& op : ops) {
    if (op.kind == Kind::Device) {
      EXPECT_TRUE(op.bind_device) << op.target;
    }
    if (op.kind == Kind::PivotRoot) {
      EXPECT_TRUE(op.no_pivot);
    }
  }
}

TEST(PlanMounts, CgroupMountOnV1BindsControllersAndOnV2MountsCgroup2) {
  Spec spec = small_spec();
  spec.mounts = {{"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "ro"}}};
  auto v1 = plan_mounts(spec, MountContext{.rootfs = "/r",
                                           .cgroup_binds = {{"/sys/fs/cgroup/memory/c1", "memory"},
                                                            {"/sys/fs/cgroup/pids/c1", "pids"}}});
  ASSERT_GE(v1.size(), 6u);
  EXPECT_EQ(v1[2].fstype, "tmpfs");
  EXPECT_EQ(v1[3].kind, Kind::CgroupBind);
  EXPECT_EQ(v1[3].source, "/sys/fs/cgroup/memory/c1");
  EXPECT_EQ(v1[3].target, "/sys/fs/cgroup/memory");
  EXPECT_EQ(v1[4].target, "/sys/fs/cgroup/pids");
  EXPECT_TRUE(v1[5].flags.flags & MS_REMOUNT);
  EXPECT_TRUE(v1[5].flags.flags & MS_RDONLY);
  auto v2 = plan_mounts(spec, MountContext{.rootfs = "/r"});
  EXPECT_EQ(v2[2].fstype, "cgroup2");
  EXPECT_TRUE(v2[2].flags.flags & MS_RDONLY);
}

TEST(ApplyMounts, RecordsTheExpectedCalls) {
  RecordingSyscalls sys;
  sys.dirs.insert("/srv/data");
  sys.files.insert("/b/rootfs/proc/kcore");  // appears once proc is mounted; sys stays absent
  Spec spec = small_spec();
  spec.linux->devices.clear();
  auto ops = plan_mounts(spec, MountContext{.rootfs = "/b/rootfs"});
  Rootfs rootfs{"/b/rootfs", {}};
  ASSERT_TRUE(apply_mounts(ops, rootfs, sys).ok());
  ASSERT_TRUE(rootfs.fd.valid());
  std::vector<std::string> want = {
      "mount  /  0x84000 ",                       // MS_SLAVE|MS_REC
      "mount /b/rootfs /b/rootfs  0x5000 ",       // rbind of the rootfs onto itself
      "mkdir /b/rootfs/proc",
      "mount proc /b/rootfs/proc proc 0x0 ",
      "mkdir /b/rootfs/dev",
      "mount tmpfs /b/rootfs/dev tmpfs 0x2 mode=755",
      "mkdir /b/rootfs/data",
      "mount /srv/data /b/rootfs/data  0x5000 ",
      "mount  /b/rootfs/data  0x5021 ",           // read-only remount of the bind
      "mount  /b/rootfs/data  0x44000 ",          // rprivate
      "mknod /b/rootfs/dev/null 020666 259",
      "chown /b/rootfs/dev/null 0:0",
  };
  ASSERT_GE(sys.calls.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(sys.calls[i], want[i]) << "call " << i;
  auto has = [&](const std::string& line) {
    return std::find(sys.calls.begin(), sys.calls.end(), line) != sys.calls.end();
  };
  EXPECT_TRUE(has("symlink /proc/self/fd /b/rootfs/dev/fd"));
  EXPECT_TRUE(has("mount /dev/null /b/rootfs/proc/kcore  0x1000 ")) << "masked before the pivot";
  EXPECT_EQ(sys.calls[sys.calls.size() - 2], "pivot_root /b/rootfs");
  EXPECT_EQ(sys.calls.back(), "mount  /  0x1021 ") << "read-only root, last";
  EXPECT_FALSE(has("mount /b/rootfs/proc/sys /b/rootfs/proc/sys  0x5000 ")) << "absent read-only path skipped";
}

TEST(ApplyMounts, MasksFilesAndDirectoriesThatExist) {
  RecordingSyscalls sys;
  sys.files.insert("/r/proc/kcore");
  sys.dirs.insert("/r/proc/acpi");
  std::vector<MountOp> ops = {{.kind = Kind::MaskPath, .target = "/proc/kcore"},
                              {.kind = Kind::MaskPath, .target = "/proc/acpi"},
                              {.kind = Kind::MaskPath, .target = "/proc/absent"}};
  Rootfs rootfs{"/r", *sys.open_dir("/r")};
  ASSERT_TRUE(apply_mounts(ops, rootfs, sys).ok());
  EXPECT_EQ(sys.calls, (std::vector<std::string>{"mount /dev/null /r/proc/kcore  0x1000 ",
                                                 "mount tmpfs /r/proc/acpi tmpfs 0x1 "}));
}

TEST(ApplyMounts, StopsAtTheFirstFailureAndNamesTheTarget) {
  RecordingSyscalls sys;
  sys.fail_prefix = "mount proc";
  auto ops = plan_mounts(small_spec(), MountContext{.rootfs = "/b/rootfs"});
  Rootfs rootfs{"/b/rootfs", {}};
  auto s = apply_mounts(ops, rootfs, sys);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().to_string().find("rootfs: /proc"), std::string::npos) << s.error().to_string();
  EXPECT_EQ(s.error().sys_errno(), EPERM);
  EXPECT_EQ(sys.calls.back().rfind("mount proc", 0), 0u) << "nothing ran after the failure";
}

TEST(ApplyMounts, TmpcopyupCopiesWhatTheTmpfsCovers) {
  RecordingSyscalls sys;
  sys.dirs.insert("/r/etc");
  Rootfs rootfs{"/r", *sys.open_dir("/r")};
  MountOp op{.kind = Kind::Mount, .source = "tmpfs", .target = "/etc", .fstype = "tmpfs",
             .flags = parse_mount_options({"tmpcopyup", "size=1m"})};
  ASSERT_TRUE(apply_mounts({op}, rootfs, sys).ok());
  EXPECT_EQ(sys.calls, (std::vector<std::string>{"mount tmpfs /r/etc tmpfs 0x0 size=1m", "copy_tree /r/etc /r/etc",
                                                 "chmod /r/etc 0755"}));
}

// runc: the tmpfs takes the covered directory's mode (after mode=, set-id and
// sticky bits kept) but not its owner: a 0750 directory of uid 65532 gives a
// tmpfs 65532 cannot write to.
TEST(ApplyMounts, TmpfsOverADirectoryTakesItsModeAfterTheMount) {
  RecordingSyscalls sys;
  sys.dirs.insert("/r/run/app");
  sys.modes["/r/run/app"] = S_IFDIR | 0750;
  sys.dirs.insert("/r/srv");
  sys.modes["/r/srv"] = S_IFDIR | 01775;
  Rootfs rootfs{"/r", *sys.open_dir("/r")};
  std::vector<MountOp> ops = {
      {.kind = Kind::Mount, .source = "tmpfs", .target = "/run/app", .fstype = "tmpfs",
       .flags = parse_mount_options({"nosuid", "mode=1777", "uid=0"})},
      {.kind = Kind::Mount, .source = "tmpfs", .target = "/srv", .fstype = "tmpfs", .flags = parse_mount_options({})}};
  ASSERT_TRUE(apply_mounts(ops, rootfs, sys).ok());
  EXPECT_EQ(sys.calls, (std::vector<std::string>{"mount tmpfs /r/run/app tmpfs 0x2 mode=1777,uid=0",
                                                 "chmod /r/run/app 0750", "mount tmpfs /r/srv tmpfs 0x0 ",
                                                 "chmod /r/srv 01775"}));
}

TEST(ApplyMounts, TmpfsOverAMissingDirectoryKeepsItsOwnMode) {
  RecordingSyscalls sys;
  Rootfs rootfs{"/r", *sys.open_dir("/r")};
  MountOp op{.kind = Kind::Mount, .source = "tmpfs", .target = "/new", .fstype = "tmpfs",
             .flags = parse_mount_options({"mode=0711"})};
  ASSERT_TRUE(apply_mounts({op}, rootfs, sys).ok());
  EXPECT_EQ(sys.calls, (std::vector<std::string>{"mkdir /r/new", "mount tmpfs /r/new tmpfs 0x0 mode=0711"}));
}

// The copy-up and the chmod write to the tmpfs: read-only is a remount of
// that mount once they are done.
TEST(ApplyMounts, ReadOnlyTmpfsIsFilledFirst) {
  RecordingSyscalls sys;
  sys.dirs.insert("/r/etc");
  Rootfs rootfs{"/r", *sys.open_dir("/r")};
  MountOp op{.kind = Kind::Mount, .source = "tmpfs", .target = "/etc", .fstype = "tmpfs",
             .flags = parse_mount_options({"ro", "nodev", "tmpcopyup"})};
  ASSERT_TRUE(apply_mounts({op}, rootfs, sys).ok());
  EXPECT_EQ(sys.calls, (std::vector<std::string>{"mount tmpfs /r/etc tmpfs 0x4 ", "copy_tree /r/etc /r/etc",
                                                 "chmod /r/etc 0755", "mount  /r/etc  0x1025 "}));
}

TEST(ApplyMounts, RecursiveOptionsAreSetOnTheMountedTree) {
  RecordingSyscalls sys;
  sys.dirs.insert("/srv");
  Rootfs rootfs{"/r", *sys.open_dir("/r")};
  MountOp op{.kind = Kind::Mount, .source = "/srv", .target = "/data", .fstype = "bind",
             .flags = parse_mount_options({"rbind", "rro"})};
  ASSERT_TRUE(apply_mounts({op}, rootfs, sys).ok());
  EXPECT_EQ(sys.calls, (std::vector<std::string>{"mkdir /r/data", "mount /srv /r/data  0x5000 ",
                                                 "mount_setattr /r/data set 0x1 clear 0x0"}));
}

TEST(ApplyMounts, NothingInTheRootfsBeforeItIsBound) {
  RecordingSyscalls sys;
  Rootfs rootfs{"/r", {}};
  auto s = apply_mounts({{.kind = Kind::Mount, .source = "tmpfs", .target = "/x", .fstype = "tmpfs"}}, rootfs, sys);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(sys.calls.empty());
}

TEST(ApplyMounts, NoPivotMovesTheRoot) {
  RecordingSyscalls sys;
  Rootfs rootfs{"/r", *sys.open_dir("/r")};
  ASSERT_TRUE(apply_mounts({{.kind = Kind::PivotRoot, .target = "/r", .no_pivot = true}}, rootfs, sys).ok());
  EXPECT_EQ(sys.calls, std::vector<std::string>{"move_root /r"});
}

}  // namespace
}  // namespace pvekit::oci::linux
