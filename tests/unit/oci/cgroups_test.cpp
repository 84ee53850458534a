#include "oci/linux/cgroups.h"

#include <gtest/gtest.h>

#include "support/temp_dir.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace pvekit::oci::linux {
namespace {

namespace fs = std::filesystem;

// Temp trees shaped like the cgroup mounts of v1, v2 and hybrid hosts. The
// kernel creates control files in new cgroups; the fixture lays out the ones
// a test needs (youki's set_fixture idea).
class CgroupTree : public ::testing::Test {
 protected:
  pvekit::testing::TempDir tmp_{"lxcri-cg"};

  void file(const std::string& rel, const std::string& content = "") { tmp_.write(rel, content); }
  std::string read(const std::string& rel) { return tmp_.read(rel); }
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

TEST(CgroupWrites, V2TranslationInRuncsOrder) {
  // runc 1.2 fs2 Set: pids, memory (swap.max before max), io, cpu, cpuset.
  auto w = v2_writes(limits());
  ASSERT_TRUE(w.ok()) << w.error().to_string();
  EXPECT_EQ(*w, (CgroupWrites{{"pids.max", "20"}, {"memory.swap.max", "67108864"}, {"memory.max", "67108864"},
                              {"memory.low", "33554432"}, {"cpu.weight", "20"}, {"cpu.max", "50000 100000"},
                              {"cpuset.cpus", "0-1"}, {"cpuset.mems", "0"}}));
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
  file("lxcri/cgroup.controllers", "memory pids\n");
  for (const char* f : {"memory.max", "memory.low", "memory.swap.max", "cpu.weight", "cpu.max", "cpuset.cpus",
                        "cpuset.mems", "pids.max", "cgroup.procs", "cgroup.freeze"})
    file(std::string("lxcri/c1/") + f);
  file("lxcri/c1/cgroup.events", "populated 1\nfrozen 1\n");
  auto mgr = make_cgroup_manager(CgroupLayout::V2, root_, "/lxcri/c1");
  ASSERT_TRUE(mgr->create().ok());
  // Each delegation is a separate write; the last one stays in the plain file.
  // runc's CreateCgroupPath: every controller a level has, in one write.
  EXPECT_EQ(read("cgroup.subtree_control"), "+cpuset +cpu +io +memory +pids");
  EXPECT_EQ(read("lxcri/cgroup.subtree_control"), "+memory +pids");
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

TEST_F(CgroupTree, CgroupEventWaitTimesOutWhenTheKernelDoesNotConfirm) {
  file("c1/cgroup.events", "populated 1\nfrozen 0\n");
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(wait_for_cgroup_event(root_ + "/c1/cgroup.events", "frozen 1", 150));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150));
  EXPECT_TRUE(wait_for_cgroup_event(root_ + "/c1/cgroup.events", "frozen 0", 150));
  EXPECT_FALSE(wait_for_cgroup_event(root_ + "/c1/missing", "frozen 0", 150));
}

TEST_F(CgroupTree, CgroupEventWaitSeesALateChange) {
  file("c1/cgroup.events", "populated 1\nfrozen 0\n");
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    file("c1/cgroup.events", "populated 1\nfrozen 1\n");
  });
  EXPECT_TRUE(wait_for_cgroup_event(root_ + "/c1/cgroup.events", "frozen 1", 5000));
  later.join();
}


TEST(SubCgroups, ParsesRuncsForms) {
  auto bare = parse_sub_cgroups({"/jobs/one/"});
  ASSERT_TRUE(bare.ok()) << bare.error().to_string();
  EXPECT_EQ(*bare, (std::map<std::string, std::string>{{"", "jobs/one"}}));
  auto per_controller = parse_sub_cgroups({"cpu,memory:a", "pids:b"});
  ASSERT_TRUE(per_controller.ok());
  EXPECT_EQ(*per_controller, (std::map<std::string, std::string>{{"cpu", "a"}, {"memory", "a"}, {"pids", "b"}}));
  EXPECT_TRUE(parse_sub_cgroups({})->empty());
}

