#include "oci/linux/hooks.h"

#include <gtest/gtest.h>

#include "support/temp_dir.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace pvekit::oci::linux {
namespace {

class HooksTest : public ::testing::Test {
 protected:
  pvekit::testing::TempDir tmp_{"lxcri-hooks"};
  std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  const std::string& dir_ = tmp_.path();
};

TEST_F(HooksTest, StateArrivesOnStdinWithArgsAndEnv) {
  Hook h{"/bin/sh", {"sh", "-c", "cat > " + dir_ + "/stdin; echo \"$1 $GREETING\" > " + dir_ + "/args", "sh", "first"},
         {"GREETING=hello"}, std::nullopt};
  ASSERT_TRUE(run_hook(h, R"({"id":"c1"})").ok());
  EXPECT_EQ(slurp(dir_ + "/stdin"), R"({"id":"c1"})");
  EXPECT_EQ(slurp(dir_ + "/args"), "first hello\n");
}

TEST_F(HooksTest, NonZeroExitFailsAndStopsTheList) {
  std::vector<Hook> hooks = {{"/bin/sh", {"sh", "-c", "exit 4"}, {}, std::nullopt},
                             {"/bin/sh", {"sh", "-c", "touch " + dir_ + "/ran"}, {}, std::nullopt}};
  auto s = run_hooks(hooks, "prestart", "{}");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().to_string().find("prestart hook #0"), std::string::npos) << s.error().to_string();
  EXPECT_NE(s.error().to_string().find("status 4"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/ran"));
}

TEST_F(HooksTest, TimeoutKillsTheHook) {
  auto start = std::chrono::steady_clock::now();
  auto s = run_hook({"/bin/sleep", {"sleep", "30"}, {}, 1}, "{}");
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().to_string().find("timed out"), std::string::npos);
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST_F(HooksTest, MissingBinaryFails) {
  EXPECT_FALSE(run_hook({"/no/such/hook", {}, {}, std::nullopt}, "{}").ok());
}

TEST_F(HooksTest, HookNotReadingStdinStillSucceeds) {
  EXPECT_TRUE(run_hook({"/bin/true", {}, {}, std::nullopt}, std::string(1 << 20, 'x')).ok());
}

}  // namespace
}  // namespace pvekit::oci::linux
