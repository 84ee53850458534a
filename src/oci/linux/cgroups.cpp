#include "oci/linux/cgroups.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "core/files.h"
#include "core/strings.h"
#include "core/log.h"
#include "oci/fd.h"

namespace pvekit::oci::linux {

using core::Error;
using core::ErrorCategory;
using core::Status;
namespace fs = std::filesystem;

namespace {

bool is_file(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_dir(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Cgroup files must exist already (the kernel creates them; tests lay them out).
Status write_cg(const std::string& path, const std::string& value) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  if (!fd.valid()) return Error::system("open " + path, errno);
  if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
    return Error::system("write \"" + value + "\" to " + path, errno);
  return core::ok();
}

std::string read_cg(const std::string& path) {
  auto text = core::read_file(path);
  return text.ok() ? std::string(core::trim(*text)) : std::string();
}

Status remove_dir(const std::string& dir) {
  // A cgroup may stay busy for a moment after its last process exited.
  for (int attempt = 0; attempt < 50; ++attempt) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return core::ok();  // already gone is fine
    if (errno != EBUSY) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Error::system("remove cgroup " + dir, errno);
}

core::Result<std::vector<pid_t>> read_procs(const std::string& dir) {
  auto text = core::read_file(dir + "/cgroup.procs");
  if (!text.ok()) return std::move(text).error();
  std::vector<pid_t> pids;
  for (const auto& line : core::split(*text, '\n', true))
    if (auto n = core::parse_int(core::trim(line))) pids.push_back(static_cast<pid_t>(*n));
  return pids;
}

std::string device_rule(const DeviceRule& d) {
  auto num = [](const std::optional<int64_t>& v) { return v ? std::to_string(*v) : std::string("*"); };
  if (d.type == "a") return "a";
  return d.type + " " + num(d.major) + ":" + num(d.minor) + " " + d.access;
}

// runc's always-allowed devices (libcontainer/specconv AllowedDevices).
const std::vector<std::string>& default_device_allows() {
  static const std::vector<std::string> v = {"c *:* m", "b *:* m", "c 1:3 rwm", "c 1:8 rwm",
                                             "c 1:7 rwm", "c 5:0 rwm", "c 1:5 rwm", "c 1:9 rwm",
                                             "c 5:1 rwm", "c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm"};
  return v;
}

std::string limit_or_max(int64_t v) { return v <= 0 ? "max" : std::to_string(v); }

}  // namespace

std::string_view to_string(CgroupLayout layout) {
  switch (layout) {
    case CgroupLayout::V1: return "v1";
    case CgroupLayout::V2: return "v2";
    case CgroupLayout::Hybrid: return "hybrid";
  }
  return "unknown";
}

core::Result<CgroupLayout> detect_cgroup_layout(const std::string& root) {
  if (is_file(root + "/cgroup.controllers")) return CgroupLayout::V2;
  bool v1 = false;
  for (const char* c : {"memory", "cpu", "pids", "freezer", "cpuset", "devices"}) v1 = v1 || is_dir(root + "/" + c);
  if (!v1) return Error(ErrorCategory::Runtime, "no cgroup hierarchy found at " + root);
  return is_file(root + "/unified/cgroup.controllers") ? CgroupLayout::Hybrid : CgroupLayout::V1;
}

core::Result<std::string> resolve_cgroup_path(const std::string& cgroups_path, const std::string& id) {
  if (cgroups_path.empty()) return "/lxcri/" + id;
  if (cgroups_path.find(':') != std::string::npos)
    return Error(ErrorCategory::Config, "linux.cgroupsPath: systemd cgroup paths (\"" + cgroups_path +
                                            "\") need the systemd driver, which lxcri does not have yet");
  std::string p = cgroups_path[0] == '/' ? cgroups_path : "/" + cgroups_path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  if (p == "/") return Error(ErrorCategory::Config, "linux.cgroupsPath: must not be the root cgroup");
  return p;
}

uint64_t shares_to_weight(uint64_t shares) {
  if (shares == 0) return 0;
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_to_io_weight(uint16_t weight) {
  if (weight == 0) return 0;
  return 1 + (static_cast<uint64_t>(weight) - 10) * 9999 / 990;
}

std::vector<std::pair<std::string, std::string>> v1_writes(const std::string& controller, const Resources& r) {
  std::vector<std::pair<std::string, std::string>> w;
  if (controller == "memory" && r.memory) {
    const auto& m = *r.memory;
    if (m.limit) w.emplace_back("memory.limit_in_bytes", std::to_string(*m.limit));
    if (m.reservation) w.emplace_back("memory.soft_limit_in_bytes", std::to_string(*m.reservation));
    if (m.swap) w.emplace_back("memory.memsw.limit_in_bytes", std::to_string(*m.swap));
    if (m.swappiness) w.emplace_back("memory.swappiness", std::to_string(*m.swappiness));
    if (m.disable_oom_killer && *m.disable_oom_killer) w.emplace_back("memory.oom_control", "1");
  } else if (controller == "cpu" && r.cpu) {
    const auto& c = *r.cpu;
    if (c.shares) w.emplace_back("cpu.shares", std::to_string(*c.shares));
    if (c.period) w.emplace_back("cpu.cfs_period_us", std::to_string(*c.period));
    if (c.quota) w.emplace_back("cpu.cfs_quota_us", std::to_string(*c.quota));
  } else if (controller == "cpuset" && r.cpu) {
    if (!r.cpu->cpus.empty()) w.emplace_back("cpuset.cpus", r.cpu->cpus);
    if (!r.cpu->mems.empty()) w.emplace_back("cpuset.mems", r.cpu->mems);
  } else if (controller == "pids" && r.pids_limit) {
    w.emplace_back("pids.max", limit_or_max(*r.pids_limit));
  } else if (controller == "devices" && !r.devices.empty()) {
    for (const auto& d : r.devices) w.emplace_back(d.allow ? "devices.allow" : "devices.deny", device_rule(d));
    for (const auto& a : default_device_allows()) w.emplace_back("devices.allow", a);
  }
  return w;
}

std::vector<std::pair<std::string, std::string>> v2_writes(const Resources& r) {
  std::vector<std::pair<std::string, std::string>> w;
  if (r.memory) {
    const auto& m = *r.memory;
    if (m.limit) w.emplace_back("memory.max", limit_or_max(*m.limit));
    if (m.reservation) w.emplace_back("memory.low", std::to_string(*m.reservation));
    // OCI swap is memory+swap; v2 limits swap alone.
    if (m.swap) {
      bool unlimited = *m.swap < 0;
      int64_t swap = unlimited ? -1 : *m.swap - m.limit.value_or(0);
      w.emplace_back("memory.swap.max", unlimited ? "max" : std::to_string(std::max<int64_t>(swap, 0)));
    }
  }
  if (r.cpu) {
    const auto& c = *r.cpu;
    if (c.shares) w.emplace_back("cpu.weight", std::to_string(shares_to_weight(*c.shares)));
    if (c.quota || c.period) {
      std::string quota = c.quota && *c.quota > 0 ? std::to_string(*c.quota) : "max";
      w.emplace_back("cpu.max", quota + " " + std::to_string(c.period.value_or(100000)));
    }
    if (!c.cpus.empty()) w.emplace_back("cpuset.cpus", c.cpus);
    if (!c.mems.empty()) w.emplace_back("cpuset.mems", c.mems);
  }
  if (r.pids_limit) w.emplace_back("pids.max", limit_or_max(*r.pids_limit));
  return w;
}

namespace {

class V1Manager final : public CgroupManager {
 public:
  V1Manager(std::string root, std::string path) : root_(std::move(root)), path_(std::move(path)) {
    std::set<std::string> seen;
    for (const char* c : {"cpu", "cpuacct", "cpuset", "memory", "pids", "freezer", "devices", "blkio",
                          "net_cls", "net_prio", "perf_event", "hugetlb", "rdma", "misc"}) {
      std::string base = root_ + "/" + c;
      if (!is_dir(base)) continue;
      std::error_code ec;
      std::string real = fs::canonical(base, ec).string();
      if (!seen.insert(ec ? base : real).second) continue;  // cpu -> cpu,cpuacct
      controllers_.push_back(c);
    }
  }

  Status create() override {
    for (const auto& c : controllers_) PVEKIT_TRY(create_one(c));
    return core::ok();
  }

  Status apply(const Resources& r) override {
    for (const auto& c : controllers_)
      for (const auto& [file, value] : v1_writes(c, r)) PVEKIT_TRY(write_cg(dir(c) + "/" + file, value));
    return core::ok();
  }

  Status add_process(pid_t pid) override {
    for (const auto& c : controllers_) PVEKIT_TRY(write_cg(dir(c) + "/cgroup.procs", std::to_string(pid)));
    return core::ok();
  }

  Status set_blkio_weight(uint16_t weight) override {
    if (!has("blkio")) return Error(ErrorCategory::Runtime, "the blkio cgroup controller is not available");
    std::string file = is_file(dir("blkio") + "/blkio.weight") ? "/blkio.weight" : "/blkio.bfq.weight";
    return write_cg(dir("blkio") + file, std::to_string(weight));
  }

  Status freeze() override { return set_freezer("FROZEN"); }
  Status thaw() override { return set_freezer("THAWED"); }

  core::Result<std::vector<pid_t>> pids() override {
    for (const char* c : {"pids", "memory", "freezer"})
      if (has(c)) return read_procs(dir(c));
    if (controllers_.empty()) return Error(ErrorCategory::Runtime, "no cgroup controllers");
    return read_procs(dir(controllers_.front()));
  }

  Status destroy() override {
    for (const auto& c : controllers_) PVEKIT_TRY(remove_dir(dir(c)));
    return core::ok();
  }

  std::vector<std::pair<std::string, std::string>> container_binds() const override {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& c : controllers_) out.emplace_back(dir(c), c);
    return out;
  }

  std::vector<std::string> dirs() const override {
    std::vector<std::string> out;
    for (const auto& c : controllers_) out.push_back(dir(c));
    return out;
  }

 private:
  std::string dir(const std::string& c) const { return root_ + "/" + c + path_; }
  bool has(const std::string& c) const {
    return std::find(controllers_.begin(), controllers_.end(), c) != controllers_.end();
  }

  Status create_one(const std::string& c) {
    std::string cur = root_ + "/" + c;
    for (const auto& part : core::split(path_, '/', true)) {
      std::string parent = cur;
      cur += "/" + part;
      if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) return Error::system("create cgroup " + cur, errno);
      // A cpuset cgroup starts with no cpus or mems, so no task could join it.
      if (c == "cpuset") PVEKIT_TRY(inherit_cpuset(parent, cur));
    }
    return core::ok();
  }

  static Status inherit_cpuset(const std::string& parent, const std::string& child) {
    for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
      if (!read_cg(child + "/" + f).empty()) continue;
      PVEKIT_TRY(write_cg(child + "/" + f, read_cg(parent + "/" + f)));
    }
    return core::ok();
  }