TEST(SubCgroups, RefusesPathsLeavingTheContainerAndAmbiguousValues) {
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{".."}, {"a/../../x"}, {"memory:../x"}, {"/"}, {",memory:x"}, {"a", "b"},
        {"memory:a", "memory:b"}}) {
    auto parsed = parse_sub_cgroups(bad);
    ASSERT_FALSE(parsed.ok()) << bad.front();
    EXPECT_NE(parsed.error().to_string().find("--cgroup"), std::string::npos) << parsed.error().to_string();
  }
}

TEST_F(CgroupTree, V1ExecJoinsSubCgroupsPerControllerOrEverywhere) {
  v1_controllers({"memory", "pids", "cpu"});
  fs::create_directory_symlink(root_ + "/cpu", root_ + "/cpuacct");  // cpu,cpuacct: one hierarchy
  for (const char* d : {"memory", "pids", "cpu"}) {
    file(std::string(d) + "/c1/cgroup.procs");
    file(std::string(d) + "/c1/job/cgroup.procs");
  }
  auto mgr = make_cgroup_manager(CgroupLayout::V1, root_, "/c1");
  ASSERT_TRUE(mgr->add_process(5, {{"cpuacct", "job"}, {"memory", "job"}}).ok());
  EXPECT_EQ(read("cpu/c1/job/cgroup.procs"), "5") << "cpuacct is the cpu hierarchy";
  EXPECT_EQ(read("memory/c1/job/cgroup.procs"), "5");
  EXPECT_EQ(read("pids/c1/cgroup.procs"), "5") << "controllers not named: the container's cgroup";
  ASSERT_TRUE(mgr->add_process(6, {{"", "job"}}).ok());
  EXPECT_EQ(read("pids/c1/job/cgroup.procs"), "6");

  auto missing = mgr->add_process(7, {{"", "nope"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().to_string().find("c1/nope does not exist"), std::string::npos);
  auto unknown = mgr->add_process(7, {{"rdma", "job"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().to_string().find("\"rdma\""), std::string::npos);
}

TEST_F(CgroupTree, V2ExecJoinsOneSubCgroup) {
  file("cgroup.controllers", "memory");
  file("c1/cgroup.procs");
  file("c1/job/cgroup.procs");
  auto mgr = make_cgroup_manager(CgroupLayout::V2, root_, "/c1");
  ASSERT_TRUE(mgr->add_process(8, {{"", "job"}}).ok());
  EXPECT_EQ(read("c1/job/cgroup.procs"), "8");
  EXPECT_FALSE(mgr->add_process(8, {{"memory", "job"}}).ok()) << "v2 has no per-controller paths";
  EXPECT_FALSE(mgr->add_process(8, {{"", "nope"}}).ok());
}

}  // namespace
}  // namespace pvekit::oci::linux

namespace pvekit::oci::linux {
namespace {

Resources io_and_more() {
  Resources r;
  r.block_io = BlockIoResources{.weight = 500,
                                .leaf_weight = std::nullopt,
                                .weight_devices = {{8, 0, 200, std::nullopt}},
                                .throttle_read_bps = {{8, 0, 1048576}},
                                .throttle_write_bps = {},
                                .throttle_read_iops = {},
                                .throttle_write_iops = {{7, 0, 100}}};
  r.hugepage_limits = {{"2MB", 209715200}};
  r.network = NetworkResources{1048577, {{"eth0", 5}}};
  r.rdma["mlx5_1"] = RdmaLimit{3, std::nullopt};
  return r;
}

using Writes = std::vector<std::pair<std::string, std::string>>;

TEST(CgroupWrites, V1BlockIoHugetlbNetworkRdma) {
  EXPECT_EQ(v1_writes("blkio", io_and_more()),
            (Writes{{"blkio.weight", "500"}, {"blkio.weight_device", "8:0 200"},
                    {"blkio.throttle.read_bps_device", "8:0 1048576"}, {"blkio.throttle.write_iops_device", "7:0 100"}}));
  auto bfq_only = [](const std::string& f) { return f.rfind("blkio.bfq.", 0) == 0; };
  auto bfq = v1_writes("blkio", io_and_more(), bfq_only);
  EXPECT_EQ(bfq.at(0), (std::pair<std::string, std::string>{"blkio.bfq.weight", "500"}));
  EXPECT_EQ(bfq.at(1), (std::pair<std::string, std::string>{"blkio.bfq.weight_device", "8:0 200"}));
  EXPECT_EQ(v1_writes("hugetlb", io_and_more()), (Writes{{"hugetlb.2MB.limit_in_bytes", "209715200"}}));
  EXPECT_EQ(v1_writes("net_cls", io_and_more()), (Writes{{"net_cls.classid", "1048577"}}));
  EXPECT_EQ(v1_writes("net_prio", io_and_more()), (Writes{{"net_prio.ifpriomap", "eth0 5"}}));
  // runc's fscommon.RdmaSet: limits not given are left out (an update keeps them).
  EXPECT_EQ(v1_writes("rdma", io_and_more()), (Writes{{"rdma.max", "mlx5_1 hca_handle=3"}}));
}

TEST(CgroupWrites, V2BlockIoHugetlbRdmaUnified) {
  Resources r = io_and_more();
  r.unified["memory.high"] = "1000000";
  auto w = v2_writes(r);
  ASSERT_TRUE(w.ok()) << w.error().to_string();
  EXPECT_EQ(*w, (Writes{{"io.weight", "default " + std::to_string(blkio_to_io_weight(500))},
                        {"io.weight", "8:0 " + std::to_string(blkio_to_io_weight(200))},
                        {"io.max", "8:0 rbps=1048576"},
                        {"io.max", "7:0 wiops=100"},
                        {"hugetlb.2MB.max", "209715200"},
                        {"hugetlb.2MB.rsvd.max", "209715200"},
                        {"rdma.max", "mlx5_1 hca_handle=3"},
                        {"memory.high", "1000000"}}));
  // runc 1.2 setIo / crun: BFQ gets the OCI weight unconverted, as a plain
  // number (what io.bfq.weight reads on every kernel), and device weights too.
  auto with_bfq = v2_writes(r, [](const std::string& f) { return f == "io.bfq.weight"; });
  ASSERT_TRUE(with_bfq.ok());
  EXPECT_EQ(with_bfq->at(0), (std::pair<std::string, std::string>{"io.bfq.weight", "500"}));
  EXPECT_EQ(with_bfq->at(1), (std::pair<std::string, std::string>{"io.bfq.weight", "8:0 200"}));
  // runc 1.2 setHugeTlb skips .rsvd.max where the kernel has none (before 5.7).
  auto old_kernel = v2_writes(r, [](const std::string& f) { return f.find("rsvd") == std::string::npos; });
  ASSERT_TRUE(old_kernel.ok());
  EXPECT_EQ(std::count_if(old_kernel->begin(), old_kernel->end(), [](const auto& p) { return p.first.find("hugetlb") == 0; }), 1);
  EXPECT_EQ(v2_unsupported(r), std::vector<std::string>{"network (net_cls/net_prio are cgroup v1 controllers)"});
}

TEST_F(CgroupTree, V1AppliesThroughAliasedHierarchiesAndSkipsMissingControllers) {
  v1_controllers({"net_cls", "blkio"});
  fs::create_directory_symlink(root_ + "/net_cls", root_ + "/net_prio");  // net_cls,net_prio: one hierarchy
  for (const char* f : {"net_cls/c1/net_cls.classid", "net_cls/c1/net_prio.ifpriomap", "blkio/c1/blkio.bfq.weight",
                        "blkio/c1/blkio.bfq.weight_device", "blkio/c1/blkio.throttle.read_bps_device",
                        "blkio/c1/blkio.throttle.write_iops_device"})
    file(f);
  auto mgr = make_cgroup_manager(CgroupLayout::V1, root_, "/c1");
  auto applied = mgr->apply(io_and_more());
  ASSERT_TRUE(applied.ok()) << applied.error().to_string() << " (hugetlb and rdma are not mounted: skipped)";
  EXPECT_EQ(read("net_cls/c1/net_prio.ifpriomap"), "eth0 5");
  EXPECT_EQ(read("net_cls/c1/net_cls.classid"), "1048577");
  EXPECT_EQ(read("blkio/c1/blkio.bfq.weight"), "500");
  EXPECT_EQ(read("blkio/c1/blkio.throttle.write_iops_device"), "7:0 100");

  Resources unified;
  unified.unified["memory.high"] = "1";
  auto refused = mgr->apply(unified);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().to_string().find("linux.resources.unified"), std::string::npos);
}

}  // namespace
}  // namespace pvekit::oci::linux
