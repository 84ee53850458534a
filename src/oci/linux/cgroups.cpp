#include "oci/linux/cgroups.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <chrono>
#include <filesystem>
#include <algorithm>
#include <map>
#include <thread>

#include "core/files.h"
#include "core/log.h"
#include "core/process.h"
#include "core/strings.h"
#include "oci/linux/device_filter.h"
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

// The fallback of spawn_inside: fork, then move the child.
core::Result<pid_t> spawn_then_add(CgroupManager& cg, const std::map<std::string, std::string>& sub,
                                   const std::function<pid_t()>& spawn) {
  pid_t pid = spawn();
  if (pid < 0) return Error::system("fork", errno);
  if (Status added = cg.add_process(pid, sub); !added.ok()) {
    core::kill_and_reap(pid);
    return added.error();
  }
  return pid;
}

bool single_threaded() {
  auto status = core::read_file("/proc/self/status");
  return status.ok() && status->find("\nThreads:\t1\n") != std::string::npos;
}

std::string read_cg(const std::string& path) {
  auto text = core::read_file(path);
  return text.ok() ? std::string(core::trim(*text)) : std::string();
}

Status remove_dir(const std::string& dir) {
  // Sub-cgroups (exec --cgroup targets, or made inside the container) go
  // first: a cgroup with children cannot be removed.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_directory(ec) && !entry.is_symlink(ec)) PVEKIT_TRY(remove_dir(entry.path().string()));
  // A cgroup may stay busy for a moment after its last process exited.
  for (int attempt = 0; attempt < 50; ++attempt) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return core::ok();  // already gone is fine
    if (errno != EBUSY) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Error::system("remove cgroup " + dir, errno);
}

// The pids of the cgroup and of its sub-cgroups, as runc's GetAllPids.
core::Result<std::vector<pid_t>> read_procs(const std::string& dir) {
  auto text = core::read_file(dir + "/cgroup.procs");
  if (!text.ok()) return std::move(text).error();
  std::vector<pid_t> pids;
  for (const auto& line : core::split(*text, '\n', true))
    if (auto n = core::parse_int(core::trim(line))) pids.push_back(static_cast<pid_t>(*n));
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_directory(ec) || entry.is_symlink(ec)) continue;
    auto sub = read_procs(entry.path().string());
    if (sub.ok()) pids.insert(pids.end(), sub->begin(), sub->end());  // a sub-cgroup removed meanwhile has none
  }
  return pids;
}

std::string device_rule(const DeviceRule& d) {
  auto num = [](const std::optional<int64_t>& v) { return v ? std::to_string(*v) : std::string("*"); };
  if (d.type == "a") return "a";
  return d.type + " " + num(d.major) + ":" + num(d.minor) + " " + d.access;
}

std::string limit_or_max(int64_t v) { return v <= 0 ? "max" : std::to_string(v); }

std::string device_numbers(int64_t major, int64_t minor) { return std::to_string(major) + ":" + std::to_string(minor); }

std::string rdma_limit(const std::string& device, const RdmaLimit& l) {
  auto value = [](const std::optional<uint32_t>& v) { return v ? std::to_string(*v) : std::string("max"); };
  return device + " hca_handle=" + value(l.hca_handles) + " hca_object=" + value(l.hca_objects);
}

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

core::Result<std::map<std::string, std::string>> parse_sub_cgroups(const std::vector<std::string>& values) {
  std::map<std::string, std::string> sub;
  for (const auto& value : values) {
    auto colon = value.find(':');
    std::string path = colon == std::string::npos ? value : value.substr(colon + 1);
    while (!path.empty() && path.front() == '/') path.erase(0, 1);
    auto parts = core::split(path, '/', true);
    if (parts.empty() || std::find(parts.begin(), parts.end(), "..") != parts.end())
      return Error(ErrorCategory::Usage, "--cgroup \"" + value + "\": want a path below the container's cgroup");
    path = core::join(parts, "/");
    if (colon == std::string::npos) {
      if (values.size() != 1)
        return Error(ErrorCategory::Usage, "--cgroup \"" + value + "\": <controller>: prefix missing (needed when --cgroup is given more than once)");
      sub[""] = path;
      continue;
    }
    for (const auto& controller : core::split(value.substr(0, colon), ',')) {
      if (controller.empty())
        return Error(ErrorCategory::Usage, "--cgroup \"" + value + "\": empty <controller>");
      if (!sub.emplace(controller, path).second)
        return Error(ErrorCategory::Usage, "--cgroup: controller " + controller + " given more than once");
    }
  }
  return sub;
}

