// Container paths resolved with descriptors, against the real kernel: every
// case runs with openat2 and with our own walk, and a property test checks
// that both agree on thousands of generated trees full of hostile symlinks.

#include "oci/linux/in_root.h"

#include <gtest/gtest.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "support/temp_dir.h"

namespace pvekit::oci::linux {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// A rootfs at <tmp>/root with <tmp>/outside beside it: the "host" that no
// lookup may reach.
class InRoot : public ::testing::TestWithParam<Resolver> {
 protected:
  TempDir tmp{"in-root"};
  std::string root = tmp.path() + "/root";
  std::string outside = tmp.path() + "/outside";
  UniqueFd root_fd;

  void SetUp() override {
    fs::create_directories(root + "/etc");
    fs::create_directories(root + "/proc");
    fs::create_directories(outside);
    root_fd.reset(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_fd.valid());
  }

  InRootOptions opts(int flags = O_PATH) const { return {.flags = flags, .resolver = GetParam()}; }

  // The path (relative to the rootfs) of what `fd` refers to.
  std::string where(const UniqueFd& fd) const {
    std::string real = fs::read_symlink(fd_path(fd.get()));
    if (real == root) return "/";
    EXPECT_EQ(real.rfind(root + "/", 0), 0u) << real << " is outside the rootfs";
    return real.substr(root.size());
  }

  void link(const std::string& target, const std::string& at) { fs::create_symlink(target, root + at); }
};

TEST_P(InRoot, ALoopIsAnErrorThatNamesThePath) {
  // The image symlink of the original escape: tmp -> /tmp restarts at the root and loops.
  link("/tmp", "/tmp");
  auto opened = open_in_root(root_fd.get(), "/tmp/x/y", opts());
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().sys_errno(), ELOOP);
  auto made = mkdir_in_root(root_fd.get(), "/tmp/x/y", 0755, GetParam());
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().sys_errno(), ELOOP);
  EXPECT_NE(made.error().to_string().find("/tmp/x/y"), std::string::npos) << made.error().to_string();
  EXPECT_FALSE(fs::exists(root + "/x"));
  auto file = create_file_in_root(root_fd.get(), "/tmp/x/f", 0644, GetParam());
  ASSERT_FALSE(file.ok());
}

TEST_P(InRoot, AbsoluteAndRelativeLinksToTheHostStayInside) {
  std::string unique = "lxcri-unit-" + std::to_string(::getpid());
  link("/", "/abs_root");
  link("/etc", "/abs_etc");
  link("/proc", "/abs_proc");
  link("../../../../../../..", "/rel_root");
  link("../../../../../../../etc", "/rel_etc");
  link("../../../../../../../proc", "/rel_proc");
  link(outside, "/to_outside");  // the host path of "outside", meaningless inside
  struct Case {
    std::string path, lands;
  };
  const Case cases[] = {{"/abs_root/" + unique, "/" + unique},   {"/abs_etc/" + unique, "/etc/" + unique},
                        {"/abs_proc/" + unique, "/proc/" + unique}, {"/rel_root/" + unique, "/" + unique},
                        {"/rel_etc/" + unique, "/etc/" + unique},   {"/rel_proc/" + unique, "/proc/" + unique},
                        {"/../../../etc/" + unique, "/etc/" + unique}};
  for (const auto& c : cases) {
    auto made = mkdir_in_root(root_fd.get(), c.path, 0755, GetParam());
    ASSERT_TRUE(made.ok()) << c.path << ": " << made.error().to_string();
    EXPECT_EQ(where(*made), c.lands) << c.path;
    fs::remove(root + c.lands);
  }
  EXPECT_FALSE(fs::exists("/etc/" + unique));
  EXPECT_FALSE(fs::exists("/proc/" + unique));
  EXPECT_FALSE(fs::exists("/" + unique));
  // The link to the host's "outside" resolves inside the rootfs, where nothing is: a dangling link.
  auto dangling = mkdir_in_root(root_fd.get(), "/to_outside/x", 0755, GetParam());
  ASSERT_FALSE(dangling.ok());
  EXPECT_NE(dangling.error().to_string().find("dangling"), std::string::npos) << dangling.error().to_string();
  EXPECT_TRUE(fs::is_empty(outside));
}