  Status set_freezer(const std::string& state) {
    if (!has("freezer")) return Error(ErrorCategory::Runtime, "the freezer cgroup controller is not available");
    std::string file = dir("freezer") + "/freezer.state";
    for (int attempt = 0; attempt < 100; ++attempt) {
      PVEKIT_TRY(write_cg(file, state));
      if (read_cg(file) == state) return core::ok();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return Error(ErrorCategory::Runtime, "cgroup " + dir("freezer") + " did not reach " + state);
  }

  std::string root_;
  std::string path_;
  std::vector<std::string> controllers_;
};

class V2Manager final : public CgroupManager {
 public:
  V2Manager(std::string root, std::string path) : root_(std::move(root)), path_(std::move(path)) {}

  Status create() override {
    auto available = core::split(read_cg(root_ + "/cgroup.controllers"), ' ', true);
    std::string cur = root_;
    for (const auto& part : core::split(path_, '/', true)) {
      // Delegate the controllers we use to the next level before creating it.
      for (const auto& c : available)
        if (c == "cpu" || c == "memory" || c == "pids" || c == "cpuset")
          (void)write_cg(cur + "/cgroup.subtree_control", "+" + c);  // best effort: a busy parent keeps its set
      cur += "/" + part;
      if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) return Error::system("create cgroup " + cur, errno);
    }
    return core::ok();
  }

