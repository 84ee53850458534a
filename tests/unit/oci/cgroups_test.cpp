#include "oci/linux/cgroups.h"

#include <gtest/gtest.h>

#include "support/temp_dir.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace pvekit::oci::linux {
namespace {

namespace fs = std::filesystem;

// Temp trees shaped like the cgroup mounts of v1, v2 and hybrid hosts. The
// kernel creates control files in new cgroups; the fixture lays out the ones
// a test needs (youki's set_fixture idea).
class CgroupTree : public ::testing::Test {
 protected:
  pvekit::testing::TempDir tmp_{"lxcri-cg"};

  void file(const std::string& rel, const std::string& content = "") {
    fs::create_directories(fs::path(root_ + "/" + rel).parent_path());
    std::ofstream(root_ + "/" + rel) << content;
  }
  std::string read(const std::string& rel) {
    std::ifstream in(root_ + "/" + rel);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void v1_controllers(const std::vector<std::string>& names) {
    for (const auto& n : names) fs::create_directories(root_ + "/" + n);
  }

  const std::string& root_ = tmp_.path();
};

TEST_F(CgroupTree, DetectsV2) {
  file("cgroup.controllers", "cpu memory pids");
  EXPECT_EQ(*detect_cgroup_layout(root_), CgroupLayout::V2);
}

TEST_F(CgroupTree, DetectsV1) {
  v1_controllers({"memory", "pids"});
  EXPECT_EQ(*detect_cgroup_layout(root_), CgroupLayout::V1);
}

TEST_F(CgroupTree, DetectsHybrid) {
  v1_controllers({"memory", "freezer"});
  file("unified/cgroup.controllers", "");
  EXPECT_EQ(*detect_cgroup_layout(root_), CgroupLayout::Hybrid);
}

TEST_F(CgroupTree, EmptyTreeIsAnError) { EXPECT_FALSE(detect_cgroup_layout(root_).ok()); }

TEST(CgroupPath, Resolution) {
  EXPECT_EQ(*resolve_cgroup_path("", "c1"), "/lxcri/c1");
  EXPECT_EQ(*resolve_cgroup_path("/a/b", "c1"), "/a/b");
  EXPECT_EQ(*resolve_cgroup_path("a/b/", "c1"), "/a/b");
  EXPECT_FALSE(resolve_cgroup_path("system.slice:lxcri:c1", "c1").ok());
  EXPECT_FALSE(resolve_cgroup_path("/", "c1").ok());
}

Resources limits() {
  Resources r;
  r.memory = MemoryResources{.limit = 64 << 20, .reservation = 32 << 20, .swap = 128 << 20};
  r.cpu = CpuResources{.shares = 512, .quota = 50000, .period = 100000, .cpus = "0-1", .mems = "0"};
  r.pids_limit = 20;
  return r;
}

TEST(CgroupWrites, V1Translation) {
  auto mem = v1_writes("memory", limits());
  EXPECT_EQ(mem, (std::vector<std::pair<std::string, std::string>>{
                     {"memory.limit_in_bytes", "67108864"},
                     {"memory.soft_limit_in_bytes", "33554432"},
                     {"memory.memsw.limit_in_bytes", "134217728"}}));
  EXPECT_EQ(v1_writes("cpu", limits()), (std::vector<std::pair<std::string, std::string>>{
                                            {"cpu.shares", "512"}, {"cpu.cfs_period_us", "100000"},
                                            {"cpu.cfs_quota_us", "50000"}}));
  EXPECT_EQ(v1_writes("pids", limits()),
            (std::vector<std::pair<std::string, std::string>>{{"pids.max", "20"}}));
  Resources unlimited;
  unlimited.pids_limit = -1;
  EXPECT_EQ(v1_writes("pids", unlimited).at(0).second, "max");
  Resources devices;
  devices.devices = {{.allow = false}, {.allow = true, .type = "c", .major = 1, .minor = std::nullopt, .access = "r"}};
  auto dev = v1_writes("devices", devices);
  EXPECT_EQ(dev.at(0), (std::pair<std::string, std::string>{"devices.deny", "a"}));
  EXPECT_EQ(dev.at(1), (std::pair<std::string, std::string>{"devices.allow", "c 1:* r"}));
  EXPECT_EQ(dev.at(2).first, "devices.allow") << "runc's default devices follow";
  EXPECT_TRUE(v1_writes("freezer", limits()).empty());
}

TEST(CgroupWrites, V2Translation) {
  auto w = v2_writes(limits());
  EXPECT_EQ(w, (std::vector<std::pair<std::string, std::string>>{
                   {"memory.max", "67108864"}, {"memory.low", "33554432"}, {"memory.swap.max", "67108864"},
                   {"cpu.weight", "20"}, {"cpu.max", "50000 100000"}, {"cpuset.cpus", "0-1"},
                   {"cpuset.mems", "0"}, {"pids.max", "20"}}));
  EXPECT_EQ(shares_to_weight(2), 1u);
  EXPECT_EQ(shares_to_weight(1024), 39u);
  EXPECT_EQ(shares_to_weight(262144), 10000u);
}

TEST_F(CgroupTree, V1ManagerCreatesAppliesJoinsAndDestroys) {
  v1_controllers({"memory", "pids", "freezer", "cpuset"});
  file("cpuset/cpuset.cpus", "0-3\n");
  file("cpuset/cpuset.mems", "0\n");
  file("unified/cgroup.controllers");
  auto mgr = make_cgroup_manager(CgroupLayout::Hybrid, root_, "/lxcri/c1");
  // The kernel would create these; the fixture stands in.
  for (const char* f : {"cpuset/lxcri/cpuset.cpus", "cpuset/lxcri/cpuset.mems", "cpuset/lxcri/c1/cpuset.cpus",
                        "cpuset/lxcri/c1/cpuset.mems", "memory/lxcri/c1/memory.limit_in_bytes",
                        "memory/lxcri/c1/memory.soft_limit_in_bytes", "memory/lxcri/c1/memory.memsw.limit_in_bytes",
                        "pids/lxcri/c1/pids.max", "memory/lxcri/c1/cgroup.procs", "pids/lxcri/c1/cgroup.procs",
                        "freezer/lxcri/c1/cgroup.procs", "cpuset/lxcri/c1/cgroup.procs",
                        "freezer/lxcri/c1/freezer.state"})
    file(f);
  ASSERT_TRUE(mgr->create().ok());
  ASSERT_TRUE(mgr->create().ok()) << "create is idempotent";
  EXPECT_EQ(read("cpuset/lxcri/cpuset.cpus"), "0-3") << "new cpuset level inherits the parent's cpus";
  EXPECT_EQ(read("cpuset/lxcri/cpuset.mems"), "0");
  EXPECT_EQ(read("cpuset/lxcri/c1/cpuset.cpus"), "0-3");
  Resources r = limits();
  r.cpu->cpus.clear();
  r.cpu->mems.clear();
  auto applied = mgr->apply(r);
  ASSERT_TRUE(applied.ok()) << applied.error().to_string();
  EXPECT_EQ(read("memory/lxcri/c1/memory.limit_in_bytes"), "67108864");
  EXPECT_EQ(read("pids/lxcri/c1/pids.max"), "20");
  ASSERT_TRUE(mgr->add_process(4242).ok());
  EXPECT_EQ(read("memory/lxcri/c1/cgroup.procs"), "4242");
  EXPECT_EQ(read("freezer/lxcri/c1/cgroup.procs"), "4242");
  EXPECT_EQ(*mgr->pids(), std::vector<pid_t>{4242});
  ASSERT_TRUE(mgr->freeze().ok());
  EXPECT_EQ(read("freezer/lxcri/c1/freezer.state"), "FROZEN");
  ASSERT_TRUE(mgr->thaw().ok());
  EXPECT_EQ(read("freezer/lxcri/c1/freezer.state"), "THAWED");
  auto binds = mgr->container_binds();
  ASSERT_EQ(binds.size(), 4u);
  EXPECT_EQ(binds[0], (std::pair<std::string, std::string>{root_ + "/cpuset/lxcri/c1", "cpuset"}));
}

TEST_F(CgroupTree, V1ApplyFailsNamingAMissingControlFile) {
  v1_controllers({"memory"});
  auto mgr = make_cgroup_manager(CgroupLayout::V1, root_, "/c1");
  ASSERT_TRUE(mgr->create().ok());
  auto s = mgr->apply(limits());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().to_string().find("memory.limit_in_bytes"), std::string::npos);
}

TEST_F(CgroupTree, V1DestroyRemovesLeavesAndAcceptsAlreadyGone) {
  v1_controllers({"memory", "pids"});
  auto mgr = make_cgroup_manager(CgroupLayout::V1, root_, "/a/c1");
  ASSERT_TRUE(mgr->create().ok());
  EXPECT_TRUE(fs::is_directory(root_ + "/memory/a/c1"));
  ASSERT_TRUE(mgr->destroy().ok());
  EXPECT_FALSE(fs::exists(root_ + "/memory/a/c1"));
  EXPECT_FALSE(fs::exists(root_ + "/pids/a/c1"));
  EXPECT_TRUE(fs::exists(root_ + "/pids/a")) << "parents stay";
  EXPECT_TRUE(mgr->destroy().ok()) << "already gone is fine";
}

TEST_F(CgroupTree, V1FreezeWithoutFreezerIsAnError) {
  v1_controllers({"memory"});
  auto mgr = make_cgroup_manager(CgroupLayout::V1, root_, "/c1");
  EXPECT_FALSE(mgr->freeze().ok());
}

TEST_F(CgroupTree, V2ManagerDelegatesControllersAndWritesLimits) {
  file("cgroup.controllers", "cpuset cpu io memory pids");
  file("cgroup.subtree_control");
  file("lxcri/cgroup.subtree_control");
  for (const char* f : {"memory.max", "memory.low", "memory.swap.max", "cpu.weight", "cpu.max", "cpuset.cpus",
                        "cpuset.mems", "pids.max", "cgroup.procs", "cgroup.freeze"})
    file(std::string("lxcri/c1/") + f);
  file("lxcri/c1/cgroup.events", "populated 1\nfrozen 1\n");
  auto mgr = make_cgroup_manager(CgroupLayout::V2, root_, "/lxcri/c1");
  ASSERT_TRUE(mgr->create().ok());
  // Each delegation is a separate write; the last one stays in the plain file.
  EXPECT_EQ(read("cgroup.subtree_control"), "+pids");
  ASSERT_TRUE(mgr->apply(limits()).ok());
  EXPECT_EQ(read("lxcri/c1/memory.max"), "67108864");
  EXPECT_EQ(read("lxcri/c1/cpu.max"), "50000 100000");
  EXPECT_EQ(read("lxcri/c1/pids.max"), "20");
  ASSERT_TRUE(mgr->add_process(7).ok());
  EXPECT_EQ(read("lxcri/c1/cgroup.procs"), "7");
  ASSERT_TRUE(mgr->freeze().ok());
  EXPECT_EQ(read("lxcri/c1/cgroup.freeze"), "1");
  EXPECT_TRUE(mgr->container_binds().empty());
  EXPECT_EQ(mgr->dirs(), std::vector<std::string>{root_ + "/lxcri/c1"});
}

TEST_F(CgroupTree, V2FreezeTimesOutWhenTheKernelDoesNotConfirm) {
  file("cgroup.controllers", "memory");
  file("c1/cgroup.freeze");
  file("c1/cgroup.events", "populated 1\nfrozen 0\n");
  auto mgr = make_cgroup_manager(CgroupLayout::V2, root_, "/c1");
  auto s = mgr->freeze();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().to_string().find("frozen 1"), std::string::npos);
}

}  // namespace
}  // namespace pvekit::oci::linux
