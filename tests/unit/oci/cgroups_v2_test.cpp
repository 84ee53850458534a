// cgroup v2: linux.resources as runc 1.2's fs2 manager translates it (its
// values are the expected ones), and the v2 manager against temp trees laid
// out like a unified hierarchy.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "oci/linux/cgroups.h"
#include "oci/linux/stats.h"
#include "support/temp_dir.h"

namespace pvekit::oci::linux {
namespace {

namespace fs = std::filesystem;

Resources memory(std::optional<int64_t> limit, std::optional<int64_t> swap,
                 std::optional<int64_t> reservation = std::nullopt) {
  Resources r;
  r.memory = MemoryResources{.limit = limit, .reservation = reservation, .swap = swap};
  return r;
}

CgroupWrites writes(const Resources& r, const HasControlFile& has = {}) {
  auto w = v2_writes(r, has);
  EXPECT_TRUE(w.ok()) << w.error().to_string();
  return w.ok() ? *w : CgroupWrites{};
}

// The error of an invalid value: it names the field.
std::string refusal(const Resources& r) {
  auto w = v2_writes(r);
  EXPECT_FALSE(w.ok());
  return w.ok() ? std::string() : w.error().to_string();
}

// runc's TestConvertMemorySwapToCgroupV2Value, case by case.
TEST(CgroupV2Memory, SwapConversionAsRuncs) {
  struct Case {
    int64_t memswap, memory, expected;
    bool error;
  };
  for (const Case& c : {Case{0, 0, 0, false}, Case{-1, 0, -1, false}, Case{-1, -1, -1, false}, Case{-2, 0, 0, true},
                        Case{-1, 1000, -1, false}, Case{1000, 1000, 0, false}, Case{500, 200, 300, false},
                        Case{300, 400, 0, true}, Case{300, 0, 0, true}, Case{300, -300, 0, true},
                        Case{300, -1, 0, true}}) {
    auto v = memory_swap_to_v2(c.memswap, c.memory);
    EXPECT_EQ(v.ok(), !c.error) << c.memswap << " " << c.memory;
    if (v.ok()) {
      EXPECT_EQ(*v, c.expected) << c.memswap << " " << c.memory;
    }
  }
  EXPECT_EQ(memory_swap_to_v2(300, 0).error().message(), "unable to set swap limit without memory limit");
  EXPECT_EQ(memory_swap_to_v2(300, 400).error().message(), "memory+swap limit should be >= memory limit");
  EXPECT_EQ(memory_swap_to_v2(300, -300).error().message(), "invalid memory value: -300");
}

// runc's setMemory: swap.max first, numToStr (0 unset, -1 "max"), "0" when
// memory+swap equals memory, memory.low from the reservation.
TEST(CgroupV2Memory, FilesAsRuncsSetMemory) {
  EXPECT_EQ(writes(memory(64 << 20, std::nullopt)), (CgroupWrites{{"memory.max", "67108864"}}));
  EXPECT_EQ(writes(memory(-1, std::nullopt)), (CgroupWrites{{"memory.swap.max", "max"}, {"memory.max", "max"}}))
      << "unlimited memory without a swap limit: unlimited swap too";
  EXPECT_EQ(writes(memory(64 << 20, 64 << 20)), (CgroupWrites{{"memory.swap.max", "0"}, {"memory.max", "67108864"}}));
  EXPECT_EQ(writes(memory(64 << 20, -1)), (CgroupWrites{{"memory.swap.max", "max"}, {"memory.max", "67108864"}}));
  EXPECT_EQ(writes(memory(64 << 20, 96 << 20)),
            (CgroupWrites{{"memory.swap.max", "33554432"}, {"memory.max", "67108864"}}));
  EXPECT_EQ(writes(memory(std::nullopt, std::nullopt, 16 << 20)), (CgroupWrites{{"memory.low", "16777216"}}));
  EXPECT_EQ(writes(memory(std::nullopt, std::nullopt, -1)), (CgroupWrites{{"memory.low", "max"}}));
  EXPECT_TRUE(writes(memory(0, 0, 0)).empty()) << "0 is \"not set\"";
}

TEST(CgroupV2Memory, WithoutSwapAccountingOnlyARealSwapLimitIsWritten) {
  auto no_swap = [](const std::string& f) { return f != "memory.swap.max"; };
  // runc: "If swap is not enabled, silently ignore setting to max or disabling it."
  EXPECT_EQ(writes(memory(64 << 20, -1), no_swap), (CgroupWrites{{"memory.max", "67108864"}}));
  EXPECT_EQ(writes(memory(64 << 20, 64 << 20), no_swap), (CgroupWrites{{"memory.max", "67108864"}}));
  EXPECT_EQ(writes(memory(64 << 20, 96 << 20), no_swap).front().first, "memory.swap.max")
      << "a real limit is written, and fails naming the file";
}

TEST(CgroupV2Memory, InvalidValuesNameTheirField) {
  EXPECT_NE(refusal(memory(100, 50)).find("linux.resources.memory.swap: memory+swap limit should be >= memory limit"),
            std::string::npos);
  EXPECT_NE(refusal(memory(std::nullopt, 100)).find("linux.resources.memory.swap: unable to set swap limit"),
            std::string::npos);
  EXPECT_NE(refusal(memory(-2, std::nullopt)).find("linux.resources.memory.limit"), std::string::npos);
  EXPECT_NE(refusal(memory(1, std::nullopt, -7)).find("linux.resources.memory.reservation"), std::string::npos);
}

TEST(CgroupV2Cpu, WeightMaxAndIdleAsRunc) {
  // runc's TestConvertCPUSharesToCgroupV2Value: 2 -> 1, 262144 -> 10000 (1024, the default, -> 39).
  EXPECT_EQ(shares_to_weight(2), 1u);
  EXPECT_EQ(shares_to_weight(1024), 39u);
  EXPECT_EQ(shares_to_weight(262144), 10000u);
  Resources r;
  r.cpu = CpuResources{.shares = 1024, .quota = -1};
  EXPECT_EQ(writes(r), (CgroupWrites{{"cpu.weight", "39"}, {"cpu.max", "max 100000"}}))
      << "runc setCpu: quota -1 is max, period 0 the kernel's default 100000";
  r.cpu = CpuResources{.period = 50000};
  EXPECT_EQ(writes(r), (CgroupWrites{{"cpu.max", "max 50000"}}));
  r.cpu = CpuResources{.quota = 25000, .period = 50000, .idle = 1};
  EXPECT_EQ(writes(r), (CgroupWrites{{"cpu.idle", "1"}, {"cpu.max", "25000 50000"}})) << "runc writes cpu.idle first";
  r.cpu = CpuResources{.shares = 0};
  EXPECT_TRUE(writes(r).empty()) << "shares 0 is \"not set\"";
}

TEST(CgroupV2Cpu, InvalidValuesNameTheirField) {
  Resources r;
  r.cpu = CpuResources{.shares = 1};
  EXPECT_NE(refusal(r).find("linux.resources.cpu.shares: must be 2..262144, got 1"), std::string::npos);
  r.cpu = CpuResources{.shares = 300000};
  EXPECT_NE(refusal(r).find("linux.resources.cpu.shares"), std::string::npos);
  r.cpu = CpuResources{.quota = -2};
  EXPECT_NE(refusal(r).find("linux.resources.cpu.quota"), std::string::npos);
  r.cpu = CpuResources{.idle = 2};
  EXPECT_NE(refusal(r).find("linux.resources.cpu.idle: must be 0 or 1"), std::string::npos);
  r.cpu = CpuResources{.cpus = "0-1\n3"};
  EXPECT_NE(refusal(r).find("linux.resources.cpu.cpus"), std::string::npos) << "one value, one write";
  r.cpu = CpuResources{.mems = "0 1"};
  EXPECT_NE(refusal(r).find("linux.resources.cpu.mems"), std::string::npos);
}

TEST(CgroupV2Pids, LimitAndMax) {
  Resources r;
  r.pids_limit = 50;
  EXPECT_EQ(writes(r), (CgroupWrites{{"pids.max", "50"}}));
  r.pids_limit = -1;
  EXPECT_EQ(writes(r), (CgroupWrites{{"pids.max", "max"}}));
  r.pids_limit = -2;
  EXPECT_NE(refusal(r).find("linux.resources.pids.limit"), std::string::npos);
}

TEST(CgroupV2Io, WeightConversionAndThrottlesAsRunc) {
  // runc's TestConvertBlkIOToIOWeightValue: 10 -> 1, 1000 -> 10000.
  EXPECT_EQ(blkio_to_io_weight(10), 1u);
  EXPECT_EQ(blkio_to_io_weight(1000), 10000u);
  Resources r;
  r.block_io = BlockIoResources{.throttle_read_bps = {{8, 0, 1000}},
                                .throttle_write_bps = {{8, 0, 2000}},
                                .throttle_read_iops = {{8, 16, 30}},
                                .throttle_write_iops = {{8, 16, 40}}};
  // runc's TestStringName ("MAJ:MIN rbps=N"), one line per entry, rbps wbps riops wiops.
  EXPECT_EQ(writes(r), (CgroupWrites{{"io.max", "8:0 rbps=1000"},
                                     {"io.max", "8:0 wbps=2000"},
                                     {"io.max", "8:16 riops=30"},
                                     {"io.max", "8:16 wiops=40"}}));
  r.block_io = BlockIoResources{.weight = 5};
  EXPECT_NE(refusal(r).find("linux.resources.blockIO.weight: must be 10..1000"), std::string::npos);
  r.block_io = BlockIoResources{.throttle_write_iops = {{8, 0, 1}, {-1, 0, 1}}};
  EXPECT_NE(refusal(r).find("linux.resources.blockIO.throttleWriteIOPSDevice[1].major"), std::string::npos);
  r.block_io = BlockIoResources{.weight_devices = {{8, 0, 2000, std::nullopt}}};
  EXPECT_NE(refusal(r).find("linux.resources.blockIO.weightDevice[0].weight"), std::string::npos);
}

TEST(CgroupV2HugetlbRdma, NamesAndLimits) {
  Resources r;
  r.hugepage_limits = {{"1GB", 1073741824}};
  EXPECT_EQ(writes(r), (CgroupWrites{{"hugetlb.1GB.max", "1073741824"}, {"hugetlb.1GB.rsvd.max", "1073741824"}}));
  r.hugepage_limits = {{"2MB", 1}, {"../../x", 1}};
  EXPECT_NE(refusal(r).find("linux.resources.hugepageLimits[1].pageSize"), std::string::npos);
  r = Resources{};
  r.rdma["mlx4_0"] = RdmaLimit{std::nullopt, 7};
  r.rdma["idle"] = RdmaLimit{};
  EXPECT_EQ(writes(r), (CgroupWrites{{"rdma.max", "mlx4_0 hca_object=7"}}))
      << "a device without limits: nothing to set";
  r.rdma["a b"] = RdmaLimit{1, 1};
  EXPECT_NE(refusal(r).find("linux.resources.rdma"), std::string::npos);
}

TEST(CgroupV2Unified, VerbatimLineByLineAndOnlyFilesOfTheCgroup) {
  Resources r;
  r.pids_limit = 10;
  r.unified["io.max"] = "8:0 rbps=1\n8:16 wbps=2\n";
  r.unified["pids.max"] = "20";
  r.unified["cgroup.max.depth"] = "3";
  // Written last, so that they override the translation (pids.max 20 wins).
  EXPECT_EQ(writes(r), (CgroupWrites{{"pids.max", "10"},
                                     {"cgroup.max.depth", "3"},
                                     {"io.max", "8:0 rbps=1"},
                                     {"io.max", "8:16 wbps=2"},
                                     {"pids.max", "20"}}));
  for (const char* bad : {"../memory.max", "a/b", "..", ".", "", "memory..max", "memory.max\n"}) {
    Resources u;
    u.unified[bad] = "1";
    std::string why = refusal(u);
    EXPECT_NE(why.find("linux.resources.unified"), std::string::npos) << bad;
    EXPECT_NE(why.find(quote_value(bad)), std::string::npos) << "names the key: " << why;
  }
  Resources procs;
  procs.unified["cgroup.procs"] = "1";
  EXPECT_NE(refusal(procs).find("managed by the runtime"), std::string::npos);
}

TEST(CgroupV2Unsupported, V1OnlyFieldsAreListed) {
  Resources r = memory(1 << 20, std::nullopt);
  r.memory->swappiness = 10;
  r.memory->disable_oom_killer = true;
  EXPECT_EQ(v2_unsupported(r), (std::vector<std::string>{"memory.swappiness", "memory.disableOOMKiller"}));
  r.memory->disable_oom_killer = false;
  EXPECT_EQ(v2_unsupported(r).size(), 1u);
}

// A temp tree shaped like /sys/fs/cgroup on a pure v2 host.
class V2Tree : public ::testing::Test {
 protected:
  pvekit::testing::TempDir tmp_{"lxcri-cg2"};
  const std::string& root_ = tmp_.path();