TEST_P(InRoot, MagicLinksAreTextInsideTheRoot) {
  // Inside the rootfs, /proc/self/root is only a path: no /proc is mounted there.
  link("/proc/self/root", "/evil");
  auto made = mkdir_in_root(root_fd.get(), "/evil/x", 0755, GetParam());
  ASSERT_FALSE(made.ok());
  EXPECT_TRUE(fs::is_empty(outside));
}

TEST_P(InRoot, CreatesFilesAndKeepsWhatExists) {
  auto file = create_file_in_root(root_fd.get(), "/a/b/file", 0600, GetParam());
  ASSERT_TRUE(file.ok()) << file.error().to_string();
  EXPECT_EQ(where(*file), "/a/b/file");
  EXPECT_TRUE(fs::is_regular_file(root + "/a/b/file"));
  auto dir = create_file_in_root(root_fd.get(), "/etc", 0600, GetParam());
  ASSERT_TRUE(dir.ok());
  EXPECT_TRUE(fs::is_directory(root + "/etc")) << "an existing directory is left as it is";
  link("/nowhere", "/dangling");
  EXPECT_FALSE(create_file_in_root(root_fd.get(), "/dangling", 0600, GetParam()).ok());
  EXPECT_FALSE(fs::exists(root + "/nowhere"));
}

TEST_P(InRoot, NoSymlinksRefusesAnyLink) {
  fs::create_directories(root + "/real/proc");
  link("/real/proc", "/proc2");
  InRootOptions strict = opts(O_PATH | O_DIRECTORY);
  strict.no_symlinks = true;
  EXPECT_TRUE(open_in_root(root_fd.get(), "/real/proc", strict).ok());
  auto via_link = open_in_root(root_fd.get(), "/proc2", strict);
  ASSERT_FALSE(via_link.ok());
  EXPECT_EQ(via_link.error().sys_errno(), ELOOP);
}

TEST_P(InRoot, NotADirectoryOnTheWay) {
  fs::create_directories(root + "/d");
  { std::ofstream(root + "/d/file") << "x"; }
  auto made = mkdir_in_root(root_fd.get(), "/d/file/sub", 0755, GetParam());
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().sys_errno(), ENOTDIR);
}

// A host process swaps a directory of the rootfs for a symlink to the host
// and back while we create below it: nothing may ever land outside.
TEST_P(InRoot, ASymlinkSwappedInBetweenCheckAndUseNeverLeavesTheRoot) {
  fs::create_directories(root + "/race");
  fs::create_symlink(outside, tmp.path() + "/link");  // absolute host path: would escape by string
  std::atomic<bool> stop{false};
  std::thread racer([&] {
    std::string race = root + "/race", lnk = tmp.path() + "/link";
    while (!stop.load()) {
      ::renameat2(AT_FDCWD, lnk.c_str(), AT_FDCWD, race.c_str(), RENAME_EXCHANGE);
      ::renameat2(AT_FDCWD, lnk.c_str(), AT_FDCWD, race.c_str(), RENAME_EXCHANGE);
    }
  });
  int created = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string name = "/race/m" + std::to_string(i % 7);
    if (mkdir_in_root(root_fd.get(), name, 0755, GetParam()).ok()) ++created;
    (void)create_file_in_root(root_fd.get(), name + "f", 0644, GetParam());
  }
  stop = true;
  racer.join();
  EXPECT_TRUE(fs::is_empty(outside)) << "something was created on the host side";
  EXPECT_GT(created, 0) << "the race never let a lookup through: the test would prove nothing";
}

INSTANTIATE_TEST_SUITE_P(Resolvers, InRoot, ::testing::Values(Resolver::Openat2, Resolver::Walk),
                         [](const auto& info) { return info.param == Resolver::Openat2 ? "openat2" : "walk"; });

