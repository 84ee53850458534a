// The systemd cgroup driver without systemd: unit names and slices as runc
// derives them, resources as the unit properties runc sets (its values are
// the expected ones), and the manager against a fake bus and a temp v2 tree.
// The real bus is exercised in the VM (tests/vm).

#include "oci/linux/systemd_cgroup.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>

#include "support/temp_dir.h"

namespace pvekit::oci::linux {
namespace {

namespace fs = std::filesystem;

SystemdUnitPath parsed(const std::string& cgroups_path, const std::string& id = "c1") {
  auto p = parse_systemd_cgroups_path(cgroups_path, id);
  EXPECT_TRUE(p.ok()) << cgroups_path << ": " << (p.ok() ? "" : p.error().message());
  return p.ok() ? *p : SystemdUnitPath{};
}

TEST(SystemdUnitPath, TakesRuncsSlicePrefixNameForm) {
  auto docker = parsed("system.slice:docker:abc");
  EXPECT_EQ(docker.slice, "system.slice");
  EXPECT_EQ(docker.unit, "docker-abc.scope");
  auto podman = parsed("machine-libpod_pod_1.slice:libpod:f00");
  EXPECT_EQ(podman.slice, "machine-libpod_pod_1.slice");
  EXPECT_EQ(podman.unit, "libpod-f00.scope");
  EXPECT_EQ(parsed(":runc:x").slice, "system.slice");
  EXPECT_EQ(parsed("user.slice::x").unit, "x.scope");
  // A name that is a slice is the container's own slice, the prefix ignored.
  EXPECT_EQ(parsed("user-1000.slice:p:kubepods-pod1.slice").unit, "kubepods-pod1.slice");
  auto empty = parsed("", "ctr9");
  EXPECT_EQ(empty.slice, "system.slice");
  EXPECT_EQ(empty.unit, "lxcri-ctr9.scope");
}

TEST(SystemdUnitPath, RefusesWhatIsNoUnitNamingTheField) {
  for (const char* bad : {"/a/b", "a:b", "a:b:c:d", "system.slice:p:", "system.slice:p:x/y", "nota:p:x",
                          "a--b.slice:p:x", "system.slice:p:x y", "system.slice:../..:x", "../x.slice:p:x"}) {
    auto p = parse_systemd_cgroups_path(bad, "c1");
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_NE(p.error().message().find("linux.cgroupsPath"), std::string::npos) << p.error().message();
  }
  EXPECT_FALSE(parse_systemd_cgroups_path("system.slice:p:" + std::string(300, 'x'), "c1").ok());
}

TEST(SystemdUnitPath, ExpandsSlicesAsSystemdLaysThemOut) {
  EXPECT_EQ(*expand_slice("system.slice"), "/system.slice");
  EXPECT_EQ(*expand_slice("test-a-b.slice"), "/test.slice/test-a.slice/test-a-b.slice");
  EXPECT_EQ(*expand_slice("-.slice"), "/");
  for (const char* bad : {".slice", "a.service", "-a.slice", "a--b.slice", "a-.slice", "a/b.slice", ""})
    EXPECT_FALSE(expand_slice(bad).ok()) << bad;
  EXPECT_EQ(*systemd_cgroup_path({"machine.slice", "libpod-1.scope"}), "/machine.slice/libpod-1.scope");
  EXPECT_EQ(*systemd_cgroup_path({"-.slice", "x.scope"}), "/x.scope");
}

using Writes = std::vector<std::pair<std::string, std::string>>;

const UnitProperty* find(const std::vector<UnitProperty>& props, const std::string& name) {
  for (const auto& p : props)
    if (p.name == name) return &p;
  return nullptr;
}

uint64_t u64(const std::vector<UnitProperty>& props, const std::string& name) {
  const auto* p = find(props, name);
  EXPECT_NE(p, nullptr) << name;
  return p ? std::get<uint64_t>(p->value) : 0;
}

TEST(SystemdProperties, MapsTheV2FilesAsRunc) {
  auto props = systemd_resource_properties({{"memory.max", "67108864"},
                                            {"memory.low", "1048576"},
                                            {"memory.swap.max", "max"},
                                            {"cpu.weight", "39"},
                                            {"cpu.max", "50000 100000"},
                                            {"cpuset.cpus", "0-2,9"},
                                            {"cpuset.mems", "0"},
                                            {"pids.max", "50"},
                                            {"io.weight", "default 100"},
                                            {"io.max", "8:0 rbps=1024"},
                                            {"hugetlb.2MB.max", "0"}});
  ASSERT_TRUE(props.ok()) << props.error().message();
  EXPECT_EQ(u64(*props, "MemoryMax"), 67108864u);
  EXPECT_EQ(u64(*props, "MemoryLow"), 1048576u);
  EXPECT_EQ(u64(*props, "MemorySwapMax"), kSystemdInfinity);
  EXPECT_EQ(u64(*props, "CPUWeight"), 39u);
  EXPECT_EQ(u64(*props, "CPUQuotaPeriodUSec"), 100000u);
  EXPECT_EQ(u64(*props, "CPUQuotaPerSecUSec"), 500000u);  // --cpus 0.5
  EXPECT_EQ(u64(*props, "TasksMax"), 50u);
  EXPECT_EQ(u64(*props, "IOWeight"), 100u);
  // runc's RangeToBits: cpus 0,1,2 in the first byte, 9 in the second.
  EXPECT_EQ(std::get<std::vector<uint8_t>>(find(*props, "AllowedCPUs")->value), (std::vector<uint8_t>{0x07, 0x02}));
  EXPECT_EQ(std::get<std::vector<uint8_t>>(find(*props, "AllowedMemoryNodes")->value), (std::vector<uint8_t>{0x01}));
  // No property for io.max or hugetlb: the v2 manager writes those files.
  EXPECT_EQ(props->size(), 10u);
}

TEST(SystemdProperties, RoundsAFractionalQuotaUpToAWholePercent) {
  // runc's addCpuQuota: 1234 us per 100 ms is 12340 us/s, kept by systemd as 2%.
  auto props = systemd_resource_properties({{"cpu.max", "1234 100000"}});
  ASSERT_TRUE(props.ok());
  EXPECT_EQ(u64(*props, "CPUQuotaPerSecUSec"), 20000u);
  auto unlimited = systemd_resource_properties({{"cpu.max", "max 50000"}});
  ASSERT_TRUE(unlimited.ok());
  EXPECT_EQ(u64(*unlimited, "CPUQuotaPerSecUSec"), kSystemdInfinity);
  EXPECT_EQ(u64(*unlimited, "CPUQuotaPeriodUSec"), 50000u);
}

TEST(SystemdProperties, RefusesHostileValuesNamingTheFile) {
  for (const Writes& bad : {Writes{{"cpu.max", "abc"}}, Writes{{"cpu.max", "1 0"}}, Writes{{"cpu.max", "1 2 3"}},
                            Writes{{"cpu.max", "18446744073709551615 100000"}},
                            Writes{{"cpuset.cpus", "0-4000000000"}}, Writes{{"cpuset.cpus", "3-1"}},
                            Writes{{"cpuset.cpus", ""}}, Writes{{"cpuset.mems", "a"}}, Writes{{"memory.max", "-1"}},
                            Writes{{"memory.max", "99999999999999999999999"}}, Writes{{"pids.max", "1e3"}},
                            Writes{{"cpu.weight", "0"}}, Writes{{"cpu.weight", "10001"}},
                            Writes{{"io.weight", "default x"}}}) {
    auto props = systemd_resource_properties(bad);
    ASSERT_FALSE(props.ok()) << bad[0].first << "=" << bad[0].second;
    EXPECT_NE(props.error().message().find(bad[0].first), std::string::npos) << props.error().message();
  }
}

DeviceRule rule(bool allow, std::string type, std::optional<int64_t> major, std::optional<int64_t> minor,
                std::string access = "rwm") {
  return DeviceRule{allow, std::move(type), major, minor, std::move(access)};
}

std::string group_of(char type, int64_t major) { return type == 'c' && major == 136 ? "pts" : ""; }

TEST(SystemdDeviceProperties, AnAllowListAfterDenyAllIsStrict) {
  auto props = systemd_device_properties({rule(true, "a", {}, {}), rule(false, "a", {}, {}),
                                          rule(true, "c", 1, 3), rule(true, "c", {}, {}, "m"),
                                          rule(true, "c", 136, {}), rule(true, "b", 8, 0, "r")},
                                         group_of);
  ASSERT_EQ(props.size(), 2u);
  EXPECT_EQ(props[0], (UnitProperty{"DevicePolicy", std::string("strict")}));
  EXPECT_EQ(std::get<std::vector<DeviceAllowEntry>>(props[1].value),
            (std::vector<DeviceAllowEntry>{
                {"/dev/char/1:3", "rwm"}, {"char-*", "m"}, {"char-pts", "rwm"}, {"/dev/block/8:0", "r"}}));
}

TEST(SystemdDeviceProperties, AllowAllIsAutoAndWhatSystemdCannotSayIsLeftToTheFilter) {
  auto all = systemd_device_properties({rule(false, "a", {}, {}), rule(true, "a", {}, {})}, group_of);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], (UnitProperty{"DevicePolicy", std::string("auto")}));
  EXPECT_TRUE(std::get<std::vector<DeviceAllowEntry>>(all[1].value).empty());
  // A deny among the allows, "*:N", a major without a /proc/devices group, no rule about all devices.
  EXPECT_TRUE(systemd_device_properties({rule(true, "a", {}, {}), rule(false, "c", 1, 3)}, group_of).empty());
  EXPECT_TRUE(systemd_device_properties({rule(false, "a", {}, {}), rule(true, "c", {}, 3)}, group_of).empty());
  EXPECT_TRUE(systemd_device_properties({rule(false, "a", {}, {}), rule(true, "c", 42, {})}, group_of).empty());
  EXPECT_TRUE(systemd_device_properties({rule(true, "c", 1, 3)}, group_of).empty());
}