  void file(const std::string& rel, const std::string& content = "") { tmp_.write(rel, content); }
  std::string read(const std::string& rel) { return tmp_.read(rel); }
};

TEST_F(V2Tree, MissingControllerIsExplainedByTheNoInternalProcessesRule) {
  file("cgroup.controllers", "cpu memory pids\n");
  file("cgroup.subtree_control", "cpu memory pids\n");
  file("pod/cgroup.controllers", "cpu memory pids\n");
  file("pod/cgroup.subtree_control", "");  // the kernel refused: pod has a process
  file("pod/cgroup.procs", "4242\n");
  file("pod/c1/cgroup.controllers", "");
  file("pod/c1/cgroup.procs");
  auto mgr = make_cgroup_manager(CgroupLayout::V2, root_, "/pod/c1");
  auto s = mgr->apply(memory(64 << 20, std::nullopt));
  ASSERT_FALSE(s.ok());
  std::string why = s.error().to_string();
  EXPECT_NE(why.find("memory.max needs the memory controller"), std::string::npos) << why;
  EXPECT_NE(why.find("cgroup " + root_ + "/pod has processes of its own"), std::string::npos) << why;
  EXPECT_NE(why.find("no internal processes"), std::string::npos) << why;
}

TEST_F(V2Tree, MissingControllerReasons) {
  file("cgroup.controllers", "cpu memory pids\n");
  file("cgroup.subtree_control", "cpu pids\n");
  file("a/cgroup.controllers", "cpu pids\n");
  file("a/cgroup.subtree_control", "cpu pids\n");
  EXPECT_NE(v2_missing_controller_reason(root_, "/a/c1", "memory").find("enabling it in " + root_), std::string::npos)
      << "the root may have processes: the write just failed";
  file("cgroup.controllers", "cpu pids\n");
  EXPECT_NE(v2_missing_controller_reason(root_, "/a/c1", "memory").find("cgroup " + root_ + " does not have it"),
            std::string::npos);
  file("a/cgroup.type", "threaded\n");
  file("cgroup.subtree_control", "cpu pids memory\n");
  file("cgroup.controllers", "cpu pids memory\n");
  file("a/cgroup.controllers", "cpu pids memory\n");
  EXPECT_NE(v2_missing_controller_reason(root_, "/a/c1", "memory").find("\"threaded\""), std::string::npos);
  EXPECT_EQ(v2_missing_controller_reason(root_, "/a/c1", "pids"), "") << "passed on all the way";
}

TEST_F(V2Tree, CreateEnablesEachLevelsOwnControllers) {
  file("cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
  file("cgroup.subtree_control");
  file("system.slice/cgroup.controllers", "cpu memory pids\n");
  file("system.slice/cgroup.subtree_control");
  auto mgr = make_cgroup_manager(CgroupLayout::V2, root_, "/system.slice/lxcri-c1");
  ASSERT_TRUE(mgr->create().ok());
  EXPECT_EQ(read("cgroup.subtree_control"), "+cpuset +cpu +io +memory +hugetlb +pids +rdma +misc");
  EXPECT_EQ(read("system.slice/cgroup.subtree_control"), "+cpu +memory +pids") << "only what the level has";
  EXPECT_TRUE(fs::is_directory(root_ + "/system.slice/lxcri-c1"));
  EXPECT_FALSE(fs::exists(root_ + "/system.slice/lxcri-c1/cgroup.subtree_control"))
      << "the leaf holds the processes: nothing enabled below it";
}

// runc's update takes what it does not change from its saved config; the v2
// manager takes it from the cgroup: cpu.max holds quota and period together,
// and OCI's swap counts the memory limit in.
TEST_F(V2Tree, UpdateCompletesCpuMaxAndSwapFromTheCgroup) {
  file("cgroup.controllers", "cpu memory\n");
  file("c1/cpu.max", "20000 50000\n");
  file("c1/memory.max", "67108864\n");
  file("c1/memory.swap.max", "0\n");
  auto mgr = make_cgroup_manager(CgroupLayout::V2, root_, "/c1");
  Resources quota;
  quota.cpu = CpuResources{.quota = 30000};
  ASSERT_TRUE(mgr->apply(quota).ok());
  EXPECT_EQ(read("c1/cpu.max"), "30000 50000");
  Resources period;
  period.cpu = CpuResources{.period = 100000};
  ASSERT_TRUE(mgr->apply(period).ok());
  EXPECT_EQ(read("c1/cpu.max"), "30000 100000");
  auto swap = mgr->apply(memory(std::nullopt, 128 << 20));
  ASSERT_TRUE(swap.ok()) << swap.error().to_string();
  EXPECT_EQ(read("c1/memory.swap.max"), "67108864") << "128 MiB memory+swap over the 64 MiB in force";
  file("c1/memory.max", "max\n");
  auto no_limit = mgr->apply(memory(std::nullopt, 128 << 20));
  ASSERT_FALSE(no_limit.ok());
  EXPECT_NE(no_limit.error().to_string().find("unable to set swap limit without memory limit"), std::string::npos);
}

TEST_F(V2Tree, AnInvalidValueWritesNothing) {
  file("cgroup.controllers", "pids\n");
  file("c1/pids.max", "max\n");
  auto mgr = make_cgroup_manager(CgroupLayout::V2, root_, "/c1");
  Resources r;
  r.pids_limit = 5;
  r.unified["../../escape"] = "1";
  ASSERT_FALSE(mgr->apply(r).ok());
  EXPECT_EQ(read("c1/pids.max"), "max\n");
}

TEST_F(V2Tree, KillGoesThroughCgroupKillWhereTheKernelHasIt) {
  file("cgroup.controllers", "pids\n");
  file("c1/cgroup.kill");
  auto mgr = make_cgroup_manager(CgroupLayout::V2, root_, "/c1");
  auto killed = mgr->kill_all();
  ASSERT_TRUE(killed.ok());
  EXPECT_TRUE(*killed);
  EXPECT_EQ(read("c1/cgroup.kill"), "1");
  auto older = make_cgroup_manager(CgroupLayout::V2, root_, "/c2");  // no cgroup.kill: before Linux 5.14
  ASSERT_TRUE(older->kill_all().ok());
  EXPECT_FALSE(*older->kill_all());
  fs::create_directories(root_ + "/v1/memory");
  EXPECT_FALSE(*make_cgroup_manager(CgroupLayout::V1, root_ + "/v1", "/c1")->kill_all()) << "v1 freezes and signals";
}

TEST_F(V2Tree, PsNamesThePidsOfSubCgroupsToo) {
  file("cgroup.controllers", "pids\n");
  file("c1/cgroup.procs", "10\n11\n");
  file("c1/init.scope/cgroup.procs", "12\n");
  file("c1/jobs/a/cgroup.procs", "13\ngarbage\n\n");
  auto mgr = make_cgroup_manager(CgroupLayout::V2, root_, "/c1");
  auto pids = mgr->pids();
  ASSERT_TRUE(pids.ok());
  std::sort(pids->begin(), pids->end());
  EXPECT_EQ(*pids, (std::vector<pid_t>{10, 11, 12, 13}));
}

// memory.events as the kernel rewrites it; inotify sees plain files change too.
TEST_F(V2Tree, OomWatchReportsAKillAsSoonAsMemoryEventsChanges) {
  file("cgroup.controllers", "memory\n");
  file("c1/memory.events", "low 0\nhigh 0\nmax 3\noom 2\noom_kill 2\n");
  file("c1/cgroup.events", "populated 1\nfrozen 0\n");
  auto watch = watch_cgroup_oom(root_, "/c1");
  ASSERT_TRUE(watch.ok()) << watch.error().to_string();
  auto quiet = (*watch)->wait(std::chrono::milliseconds(50));
  ASSERT_TRUE(quiet.ok());
  EXPECT_EQ(quiet->oom_kills, 0u) << "kills before the watch began are not news";
  std::thread kernel([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    file("c1/memory.events", "low 0\nhigh 0\nmax 9\noom 3\noom_kill 3\n");
  });
  auto start = std::chrono::steady_clock::now();
  OomWatch::Seen seen;
  while (seen.oom_kills == 0 && std::chrono::steady_clock::now() - start < std::chrono::seconds(10)) {
    auto w = (*watch)->wait(std::chrono::seconds(10));
    ASSERT_TRUE(w.ok());
    seen = *w;
  }
  kernel.join();
  EXPECT_EQ(seen.oom_kills, 1u);
  EXPECT_FALSE(seen.emptied);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5)) << "not at the timeout";
  file("c1/memory.events", "low 0\nhigh 0\nmax 10\noom 3\noom_kill 3\n");  // "max" moved: no kill
  auto more = (*watch)->wait(std::chrono::seconds(5));
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(more->oom_kills, 0u);
  file("c1/cgroup.events", "populated 0\nfrozen 0\n");
  auto gone = (*watch)->wait(std::chrono::seconds(5));
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(gone->emptied);
}

TEST_F(V2Tree, OomWatchNeedsMemoryEvents) {
  file("cgroup.controllers", "pids\n");
  file("c1/cgroup.events", "populated 1\n");
  auto watch = watch_cgroup_oom(root_, "/c1");
  ASSERT_FALSE(watch.ok());
  EXPECT_NE(watch.error().to_string().find("memory.events"), std::string::npos);
}

TEST_F(V2Tree, StatsReadPressureAndReportSwapAsMemoryPlusSwap) {
  file("cgroup.controllers", "cpu memory\n");
  file("c1/cpu.pressure",
       "some avg10=1.50 avg60=0.25 avg300=0.00 total=12345\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=7\n");
  file("c1/io.pressure",
       "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=\n");
  file("c1/memory.current", "1000\n");
  file("c1/memory.max", "4000\n");
  file("c1/memory.swap.current", "200\n");
  file("c1/memory.swap.max", "3000\n");
  auto s = read_cgroup_stats(CgroupLayout::V2, root_, "/c1");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s->cpu_psi.has_value());
  EXPECT_EQ(s->cpu_psi->some, (PsiData{1.5, 0.25, 0, 12345}));
  EXPECT_EQ(s->cpu_psi->full.total, 7u);
  EXPECT_FALSE(s->memory_psi.has_value()) << "no file: PSI is off";
  EXPECT_FALSE(s->io_psi.has_value()) << "a truncated line: no figures rather than wrong ones";
  EXPECT_EQ(s->swap_usage, 1200u);
  EXPECT_EQ(s->swap_limit, 7000u);
  auto j = stats_json(*s);
  EXPECT_EQ(j["cpu"]["psi"]["some"]["total"], 12345);
  EXPECT_DOUBLE_EQ(j["cpu"]["psi"]["some"]["avg10"].get<double>(), 1.5);
  EXPECT_FALSE(j["memory"].contains("psi"));
  EXPECT_FALSE(j["blkio"].contains("psi"));
}

}  // namespace
}  // namespace pvekit::oci::linux