// The kernel's own answer: openat2(RESOLVE_IN_ROOT), or -errno.
int kernel_openat2(int root, const std::string& path) {
  struct open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string rel = path.find_first_not_of('/') == std::string::npos ? "." : path.substr(path.find_first_not_of('/'));
  long fd = -1;
  for (int attempt = 0; attempt < 8; ++attempt) {
    fd = ::syscall(SYS_openat2, root, rel.c_str(), &how, sizeof how);
    if (fd >= 0 || errno != EAGAIN) break;
  }
  return fd >= 0 ? static_cast<int>(fd) : -errno;
}

// Generated trees of directories, files and symlinks (absolute, relative,
// upward, looping); for random paths, the kernel's RESOLVE_IN_ROOT and our
// walk must open the same object or fail with the same errno.
TEST(InRootProperty, WalkAgreesWithOpenat2) {
  std::mt19937 rng(20261206);
  const std::vector<std::string> names = {"a", "b", "c", "..", ".", "etc", "proc"};
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  auto random_path = [&](int max_len) {
    std::string p = rng() % 2 ? "/" : "";
    int n = 1 + static_cast<int>(rng() % max_len);
    for (int i = 0; i < n; ++i) p += (i ? "/" : "") + pick(names);
    return p;
  };
  int compared = 0, opened = 0, undecided = 0;
  for (int tree = 0; tree < 150; ++tree) {
    TempDir tmp("in-root-prop");
    std::string root = tmp.path() + "/root";
    fs::create_directories(root);
    std::vector<std::string> dirs = {""};
    for (int i = 0; i < 12; ++i) {
      std::string parent = dirs[rng() % dirs.size()];
      std::string name = pick({"a", "b", "c", "etc", "proc"});
      std::string at = root + parent + "/" + name;
      if (fs::exists(fs::symlink_status(at))) continue;
      switch (rng() % 3) {
        case 0:
          fs::create_directory(at);
          dirs.push_back(parent + "/" + name);
          break;
        case 1: std::ofstream(at) << "f"; break;
        default: fs::create_symlink(random_path(4), at); break;
      }
    }
    UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_fd.valid());
    for (int i = 0; i < 30; ++i) {
      std::string path = random_path(5);
      int kernel = kernel_openat2(root_fd.get(), path);
      if (kernel == -EAGAIN) {
        ++undecided;  // the kernel gives no answer for loops through ".."; open_in_root walks then
        continue;
      }
      UniqueFd a(kernel >= 0 ? kernel : -1);
      auto b = open_in_root(root_fd.get(), path, {.resolver = Resolver::Walk});
      ++compared;
      ASSERT_EQ(a.valid(), b.ok()) << "tree " << tree << " path " << path << ": "
                                   << (b.ok() ? std::strerror(-kernel) : b.error().to_string());
      if (!a.valid()) {
        EXPECT_EQ(-kernel, b.error().sys_errno()) << "tree " << tree << " path " << path;
        continue;
      }
      ++opened;
      struct stat sa{}, sb{};
      ASSERT_EQ(::fstat(a.get(), &sa), 0);
      ASSERT_EQ(::fstat(b->get(), &sb), 0);
      EXPECT_EQ(sa.st_ino, sb.st_ino) << "tree " << tree << " path " << path;
      EXPECT_EQ(fs::read_symlink(fd_path(a.get())).string().rfind(root, 0), 0u) << path;
    }
  }
  EXPECT_EQ(compared + undecided, 150 * 30);
  EXPECT_LT(undecided, compared / 10) << "the kernel answered too few lookups for the comparison to mean much";
  EXPECT_GT(opened, compared / 10) << "too few paths resolved for the comparison to mean much";
}

TEST(SplitLast, ParentAndName) {
  EXPECT_EQ(split_last("/a/b/c"), (std::pair<std::string, std::string>{"/a/b", "c"}));
  EXPECT_EQ(split_last("/dev/null"), (std::pair<std::string, std::string>{"/dev", "null"}));
  EXPECT_EQ(split_last("/x"), (std::pair<std::string, std::string>{"/", "x"}));
  EXPECT_EQ(split_last("/a/b/"), (std::pair<std::string, std::string>{"/a", "b"}));
  EXPECT_EQ(split_last("/"), (std::pair<std::string, std::string>{"/", ""}));
}

}  // namespace
}  // namespace pvekit::oci::linux