TEST(SystemdDeviceProperties, ReadsGroupsFromProcDevices) {
  // Every Linux has the mem driver at character major 1.
  EXPECT_EQ(proc_devices_group('c', 1), "mem");
  EXPECT_EQ(proc_devices_group('c', 100000), "");
}

TEST(SystemdScope, CarriesRuncsPropertiesAndThePid) {
  auto props = scope_properties("c1", {"machine.slice", "libpod-c1.scope"}, 42);
  EXPECT_EQ(std::get<std::string>(find(props, "Slice")->value), "machine.slice");
  EXPECT_EQ(std::get<std::vector<uint32_t>>(find(props, "PIDs")->value), std::vector<uint32_t>{42});
  EXPECT_TRUE(std::get<bool>(find(props, "Delegate")->value));
  EXPECT_FALSE(std::get<bool>(find(props, "DefaultDependencies")->value));
  for (const char* a : {"MemoryAccounting", "CPUAccounting", "IOAccounting", "TasksAccounting"})
    EXPECT_TRUE(std::get<bool>(find(props, a)->value)) << a;
  auto slice = scope_properties("c1", {"user.slice", "c1.slice"}, 42);
  EXPECT_EQ(find(slice, "Slice"), nullptr);
  EXPECT_EQ(std::get<std::string>(find(slice, "Wants")->value), "user.slice");
  EXPECT_EQ(find(slice, "Delegate"), nullptr);
}

