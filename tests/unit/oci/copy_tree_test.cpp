// tmpcopyup's copy, against real directories: what it copies, what it keeps
// (mode, owner, times), and what it must never do (follow a link).

#include "oci/linux/copy_tree.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "oci/fd.h"
#include "support/temp_dir.h"

namespace pvekit::oci::linux {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

UniqueFd open_dir(const std::string& path) { return UniqueFd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)); }

std::string read(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(CopyTree, CopiesEveryKindOfEntryWithModeOwnerAndTimes) {
  TempDir tmp("copy-tree");
  std::string from = tmp.path() + "/from", to = tmp.path() + "/to";
  fs::create_directories(from + "/dir/deeper");
  fs::create_directories(to);
  { std::ofstream(from + "/dir/file") << "content"; }
  { std::ofstream(from + "/dir/deeper/big") << std::string(300000, 'x'); }
  ::chmod((from + "/dir").c_str(), 0710);
  ::chmod((from + "/dir/file").c_str(), 0640);
  fs::create_symlink("/etc/passwd", from + "/abs-link");
  fs::create_symlink("../dir", from + "/dir/deeper/rel-link");
  ASSERT_EQ(::mkfifo((from + "/fifo").c_str(), 0600), 0);
  bool root = ::geteuid() == 0;
  if (root) {
    ASSERT_EQ(::chown((from + "/dir/file").c_str(), 1234, 5678), 0);
  }
  struct timespec old_times[2] = {{1000000000, 0}, {1000000000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (from + "/dir/file").c_str(), old_times, 0), 0);

  UniqueFd src = open_dir(from), dst = open_dir(to);
  auto copied = copy_tree(src.get(), dst.get());
  ASSERT_TRUE(copied.ok()) << copied.error().to_string();

  EXPECT_EQ(read(to + "/dir/file"), "content");
  EXPECT_EQ(read(to + "/dir/deeper/big").size(), 300000u);
  EXPECT_EQ(fs::read_symlink(to + "/abs-link"), "/etc/passwd") << "a link is copied as a link";
  EXPECT_EQ(fs::read_symlink(to + "/dir/deeper/rel-link"), "../dir");
  EXPECT_TRUE(fs::is_fifo(to + "/fifo"));
  struct stat st{};
  ASSERT_EQ(::stat((to + "/dir").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0710u);
  ASSERT_EQ(::stat((to + "/dir/file").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000000000);
  if (root) {
    EXPECT_EQ(st.st_uid, 1234u);
    EXPECT_EQ(st.st_gid, 5678u);
  }
}

TEST(CopyTree, NeverWritesThroughALinkInTheTarget) {
  // A link already in the target (planted in the image below the tmpfs cannot
  // be, but a second copy onto the same tree must not follow one either).
  TempDir tmp("copy-tree");
  std::string from = tmp.path() + "/from", to = tmp.path() + "/to", outside = tmp.path() + "/outside";
  fs::create_directories(from);
  fs::create_directories(to);
  fs::create_directories(outside);
  { std::ofstream(from + "/victim") << "payload"; }
  fs::create_symlink(outside + "/victim", to + "/victim");
  UniqueFd src = open_dir(from), dst = open_dir(to);
  EXPECT_FALSE(copy_tree(src.get(), dst.get()).ok());
  EXPECT_FALSE(fs::exists(outside + "/victim"));
}

TEST(CopyTree, RefusesATreeNestedTooDeeply) {
  TempDir tmp("copy-tree");
  std::string from = tmp.path() + "/from", to = tmp.path() + "/to";
  fs::create_directories(to);
  std::string deep = from;
  for (int i = 0; i < 300; ++i) deep += "/d";
  fs::create_directories(deep);
  UniqueFd src = open_dir(from), dst = open_dir(to);
  auto copied = copy_tree(src.get(), dst.get());
  ASSERT_FALSE(copied.ok());
  EXPECT_NE(copied.error().to_string().find("nested too deeply"), std::string::npos);
}

}  // namespace
}  // namespace pvekit::oci::linux