std::vector<std::pair<std::string, std::string>> v1_writes(const std::string& controller, const Resources& r,
                                                           const HasControlFile& has) {
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
    for (const auto& d : effective_device_rules(r.devices))
      w.emplace_back(d.allow ? "devices.allow" : "devices.deny", device_rule(d));
  } else if (controller == "blkio" && r.block_io) {
    const auto& b = *r.block_io;
    // Kernels with BFQ and without CFQ name the weight files blkio.bfq.*.
    std::string weight = has && !has("blkio.weight") && has("blkio.bfq.weight") ? "blkio.bfq.weight" : "blkio.weight";
    if (b.weight) w.emplace_back(weight, std::to_string(*b.weight));
    if (b.leaf_weight) w.emplace_back("blkio.leaf_weight", std::to_string(*b.leaf_weight));
    for (const auto& d : b.weight_devices) {
      if (d.weight) w.emplace_back(weight + "_device", device_numbers(d.major, d.minor) + " " + std::to_string(*d.weight));
      if (d.leaf_weight)
        w.emplace_back("blkio.leaf_weight_device", device_numbers(d.major, d.minor) + " " + std::to_string(*d.leaf_weight));
    }
    for (const auto& [file, list] : {std::pair{"blkio.throttle.read_bps_device", &b.throttle_read_bps},
                                     std::pair{"blkio.throttle.write_bps_device", &b.throttle_write_bps},
                                     std::pair{"blkio.throttle.read_iops_device", &b.throttle_read_iops},
                                     std::pair{"blkio.throttle.write_iops_device", &b.throttle_write_iops}})
      for (const auto& d : *list) w.emplace_back(file, device_numbers(d.major, d.minor) + " " + std::to_string(d.rate));
  } else if (controller == "hugetlb") {
    for (const auto& h : r.hugepage_limits)
      w.emplace_back("hugetlb." + h.page_size + ".limit_in_bytes", std::to_string(h.limit));
  } else if (controller == "net_cls" && r.network && r.network->class_id) {
    w.emplace_back("net_cls.classid", std::to_string(*r.network->class_id));
  } else if (controller == "net_prio" && r.network) {
    for (const auto& [name, priority] : r.network->priorities)
      w.emplace_back("net_prio.ifpriomap", name + " " + std::to_string(priority));
  } else if (controller == "rdma") {
    for (const auto& [device, limit] : r.rdma) w.emplace_back("rdma.max", rdma_limit(device, limit));
  }
  return w;
}

std::vector<std::pair<std::string, std::string>> v2_writes(const Resources& r, const HasControlFile& has) {
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
  if (r.block_io) {
    const auto& b = *r.block_io;
    // BFQ takes the OCI weight as it is; the io controller's own scale differs.
    bool bfq = has && has("io.bfq.weight");
    auto weight = [&](uint16_t v) { return std::to_string(bfq ? v : blkio_to_io_weight(v)); };
    const char* weight_file = bfq ? "io.bfq.weight" : "io.weight";
    if (b.weight) w.emplace_back(weight_file, "default " + weight(*b.weight));
    for (const auto& d : b.weight_devices)
      if (d.weight) w.emplace_back(weight_file, device_numbers(d.major, d.minor) + " " + weight(*d.weight));
    for (const auto& [key, list] : {std::pair{"rbps", &b.throttle_read_bps}, std::pair{"wbps", &b.throttle_write_bps},
                                    std::pair{"riops", &b.throttle_read_iops}, std::pair{"wiops", &b.throttle_write_iops}})
      for (const auto& d : *list)
        w.emplace_back("io.max", device_numbers(d.major, d.minor) + " " + key + "=" + std::to_string(d.rate));
  }
  for (const auto& h : r.hugepage_limits) w.emplace_back("hugetlb." + h.page_size + ".max", std::to_string(h.limit));
  for (const auto& [device, limit] : r.rdma) w.emplace_back("rdma.max", rdma_limit(device, limit));
  for (const auto& [file, value] : r.unified) w.emplace_back(file, value);
  return w;
}

