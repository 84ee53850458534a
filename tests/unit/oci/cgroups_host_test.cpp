// The cgroup code against this host's real cgroups, where it has them: the
// unified tree (at /sys/fs/cgroup/unified on a hybrid host, where it has
// cgroup.freeze, cgroup.kill, cgroup.events, *.pressure and, here, hugetlb;
// at /sys/fs/cgroup on a pure v2 host) and v1's memory controller for OOM
// notifications. Each test skips, saying why, where its part is missing, and
// removes the cgroups and processes it made.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "oci/linux/cgroups.h"
#include "oci/linux/stats.h"

namespace pvekit::oci::linux {
namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool put(const std::string& path, const std::string& value) {
  std::ofstream out(path);
  out << value;
  out.flush();
  return out.good();
}

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.push_back(w);
  std::sort(out.begin(), out.end());
  return out;
}

// The unified hierarchy's root, or "" when this host has none we may use.
std::string unified_root(std::string& why) {
  if (::geteuid() != 0) {
    why = "needs root";
    return "";
  }
  for (const char* root : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"})
    if (fs::exists(std::string(root) + "/cgroup.controllers")) return root;
  why = "no cgroup v2 hierarchy mounted";
  return "";
}

// /proc/swaps has a header line, then one line per active swap area.
bool swap_on() {
  std::string swaps = slurp("/proc/swaps");
  return std::count(swaps.begin(), swaps.end(), '\n') > 1;
}

// Removes a cgroup and its sub-cgroups, deepest first (cgroups are rmdir'ed, not unlinked).
void remove_cgroup_tree(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_directory(ec)) remove_cgroup_tree(e.path().string());
  for (int i = 0; i < 50 && ::rmdir(dir.c_str()) != 0 && errno == EBUSY; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

// A child that sleeps until killed; reaped by the guard.
class Sleeper {
 public:
  Sleeper() {
    pid_ = ::fork();
    if (pid_ == 0) {
      while (true) ::pause();
    }
  }
  ~Sleeper() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  // The wait status once it has ended.
  int reap() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
};

struct Scoped {
  std::string dir;
  ~Scoped() { remove_cgroup_tree(dir); }
};

TEST(HostCgroupV2, ManagerEnablesFreezesKillsAndRemovesForReal) {
  std::string why, root = unified_root(why);
  if (root.empty()) GTEST_SKIP() << why;
  std::string top = "/lxcri-unit-" + std::to_string(::getpid());
  Scoped cleanup{root + top};
  auto mgr = make_cgroup_manager(CgroupLayout::V2, root, top + "/pod/c1");
  auto created = mgr->create();
  if (!created.ok() && created.error().sys_errno() == EACCES) GTEST_SKIP() << created.error().to_string();
  ASSERT_TRUE(created.ok()) << created.error().to_string();
  // Every level passes on what it has (here on a hybrid host: hugetlb).
  for (const auto& level : {root + top, root + top + "/pod"})
    EXPECT_EQ(words(slurp(level + "/cgroup.subtree_control")), words(slurp(level + "/cgroup.controllers"))) << level;
  std::string dir = root + top + "/pod/c1";

  Sleeper child;
  ASSERT_GT(child.pid(), 0);
  ASSERT_TRUE(mgr->add_process(child.pid()).ok());
  auto pids = mgr->pids();
  ASSERT_TRUE(pids.ok());
  EXPECT_EQ(*pids, std::vector<pid_t>{child.pid()});

  if (fs::exists(dir + "/cgroup.freeze")) {
    auto frozen = mgr->freeze();
    ASSERT_TRUE(frozen.ok()) << frozen.error().to_string();
    EXPECT_NE(slurp(dir + "/cgroup.events").find("frozen 1"), std::string::npos);
    ASSERT_TRUE(mgr->thaw().ok());
    EXPECT_NE(slurp(dir + "/cgroup.events").find("frozen 0"), std::string::npos);
  }

  if (fs::exists(dir + "/hugetlb.2MB.max")) {
    Resources r;
    r.hugepage_limits = {{"2MB", 4 << 20}};
    auto applied = mgr->apply(r);
    ASSERT_TRUE(applied.ok()) << applied.error().to_string();
    EXPECT_EQ(slurp(dir + "/hugetlb.2MB.max"), "4194304\n");
    if (fs::exists(dir + "/hugetlb.2MB.rsvd.max")) {
      EXPECT_EQ(slurp(dir + "/hugetlb.2MB.rsvd.max"), "4194304\n");
    }
  }

  auto stats = read_cgroup_stats(CgroupLayout::V2, root, top + "/pod/c1");
  ASSERT_TRUE(stats.ok());
  if (fs::exists(dir + "/cpu.pressure") && !slurp(dir + "/cpu.pressure").empty()) {
    EXPECT_TRUE(stats->cpu_psi.has_value()) << slurp(dir + "/cpu.pressure");
    EXPECT_TRUE(stats_json(*stats)["cpu"].contains("psi"));
  }

  auto killed = mgr->kill_all();
  ASSERT_TRUE(killed.ok()) << killed.error().to_string();
  if (*killed) {  // else before Linux 5.14
    int status = child.reap();
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "cgroup.kill SIGKILLs";
  }
  auto destroyed = mgr->destroy();
  ASSERT_TRUE(destroyed.ok()) << destroyed.error().to_string();
  EXPECT_FALSE(fs::exists(dir));
}

// A limit the kernel offers here, and the file that shows it.
struct Probe {
  std::string controller;
  Resources resources;
  std::string file;
};

std::optional<Probe> probe_for(const std::vector<std::string>& available) {
  auto has = [&](const char* c) { return std::find(available.begin(), available.end(), c) != available.end(); };
  Resources r;
  if (has("pids")) {
    r.pids_limit = 10;
    return Probe{"pids", r, "pids.max"};
  }
  if (has("memory")) {
    r.memory = MemoryResources{.limit = 64 << 20};
    return Probe{"memory", r, "memory.max"};
  }
  if (has("hugetlb") && fs::exists("/sys/kernel/mm/hugepages/hugepages-2048kB")) {
    r.hugepage_limits = {{"2MB", 2 << 20}};
    return Probe{"hugetlb", r, "hugetlb.2MB.max"};
  }
  return std::nullopt;
}

TEST(HostCgroupV2, TheNoInternalProcessesRuleIsExplainedForReal) {
  std::string why, root = unified_root(why);
  if (root.empty()) GTEST_SKIP() << why;
  auto probe = probe_for(words(slurp(root + "/cgroup.controllers")));
  if (!probe) GTEST_SKIP() << "no pids, memory or hugetlb controller in " << root << "/cgroup.controllers";
  std::string busy = "/lxcri-unit-busy-" + std::to_string(::getpid());
  Scoped cleanup{root + busy};
  if (::mkdir((root + busy).c_str(), 0755) != 0) GTEST_SKIP() << "mkdir " << root + busy << ": " << strerror(errno);
  Sleeper squatter;  // a process of the parent's own
  ASSERT_TRUE(put(root + busy + "/cgroup.procs", std::to_string(squatter.pid())));
  auto mgr = make_cgroup_manager(CgroupLayout::V2, root, busy + "/c1");
  ASSERT_TRUE(mgr->create().ok()) << "enabling is best effort, as in runc";
  EXPECT_TRUE(words(slurp(root + busy + "/cgroup.subtree_control")).empty())
      << "the kernel refused: " << busy << " has a process";
  auto applied = mgr->apply(probe->resources);
  ASSERT_FALSE(applied.ok()) << probe->file << " should be missing";
  std::string message = applied.error().to_string();
  EXPECT_NE(message.find(probe->file + " needs the " + probe->controller + " controller"), std::string::npos)
      << message;
  EXPECT_NE(message.find("cgroup " + root + busy + " has processes of its own"), std::string::npos) << message;
}

// v1's notification: an eventfd registered through cgroup.event_control.
TEST(HostCgroupV1, OomKillIsNotifiedAsItHappens) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  auto layout = detect_cgroup_layout("/sys/fs/cgroup");
  if (!layout.ok() || *layout == CgroupLayout::V2)
    GTEST_SKIP() << "no v1 memory controller (the v2 watch runs against a temp tree, and in the VM tests)";
  std::string mem = "/sys/fs/cgroup/memory";
  if (!fs::exists(mem + "/cgroup.event_control")) GTEST_SKIP() << "this kernel has no cgroup.event_control";
  std::string path = "/lxcri-unit-oom-" + std::to_string(::getpid());
  Scoped cleanup{mem + path};
  ASSERT_EQ(::mkdir((mem + path).c_str(), 0755), 0) << strerror(errno);
  ASSERT_TRUE(put(mem + path + "/memory.limit_in_bytes", std::to_string(16 << 20)));
  if (fs::exists(mem + path + "/memory.memsw.limit_in_bytes"))
    ASSERT_TRUE(put(mem + path + "/memory.memsw.limit_in_bytes", std::to_string(16 << 20)));
  else if (swap_on())
    GTEST_SKIP() << "swap is on and this kernel does not account it: the child would swap, not be killed";
  auto watch = watch_cgroup_oom("/sys/fs/cgroup", path);
  ASSERT_TRUE(watch.ok()) << watch.error().to_string();

  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  pid_t child = ::fork();
  if (child == 0) {
    char c;
    if (::read(go[0], &c, 1) != 1) _exit(2);
    size_t size = 256 << 20;  // well over the limit; mmap, not malloc, after fork
    auto* p = static_cast<char*>(::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (p == MAP_FAILED) _exit(3);
    for (size_t i = 0; i < size; i += 4096) p[i] = 1;
    _exit(0);
  }
  ASSERT_GT(child, 0);
  ::close(go[0]);
  ASSERT_TRUE(put(mem + path + "/cgroup.procs", std::to_string(child)));
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(::write(go[1], "x", 1), 1);
  ::close(go[1]);
  uint64_t ooms = 0;
  while (ooms == 0 && std::chrono::steady_clock::now() - start < std::chrono::seconds(20)) {
    auto seen = (*watch)->wait(std::chrono::seconds(20));
    ASSERT_TRUE(seen.ok()) << seen.error().to_string();
    ooms += seen->oom_kills;
  }
  auto took = std::chrono::steady_clock::now() - start;
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_GE(ooms, 1u);
  EXPECT_LT(took, std::chrono::seconds(20));
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  auto stats = read_cgroup_stats(*layout, "/sys/fs/cgroup", path);
  ASSERT_TRUE(stats.ok());
  EXPECT_GE(stats->oom_kills, 1u) << "memory.oom_control's oom_kill";
}

}  // namespace
}  // namespace pvekit::oci::linux