// What the manager asked systemd for.
struct BusLog {
  int connects = 0;
  std::vector<std::pair<std::string, std::vector<UnitProperty>>> started, set;
  std::vector<std::string> stopped;
  bool fail_start = false;
  std::function<void()> on_stop;  // what systemd does to the cgroup
};

class FakeBus final : public SystemdBus {
 public:
  explicit FakeBus(BusLog& log) : log_(log) {}
  core::Status start_transient_unit(const std::string& unit, const std::vector<UnitProperty>& props) override {
    if (log_.fail_start) return core::Error(core::ErrorCategory::Runtime, "Unit " + unit + " already exists.");
    log_.started.emplace_back(unit, props);
    return core::ok();
  }
  core::Status set_unit_properties(const std::string& unit, const std::vector<UnitProperty>& props) override {
    log_.set.emplace_back(unit, props);
    return core::ok();
  }
  core::Status stop_unit(const std::string& unit) override {
    log_.stopped.push_back(unit);
    if (log_.on_stop) log_.on_stop();
    return core::ok();
  }

 private:
  BusLog& log_;
};

class SystemdManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(root_ + "/cgroup.controllers") << "cpu memory pids";
    fs::create_directories(dir_);
    for (const char* f : {"memory.max", "pids.max", "cpu.max", "cpu.weight", "cgroup.procs", "cgroup.freeze"})
      std::ofstream(dir_ + "/" + f);
    std::ofstream(dir_ + "/cgroup.events") << "populated 1\nfrozen 1\n";
  }
  void TearDown() override {
    if (child_ > 0) {
      ::kill(child_, SIGKILL);
      ::waitpid(child_, nullptr, 0);
    }
  }
  std::string read(const std::string& file) { return tmp_.read("system.slice/lxcri-c1.scope/" + file); }
  std::unique_ptr<CgroupManager> manager(bool exists) {
    auto m = make_systemd_cgroup_manager(root_, "c1", {"system.slice", "lxcri-c1.scope"}, [this] {
      ++log_.connects;
      return core::Result<std::unique_ptr<SystemdBus>>(std::make_unique<FakeBus>(log_));
    }, exists);
    EXPECT_TRUE(m.ok());
    return std::move(*m);
  }
  pid_t spawn_sleeper() {
    child_ = ::fork();
    if (child_ == 0) {
      ::pause();
      ::_exit(0);
    }
    return child_;
  }
  static Resources limits() {
    Resources r;
    r.memory = MemoryResources{.limit = 64 << 20};
    r.pids_limit = 50;
    return r;
  }

  pvekit::testing::TempDir tmp_{"lxcri-sd"};
  const std::string& root_ = tmp_.path();
  std::string dir_ = root_ + "/system.slice/lxcri-c1.scope";
  BusLog log_;
  pid_t child_ = -1;
};