const std::vector<std::string>& v1_resource_controllers() {
  static const std::vector<std::string> v = {"memory", "cpu",     "cpuset",   "pids",    "devices",
                                             "blkio",  "hugetlb", "net_cls", "net_prio", "rdma"};
  return v;
}

std::vector<std::string> v2_unsupported(const Resources& r) {
  std::vector<std::string> out;
  if (r.network) out.emplace_back("network (net_cls/net_prio are cgroup v1 controllers)");
  if (r.block_io && r.block_io->leaf_weight) out.emplace_back("blockIO.leafWeight");
  if (r.block_io)
    for (const auto& d : r.block_io->weight_devices)
      if (d.leaf_weight) {
        out.emplace_back("blockIO.weightDevice[].leafWeight");
        break;
      }
  return out;
}

namespace {

class V1Manager final : public CgroupManager {
 public:
  V1Manager(std::string root, std::string path) : root_(std::move(root)), path_(std::move(path)) {
    std::map<std::string, std::string> seen;  // hierarchy -> its first controller
    for (const char* c : {"cpu", "cpuacct", "cpuset", "memory", "pids", "freezer", "devices", "blkio",
                          "net_cls", "net_prio", "perf_event", "hugetlb", "rdma", "misc"}) {
      std::string base = root_ + "/" + c;
      if (!is_dir(base)) continue;
      std::error_code ec;
      std::string real = fs::canonical(base, ec).string();
      auto [first, added] = seen.emplace(ec ? base : real, c);
      mounted_as_[c] = first->second;  // cpuacct -> cpu when mounted as cpu,cpuacct
      if (added) controllers_.push_back(c);
    }
  }

  Status create() override {
    for (const auto& c : controllers_) PVEKIT_TRY(create_one(c));
    return core::ok();
  }

  Status apply(const Resources& r) override {
    if (!r.unified.empty())
      return Error(ErrorCategory::Config, "linux.resources.unified: needs cgroup v2, this host's controllers are v1");
    for (const auto& c : v1_resource_controllers()) {
      std::string d = dir(c);  // net_prio: the net_cls,net_prio hierarchy through its net_prio link
      auto writes = v1_writes(c, r, [&](const std::string& file) { return is_file(d + "/" + file); });
      if (writes.empty()) continue;
      if (!mounted_as_.count(c)) {
        spdlog::warn("cgroup v1 controller {} is not mounted: {} not set for {}", c, writes.front().first, path_);
        continue;
      }
      for (const auto& [file, value] : writes) PVEKIT_TRY(write_cg(d + "/" + file, value));
    }
    return core::ok();
  }

  Status add_process(pid_t pid) override { return add_process(pid, {}); }

  Status add_process(pid_t pid, const std::map<std::string, std::string>& sub) override {
    PVEKIT_ASSIGN(auto targets, targets_of(sub));
    for (const auto& c : controllers_) PVEKIT_TRY(write_cg(targets[c] + "/cgroup.procs", std::to_string(pid)));
    return core::ok();
  }