  Status apply(const Resources& r) override {
    for (const auto& [file, value] : v2_writes(r)) PVEKIT_TRY(write_cg(dir() + "/" + file, value));
    // cgroup v2 controls devices only through an eBPF program, which lxcri
    // does not load yet: say so instead of pretending (docs/lxcri.md).
    if (!r.devices.empty())
      spdlog::warn("cgroup v2: linux.resources.devices ({} rules) not enforced for {}: no eBPF device filter",
                   r.devices.size(), dir());
    return core::ok();
  }

  Status add_process(pid_t pid) override { return write_cg(dir() + "/cgroup.procs", std::to_string(pid)); }

  Status set_blkio_weight(uint16_t weight) override {
    if (is_file(dir() + "/io.bfq.weight")) return write_cg(dir() + "/io.bfq.weight", std::to_string(weight));
    return write_cg(dir() + "/io.weight", "default " + std::to_string(blkio_to_io_weight(weight)));
  }

  Status freeze() override { return set_frozen(true); }
  Status thaw() override { return set_frozen(false); }
  core::Result<std::vector<pid_t>> pids() override { return read_procs(dir()); }
  Status destroy() override { return remove_dir(dir()); }
  std::vector<std::pair<std::string, std::string>> container_binds() const override { return {}; }
  std::vector<std::string> dirs() const override { return {dir()}; }

 private:
  std::string dir() const { return root_ + path_; }

  Status set_frozen(bool frozen) {
    PVEKIT_TRY(write_cg(dir() + "/cgroup.freeze", frozen ? "1" : "0"));
    std::string want = frozen ? "frozen 1" : "frozen 0";
    for (int attempt = 0; attempt < 100; ++attempt) {
      for (const auto& line : core::split(read_cg(dir() + "/cgroup.events"), '\n', true))
        if (core::trim(line) == want) return core::ok();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return Error(ErrorCategory::Runtime, "cgroup " + dir() + " did not report \"" + want + "\"");
  }

  std::string root_;
  std::string path_;
};

}  // namespace

std::unique_ptr<CgroupManager> make_cgroup_manager(CgroupLayout layout, const std::string& root,
                                                   const std::string& path) {
  if (layout == CgroupLayout::V2) return std::make_unique<V2Manager>(root, path);
  return std::make_unique<V1Manager>(root, path);
}

}  // namespace pvekit::oci::linux