TEST_F(SystemdManagerTest, StartsTheScopeWithTheInitAndItsLimitsThenWritesTheFiles) {
  auto cg = manager(false);
  ASSERT_TRUE(cg->create().ok());
  EXPECT_EQ(log_.connects, 1);  // before the clone
  ASSERT_TRUE(cg->apply(limits()).ok());
  EXPECT_TRUE(log_.set.empty());  // no unit yet: kept for the start
  auto pid = cg->spawn_inside({}, [&] { return spawn_sleeper(); });
  ASSERT_TRUE(pid.ok()) << pid.error().message();
  ASSERT_EQ(log_.started.size(), 1u);
  const auto& [unit, props] = log_.started[0];
  EXPECT_EQ(unit, "lxcri-c1.scope");
  EXPECT_EQ(std::get<std::vector<uint32_t>>(find(props, "PIDs")->value),
            std::vector<uint32_t>{static_cast<uint32_t>(*pid)});
  EXPECT_EQ(u64(props, "MemoryMax"), 64u << 20);
  EXPECT_EQ(u64(props, "TasksMax"), 50u);
  EXPECT_EQ(read("memory.max"), std::to_string(64 << 20));
  EXPECT_EQ(read("pids.max"), "50");
  EXPECT_EQ(log_.connects, 1);
}

TEST_F(SystemdManagerTest, AFailedStartLeavesNoChild) {
  log_.fail_start = true;
  auto cg = manager(false);
  auto pid = cg->spawn_inside({}, [&] { return spawn_sleeper(); });
  ASSERT_FALSE(pid.ok());
  EXPECT_NE(pid.error().message().find("lxcri-c1.scope"), std::string::npos) << pid.error().message();
  EXPECT_EQ(::waitpid(child_, nullptr, WNOHANG), -1);  // killed and reaped already
  EXPECT_EQ(errno, ECHILD);
  child_ = -1;
}

TEST_F(SystemdManagerTest, UpdateSetsPropertiesAndFilesDeleteStopsTheUnit) {
  auto cg = manager(true);
  Resources r;
  r.memory = MemoryResources{.limit = 32 << 20};
  ASSERT_TRUE(cg->apply(r).ok());
  ASSERT_EQ(log_.set.size(), 1u);
  EXPECT_EQ(u64(log_.set[0].second, "MemoryMax"), 32u << 20);
  EXPECT_EQ(read("memory.max"), std::to_string(32 << 20));
  log_.on_stop = [this] { fs::remove_all(dir_); };
  auto destroyed = cg->destroy();
  ASSERT_TRUE(destroyed.ok()) << destroyed.error().message();
  EXPECT_EQ(log_.stopped, std::vector<std::string>{"lxcri-c1.scope"});
}

TEST_F(SystemdManagerTest, PauseResumeAndPidsNeedNoConnection) {
  auto cg = manager(true);
  ASSERT_TRUE(cg->freeze().ok());
  EXPECT_EQ(read("cgroup.freeze"), "1");
  ASSERT_TRUE(cg->pids().ok());
  EXPECT_EQ(cg->dirs(), std::vector<std::string>{dir_});
  EXPECT_EQ(log_.connects, 0);
}

}  // namespace
}  // namespace pvekit::oci::linux