  core::Result<pid_t> spawn_inside(const std::map<std::string, std::string>& sub,
                                   const std::function<pid_t()>& spawn) override {
    if (!single_threaded()) return spawn_then_add(*this, sub, spawn);
    PVEKIT_ASSIGN(auto targets, targets_of(sub));
    PVEKIT_ASSIGN(auto home, own_cgroups());
    std::vector<std::string> entered;  // the hierarchies we must leave again
    Status moved = core::ok();
    for (const auto& c : controllers_) {
      if (!home.count(c)) {
        moved = Error(ErrorCategory::Runtime, "cgroup: /proc/self/cgroup has no " + c + " hierarchy");
        break;
      }
      moved = write_cg(targets[c] + "/tasks", "0");
      if (!moved.ok()) break;
      entered.push_back(c);
    }
    pid_t pid = moved.ok() ? spawn() : -1;
    int spawn_errno = errno;
    Status back = core::ok();
    for (const auto& c : entered)
      if (Status s = write_cg(root_ + "/" + c + home[c] + "/tasks", "0"); !s.ok() && back.ok()) back = s;
    if (!back.ok()) {
      if (pid > 0) core::kill_and_reap(pid);
      return std::move(back).wrap("cgroup: return the runtime to its own cgroup").error();
    }
    if (!moved.ok()) return moved.error();
    // pids.max counts us too while we are inside: below 2, try from outside.
    if (pid < 0 && spawn_errno == EAGAIN) return spawn_then_add(*this, sub, spawn);
    if (pid < 0) return Error::system("fork", spawn_errno);
    return pid;
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
  // Controller -> the directory a process goes to: the container's cgroup,
  // or a sub-cgroup of it named in `sub` (exec --cgroup).
  core::Result<std::map<std::string, std::string>> targets_of(const std::map<std::string, std::string>& sub) const {
    std::map<std::string, std::string> sub_of_hierarchy;
    for (const auto& [controller, path] : sub) {
      if (controller.empty()) continue;
      auto it = mounted_as_.find(controller);
      if (it == mounted_as_.end())
        return Error(ErrorCategory::Usage, "--cgroup: no cgroup v1 controller \"" + controller + "\" on this host");
      sub_of_hierarchy[it->second] = path;
    }
    std::map<std::string, std::string> out;
    for (const auto& c : controllers_) {
      std::string target = dir(c);
      if (auto it = sub_of_hierarchy.find(c); it != sub_of_hierarchy.end()) target += "/" + it->second;
      else if (auto all = sub.find(""); all != sub.end()) target += "/" + all->second;
      if (target != dir(c) && !is_dir(target))
        return Error(ErrorCategory::NotFound, "--cgroup: sub-cgroup " + target + " does not exist");
      out[c] = target;
    }
    return out;
  }

  // Controller -> our own cgroup path in its hierarchy, from /proc/self/cgroup
  // ("4:memory:/a/b", "2:cpu,cpuacct:/").
  core::Result<std::map<std::string, std::string>> own_cgroups() const {
    PVEKIT_ASSIGN(auto text, core::read_file("/proc/self/cgroup"));
    std::map<std::string, std::string> out;
    for (const auto& line : core::split(text, '\n', true)) {
      auto first = line.find(':'), second = line.find(':', first + 1);
      if (first == std::string::npos || second == std::string::npos) continue;
      for (const auto& name : core::split(line.substr(first + 1, second - first - 1), ',', true))
        if (auto it = mounted_as_.find(name); it != mounted_as_.end()) out[it->second] = line.substr(second + 1);
    }
    return out;
  }

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
  std::vector<std::string> controllers_;  // one per mounted hierarchy
  std::map<std::string, std::string> mounted_as_;  // controller -> its hierarchy's entry in controllers_
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
        if (c == "cpu" || c == "memory" || c == "pids" || c == "cpuset" || c == "io" || c == "hugetlb" || c == "rdma")
          (void)write_cg(cur + "/cgroup.subtree_control", "+" + c);  // best effort: a busy parent keeps its set
      cur += "/" + part;
      if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) return Error::system("create cgroup " + cur, errno);
    }
    return core::ok();
  }

  Status apply(const Resources& r) override {
    for (const auto& what : v2_unsupported(r))
      spdlog::warn("cgroup v2 has no file for linux.resources.{}: not set for {}", what, path_);
    auto has = [&](const std::string& file) { return is_file(dir() + "/" + file); };
    for (const auto& [file, value] : v2_writes(r, has)) PVEKIT_TRY(write_cg(dir() + "/" + file, value));
    auto device_rules = effective_device_rules(r.devices);
    if (!device_rules.empty()) return attach_device_filter(dir(), device_filter_program(device_rules));
    return core::ok();
  }

  Status add_process(pid_t pid) override { return write_cg(dir() + "/cgroup.procs", std::to_string(pid)); }

  Status add_process(pid_t pid, const std::map<std::string, std::string>& sub) override {
    if (sub.empty()) return add_process(pid);
    auto all = sub.find("");
    if (all == sub.end() || sub.size() != 1)
      return Error(ErrorCategory::Usage, "--cgroup: cgroup v2 takes one path, without <controller>:");
    std::string target = dir() + "/" + all->second;
    if (!is_dir(target)) return Error(ErrorCategory::NotFound, "--cgroup: sub-cgroup " + target + " does not exist");
    return write_cg(target + "/cgroup.procs", std::to_string(pid));
  }

  core::Result<pid_t> spawn_inside(const std::map<std::string, std::string>& sub,
                                   const std::function<pid_t()>& spawn) override {
    return spawn_then_add(*this, sub, spawn);
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
