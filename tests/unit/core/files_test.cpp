#include "core/files.h"

#include <sys/stat.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace pvekit::core {
namespace {

// Both durabilities replace the file whole, with the mode asked for, and leave
// no temporary file behind.
class WriteFileAtomicTest : public ::testing::TestWithParam<Durability> {};

TEST_P(WriteFileAtomicTest, ReplacesWholeAndLeavesNoTemporary) {
  pvekit::testing::TempDir dir("pvekit-files");
  const std::string path = dir.path() + "/state.json";
  ASSERT_TRUE(write_file_atomic(path, "old", 0600, GetParam()).ok());
  ASSERT_TRUE(write_file_atomic(path, "new content", 0600, GetParam()).ok());
  EXPECT_EQ(read_file(path).value(), "new content");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  size_t entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 1u);
}

TEST_P(WriteFileAtomicTest, FailureNamesTheFile) {
  pvekit::testing::TempDir dir("pvekit-files");
  auto written = write_file_atomic(dir.path() + "/missing/state.json", "x", 0600, GetParam());
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().message().find(dir.path() + "/missing/state.json.tmp."), std::string::npos)
      << written.error().message();
}

INSTANTIATE_TEST_SUITE_P(Durabilities, WriteFileAtomicTest,
                         ::testing::Values(Durability::Durable, Durability::RuntimeState));

}  // namespace
}  // namespace pvekit::core
