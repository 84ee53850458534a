#include "oci/state_store.h"

#include <gtest/gtest.h>

#include "support/temp_dir.h"
#include <sys/file.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace pvekit::oci {
namespace {

class StateStoreTest : public ::testing::Test {
 protected:
  pvekit::testing::TempDir tmp_{"lxcri-store"};
  std::string root() const { return base_ + "/root"; }

  static ContainerState sample(const std::string& id) {
    ContainerState s;
    s.id = id;
    s.status = ContainerStatus::Created;
    s.pid = 42;
    s.bundle = "/b";
    s.rootfs = "/b/rootfs";
    s.created = "2026-01-01T00:00:00.000000000Z";
    return s;
  }

  const std::string& base_ = tmp_.path();
};

TEST(ValidateId, RuncRules) {
  struct Case {
    std::string id;
    bool ok;
  };
  const Case cases[] = {{"abc", true},     {"a-b_c.d+e", true}, {"A1", true},  {"", false},
                        {".", false},      {"..", false},       {"a/b", false}, {"a b", false},
                        {"../etc", false}, {"a:b", false},      {std::string(1025, 'a'), false},
                        {std::string(1024, 'a'), true}};
  for (const auto& c : cases) EXPECT_EQ(validate_id(c.id).ok(), c.ok) << "id=\"" << c.id.substr(0, 20) << "\"";
}

TEST_F(StateStoreTest, CreateSaveLoadListRemove) {
  StateStore store(root());
  {
    auto lock = store.create("c1");
    ASSERT_TRUE(lock.ok()) << lock.error().to_string();
    ASSERT_TRUE(store.save(sample("c1")).ok());
  }
  struct stat st{};
  ASSERT_EQ(::stat(root().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto loaded = store.load("c1");
  ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
  EXPECT_EQ(loaded->pid, 42);
  EXPECT_EQ(loaded->status, ContainerStatus::Created);
  ASSERT_TRUE(store.create("c0").ok());
  ASSERT_TRUE(store.save(sample("c0")).ok());
  EXPECT_EQ(*store.list(), (std::vector<std::string>{"c0", "c1"}));
  ASSERT_TRUE(store.remove("c1").ok());
  EXPECT_FALSE(store.exists("c1"));
  EXPECT_TRUE(store.remove("c1").ok()) << "removing twice is fine";
  EXPECT_EQ(*store.list(), (std::vector<std::string>{"c0"}));
}

TEST_F(StateStoreTest, DuplicateIdIsAConflict) {
  StateStore store(root());
  ASSERT_TRUE(store.create("dup").ok());
  auto again = store.create("dup");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().category(), core::ErrorCategory::Conflict);
}

TEST_F(StateStoreTest, MissingContainerIsNotFound) {
  StateStore store(root());
  auto s = store.load("nope");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().category(), core::ErrorCategory::NotFound);
  EXPECT_EQ(store.lock("nope").error().category(), core::ErrorCategory::NotFound);
  EXPECT_TRUE(store.list()->empty());
}

TEST_F(StateStoreTest, InvalidIdNeverTouchesTheFilesystem) {
  StateStore store(root());
  EXPECT_FALSE(store.create("../escape").ok());
  EXPECT_FALSE(std::filesystem::exists(base_ + "/escape"));
}

TEST_F(StateStoreTest, SaveIsAtomicAndLeavesNoTempFiles) {
  StateStore store(root());
  ASSERT_TRUE(store.create("c").ok());
  for (int i = 0; i < 5; ++i) {
    auto s = sample("c");
    s.pid = i;
    ASSERT_TRUE(store.save(s).ok());
  }
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(store.dir("c"))) {
    ++files;
    EXPECT_EQ(e.path().filename(), "state.json");
  }
  EXPECT_EQ(files, 1);
  EXPECT_EQ(store.load("c")->pid, 4);
}

TEST_F(StateStoreTest, LockIsExclusive) {
  StateStore store(root());
  auto first = store.create("c");
  ASSERT_TRUE(first.ok());
  std::atomic<bool> got{false};
  std::thread t([&] {
    auto second = store.lock("c");  // a separate open file description: blocks
    got = second.ok();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(got.load());
  { auto release = std::move(*first); }
  t.join();
  EXPECT_TRUE(got.load());
}

TEST_F(StateStoreTest, LockAfterConcurrentDeleteIsNotFound) {
  StateStore store(root());
  auto first = store.create("c");
  ASSERT_TRUE(first.ok());
  core::Result<ContainerLock> second = core::Error(core::ErrorCategory::Internal, "unset");
  std::thread t([&] { second = store.lock("c"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(store.remove("c").ok());
  { auto release = std::move(*first); }
  t.join();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().category(), core::ErrorCategory::NotFound);
}

}  // namespace
}  // namespace pvekit::oci
