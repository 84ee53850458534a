#include "oci/linux/cgroups.h"

#include <fcntl.h>
#include <poll.h>
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

void add_procs(const std::string& text, std::vector<pid_t>& pids) {
  for (const auto& line : core::split(text, '\n', true))
    if (auto n = core::parse_int(core::trim(line)); n && *n > 0 && *n <= INT32_MAX)
      pids.push_back(static_cast<pid_t>(*n));
}

void add_sub_procs(const std::string& dir, std::vector<pid_t>& pids) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_directory(ec) || entry.is_symlink(ec)) continue;
    // A sub-cgroup removed meanwhile has none; its own sub-cgroups are looked at all the same.
    if (auto text = core::read_file(entry.path().string() + "/cgroup.procs"); text.ok()) add_procs(*text, pids);
    add_sub_procs(entry.path().string(), pids);
  }
}

// The pids of the cgroup and of its sub-cgroups, as runc's GetAllPids.
core::Result<std::vector<pid_t>> read_procs(const std::string& dir) {
  auto text = core::read_file(dir + "/cgroup.procs");
  if (!text.ok()) return std::move(text).error();
  std::vector<pid_t> pids;
  add_procs(*text, pids);
  add_sub_procs(dir, pids);
  return pids;
}

std::string device_rule(const DeviceRule& d) {
  auto num = [](const std::optional<int64_t>& v) { return v ? std::to_string(*v) : std::string("*"); };
  if (d.type == "a") return "a";
  return d.type + " " + num(d.major) + ":" + num(d.minor) + " " + d.access;
}

std::string limit_or_max(int64_t v) { return v <= 0 ? "max" : std::to_string(v); }

std::string device_numbers(int64_t major, int64_t minor) { return std::to_string(major) + ":" + std::to_string(minor); }

// runc's fscommon createCmdString: a limit not given is left out, not written
// as "max", so that an update naming one leaves the other as it was.
std::string rdma_limit(const std::string& device, const RdmaLimit& l) {
  std::string line = device;
  if (l.hca_handles) line += " hca_handle=" + std::to_string(*l.hca_handles);
  if (l.hca_objects) line += " hca_object=" + std::to_string(*l.hca_objects);
  return line;
}

Error field_error(const std::string& field, const std::string& message) {
  return Error(ErrorCategory::Config, field + ": " + message).with_detail("field", field);
}

std::string indexed(const std::string& base, size_t i) { return base + "[" + std::to_string(i) + "]"; }

// runc's numToStr for files ending in .max/.low/...: 0 is "not set" (nothing
// to write), -1 "max".
std::string num_to_str(int64_t v) { return v == 0 ? std::string() : v == -1 ? std::string("max") : std::to_string(v); }

// A value that is a byte count, 0 (not set) or -1 (no limit).
Status check_limit(const std::string& field, const std::optional<int64_t>& v) {
  if (v && *v < -1) return field_error(field, "want bytes, or -1 for no limit, got " + std::to_string(*v));
  return core::ok();
}

bool only_chars(const std::string& text, std::string_view allowed) {
  return text.find_first_not_of(allowed) == std::string::npos;
}

// "2MB", "1GB", "64KB": the page size as the hugetlb files spell it (and
// nothing that could leave the cgroup directory).
bool hugepage_size_name(const std::string& size) {
  auto unit = size.find_first_not_of("0123456789");
  return unit != 0 && unit != std::string::npos &&
         (size.substr(unit) == "KB" || size.substr(unit) == "MB" || size.substr(unit) == "GB");
}

Status check_device_numbers(const std::string& field, int64_t major, int64_t minor) {
  if (major < 0) return field_error(field + ".major", "must not be negative, got " + std::to_string(major));
  if (minor < 0) return field_error(field + ".minor", "must not be negative, got " + std::to_string(minor));
  return core::ok();
}

Status check_blkio_weight(const std::string& field, uint16_t w) {
  if (w < 10 || w > 1000) return field_error(field, "must be 10..1000, got " + std::to_string(w));
  return core::ok();
}

// linux.resources.unified keys name a file of the container's own cgroup.
Status check_unified_key(const std::string& key) {
  if (key.empty() || key.find('/') != std::string::npos || key.find("..") != std::string::npos || key == "." ||
      !only_chars(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"))
    return field_error("linux.resources.unified", quote_value(key) + " is not a file name of the container's cgroup");
  return core::ok();
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
    return Error(ErrorCategory::Config, "linux.cgroupsPath: \"" + cgroups_path +
                                            "\" is a systemd unit path (slice:prefix:name): it needs --systemd-cgroup");
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

CgroupWrites v1_writes(const std::string& controller, const Resources& r, const HasControlFile& has) {
  CgroupWrites w;
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
    if (c.idle) w.emplace_back("cpu.idle", std::to_string(*c.idle));
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
    for (const auto& [device, limit] : r.rdma)
      if (limit.hca_handles || limit.hca_objects) w.emplace_back("rdma.max", rdma_limit(device, limit));
  }
  return w;
}

core::Result<int64_t> memory_swap_to_v2(int64_t memory_swap, int64_t memory) {
  // As on v1: an unlimited memory with no swap limit given means no swap limit either.
  if (memory == -1 && memory_swap == 0) return -1;
  if (memory_swap == -1 || memory_swap == 0) return memory_swap;
  if (memory == 0 || memory == -1)
    return Error(ErrorCategory::Config, "unable to set swap limit without memory limit");
  if (memory < 0) return Error(ErrorCategory::Config, "invalid memory value: " + std::to_string(memory));
  if (memory_swap < memory)
    return Error(ErrorCategory::Config, "memory+swap limit should be >= memory limit");
  return memory_swap - memory;
}

namespace {

Status v2_memory(const MemoryResources& m, const HasControlFile& has, CgroupWrites& w) {
  PVEKIT_TRY(check_limit("linux.resources.memory.limit", m.limit));
  PVEKIT_TRY(check_limit("linux.resources.memory.reservation", m.reservation));
  PVEKIT_TRY(check_limit("linux.resources.memory.swap", m.swap));
  int64_t limit = m.limit.value_or(0), swap = m.swap.value_or(0);
  auto swap_only = memory_swap_to_v2(swap, limit);
  if (!swap_only.ok()) return field_error("linux.resources.memory.swap", swap_only.error().message());
  std::string swap_max = num_to_str(*swap_only);
  if (swap_max.empty() && *swap_only == 0 && swap > 0) swap_max = "0";  // memory+swap == memory: no swap
  // Without swap accounting the file is missing, and "no limit" or "no swap" hold anyway.
  bool moot = (swap_max == "max" || swap_max == "0") && has && !has("memory.swap.max");
  if (!swap_max.empty() && !moot) w.emplace_back("memory.swap.max", swap_max);
  if (auto v = num_to_str(limit); !v.empty()) w.emplace_back("memory.max", v);
  if (auto v = num_to_str(m.reservation.value_or(0)); !v.empty()) w.emplace_back("memory.low", v);
  return core::ok();
}

Status v2_io(const BlockIoResources& b, const HasControlFile& has, CgroupWrites& w) {
  // BFQ takes the OCI weight (10..1000) as it is, in plain numbers every
  // kernel's io.bfq.weight reads; the io controller's own scale is 1..10000.
  bool bfq = has && has("io.bfq.weight");
  if (b.weight) {
    PVEKIT_TRY(check_blkio_weight("linux.resources.blockIO.weight", *b.weight));
    if (bfq) w.emplace_back("io.bfq.weight", std::to_string(*b.weight));
    // "default N" is what the kernel reads back; it takes runc's plain N alike,
    // and the systemd driver maps this form to IOWeight.
    else w.emplace_back("io.weight", "default " + std::to_string(blkio_to_io_weight(*b.weight)));
  }
  for (size_t i = 0; i < b.weight_devices.size(); ++i) {
    const auto& d = b.weight_devices[i];
    if (!d.weight) continue;  // a leafWeight alone: v2_unsupported
    std::string field = indexed("linux.resources.blockIO.weightDevice", i);
    PVEKIT_TRY(check_device_numbers(field, d.major, d.minor));
    PVEKIT_TRY(check_blkio_weight(field + ".weight", *d.weight));
    uint64_t weight = bfq ? *d.weight : blkio_to_io_weight(*d.weight);
    w.emplace_back(bfq ? "io.bfq.weight" : "io.weight",
                   device_numbers(d.major, d.minor) + " " + std::to_string(weight));
  }
  const std::tuple<const char*, const char*, const std::vector<BlockIoThrottleDevice>*> throttles[] = {
      {"rbps", "throttleReadBpsDevice", &b.throttle_read_bps},
      {"wbps", "throttleWriteBpsDevice", &b.throttle_write_bps},
      {"riops", "throttleReadIOPSDevice", &b.throttle_read_iops},
      {"wiops", "throttleWriteIOPSDevice", &b.throttle_write_iops}};
  for (const auto& [key, name, list] : throttles)
    for (size_t i = 0; i < list->size(); ++i) {
      const auto& d = (*list)[i];
      PVEKIT_TRY(check_device_numbers(indexed(std::string("linux.resources.blockIO.") + name, i), d.major, d.minor));
      w.emplace_back("io.max", device_numbers(d.major, d.minor) + " " + key + "=" + std::to_string(d.rate));
    }
  return core::ok();
}

Status v2_cpu(const CpuResources& c, CgroupWrites& w) {
  if (c.idle) {
    if (*c.idle != 0 && *c.idle != 1)
      return field_error("linux.resources.cpu.idle", "must be 0 or 1, got " + std::to_string(*c.idle));
    w.emplace_back("cpu.idle", std::to_string(*c.idle));
  }
  if (c.shares && *c.shares != 0) {
    // Outside the kernel's cpu.shares range the conversion has no meaning (runc's underflows).
    if (*c.shares < 2 || *c.shares > 262144)
      return field_error("linux.resources.cpu.shares", "must be 2..262144, got " + std::to_string(*c.shares));
    w.emplace_back("cpu.weight", std::to_string(shares_to_weight(*c.shares)));
  }
  int64_t quota = c.quota.value_or(0);
  uint64_t period = c.period.value_or(0);
  if (quota < -1)
    return field_error("linux.resources.cpu.quota",
                       "want microseconds, or -1 for no limit, got " + std::to_string(quota));
  if (quota != 0 || period != 0) {
    std::string max = quota > 0 ? std::to_string(quota) : "max";
    w.emplace_back("cpu.max", max + " " + std::to_string(period ? period : 100000));
  }
  return core::ok();
}

}  // namespace

core::Result<CgroupWrites> v2_writes(const Resources& r, const HasControlFile& has) {
  CgroupWrites w;
  if (r.pids_limit) {
    if (*r.pids_limit < -1)
      return field_error("linux.resources.pids.limit", "want a count, or 0 or -1 for no limit, got " +
                                                           std::to_string(*r.pids_limit));
    w.emplace_back("pids.max", limit_or_max(*r.pids_limit));
  }
  if (r.memory) PVEKIT_TRY(v2_memory(*r.memory, has, w));
  if (r.block_io) PVEKIT_TRY(v2_io(*r.block_io, has, w));
  if (r.cpu) {
    PVEKIT_TRY(v2_cpu(*r.cpu, w));
    // A list such as "0-3,8"; anything else could carry a second write in one.
    for (const auto& [name, list] : {std::pair{"cpus", &r.cpu->cpus}, std::pair{"mems", &r.cpu->mems}}) {
      if (list->empty()) continue;
      if (!only_chars(*list, "0123456789,-"))
        return field_error(std::string("linux.resources.cpu.") + name,
                           "want a list such as \"0-3,8\", got " + quote_value(*list));
      w.emplace_back(std::string("cpuset.") + name, *list);
    }
  }
  for (size_t i = 0; i < r.hugepage_limits.size(); ++i) {
    const auto& h = r.hugepage_limits[i];
    if (!hugepage_size_name(h.page_size))
      return field_error(indexed("linux.resources.hugepageLimits", i) + ".pageSize",
                         "want a size as the hugetlb files name it (\"2MB\", \"1GB\"), got " +
                             quote_value(h.page_size));
    std::string prefix = "hugetlb." + h.page_size;
    w.emplace_back(prefix + ".max", std::to_string(h.limit));
    // runc 1.2 limits reservations alike (Linux 5.7+): pages reserved at mmap
    // time are counted there, and would otherwise escape the limit.
    if (!has || has(prefix + ".rsvd.max")) w.emplace_back(prefix + ".rsvd.max", std::to_string(h.limit));
  }
  for (const auto& [device, limit] : r.rdma) {
    bool printable = !device.empty() && std::all_of(device.begin(), device.end(),
                                                    [](char ch) { return ch > ' ' && ch < 127; });
    if (!printable)
      return field_error(field_member("linux.resources.rdma", device), "is not an RDMA device name");
    if (limit.hca_handles || limit.hca_objects) w.emplace_back("rdma.max", rdma_limit(device, limit));
  }
  for (const auto& [key, value] : r.unified) {
    PVEKIT_TRY(check_unified_key(key));
    if (key.rfind("cgroup.", 0) == 0 && key != "cgroup.max.depth" && key != "cgroup.max.descendants")
      return field_error("linux.resources.unified", quote_value(key) + " is managed by the runtime");
    // The kernel takes one line per write (two devices in io.max): runc's
    // WriteFileByLine and crun write a multi-line value line by line.
    for (const auto& line : core::split(value, '\n', true)) w.emplace_back(key, line);
  }
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
  if (r.memory && r.memory->swappiness) out.emplace_back("memory.swappiness");
  if (r.memory && r.memory->disable_oom_killer.value_or(false)) out.emplace_back("memory.disableOOMKiller");
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

  // Each level passes every controller it has on to the next (runc's
  // CreateCgroupPath), so that limits, stats and later updates find their
  // files. Best effort, as in runc: a level with processes of its own cannot
  // (the "no internal processes" rule), and apply() explains the file that
  // is then missing.
  Status create() override {
    std::string cur = root_;
    for (const auto& part : core::split(path_, '/', true)) {
      auto controllers = core::split(read_cg(cur + "/cgroup.controllers"), ' ', true);
      enable_controllers(cur, controllers);
      cur += "/" + part;
      if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) return Error::system("create cgroup " + cur, errno);
    }
    return core::ok();
  }

  Status apply(const Resources& resources) override {
    for (const auto& what : v2_unsupported(resources))
      spdlog::warn("cgroup v2 has no file for linux.resources.{}: not set for {}", what, path_);
    auto has = [&](const std::string& file) { return is_file(dir() + "/" + file); };
    PVEKIT_ASSIGN(auto writes, v2_writes(with_current_values(resources), has));
    for (const auto& [file, value] : writes) {
      Status written = write_cg(dir() + "/" + file, value);
      if (written.ok()) continue;
      // A controller's files exist only where the parent enabled it.
      std::string controller = file.substr(0, file.find('.'));
      if (written.error().sys_errno() == ENOENT && controller != "cgroup") {
        std::string reason = v2_missing_controller_reason(root_, path_, controller);
        if (!reason.empty())
          return Error(ErrorCategory::Runtime, file + " needs the " + controller + " controller: " + reason);
      }
      return written;
    }
    auto device_rules = effective_device_rules(resources.devices);
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

  core::Result<bool> kill_all() override {
    Status killed = write_cg(dir() + "/cgroup.kill", "1");
    if (killed.ok()) return true;
    if (killed.error().sys_errno() == ENOENT) return false;  // before Linux 5.14 (or the cgroup is gone)
    return std::move(killed).error();
  }

  core::Result<std::vector<pid_t>> pids() override { return read_procs(dir()); }
  Status destroy() override { return remove_dir(dir()); }
  std::vector<std::pair<std::string, std::string>> container_binds() const override { return {}; }
  std::vector<std::string> dirs() const override { return {dir()}; }

 private:
  std::string dir() const { return root_ + path_; }

  static void enable_controllers(const std::string& cgroup, const std::vector<std::string>& controllers) {
    if (controllers.empty()) return;
    std::string file = cgroup + "/cgroup.subtree_control";
    // One write for all; when one of them is refused, the others one by one.
    if (write_cg(file, "+" + core::join(controllers, " +")).ok()) return;
    for (const auto& c : controllers) (void)write_cg(file, "+" + c);
  }

  // `update` hands over only what changes, but cpu.max holds quota and period
  // together and OCI's swap counts the memory limit in: what the update does
  // not name is taken from the cgroup, as runc takes it from its saved config.
  Resources with_current_values(Resources r) const {
    if (r.cpu && (r.cpu->quota.has_value() != r.cpu->period.has_value())) {
      auto current = core::split(read_cg(dir() + "/cpu.max"), ' ', true);  // "max 100000", "50000 100000"
      if (current.size() == 2) {
        if (!r.cpu->quota) r.cpu->quota = current[0] == "max" ? -1 : core::parse_int(current[0]).value_or(-1);
        if (!r.cpu->period) r.cpu->period = core::parse_int(current[1]).value_or(100000);
      }
    }
    if (r.memory && r.memory->swap.value_or(0) > 0 && !r.memory->limit) {
      std::string current = read_cg(dir() + "/memory.max");
      if (current == "max") r.memory->limit = -1;
      else if (auto n = core::parse_int(current)) r.memory->limit = *n;
    }
    return r;
  }

  // runc waits up to 10 s for "frozen 1": tasks freeze only when they next
  // reach the kernel's signal handling, which a loaded host can delay.
  Status set_frozen(bool frozen) {
    PVEKIT_TRY(write_cg(dir() + "/cgroup.freeze", frozen ? "1" : "0"));
    std::string want = frozen ? "frozen 1" : "frozen 0";
    if (wait_for_cgroup_event(dir() + "/cgroup.events", want, 10000)) return core::ok();
    // Not left freezing in the background of a pause that failed.
    if (frozen) (void)write_cg(dir() + "/cgroup.freeze", "0");
    return Error(ErrorCategory::Runtime,
                 "cgroup " + dir() + " did not report \"" + want + "\" in cgroup.events within 10 s");
  }

  std::string root_;
  std::string path_;
};

}  // namespace

std::string v2_missing_controller_reason(const std::string& root, const std::string& path,
                                         const std::string& controller) {
  auto has_word = [](const std::string& text, const std::string& word) {
    auto words = core::split(text, ' ', true);
    return std::find(words.begin(), words.end(), word) != words.end();
  };
  // A controller reaches a cgroup through its parent's cgroup.subtree_control:
  // the first level on the way down that does not pass it on is the culprit.
  std::string cur = root;
  for (const auto& part : core::split(path, '/', true)) {
    std::string child = cur + "/" + part;
    if (!has_word(read_cg(cur + "/cgroup.subtree_control"), controller)) {
      if (!has_word(read_cg(cur + "/cgroup.controllers"), controller))
        return "cgroup " + cur + " does not have it (cgroup.controllers), so it cannot pass it on to " + child;
      if (cur != root && !read_cg(cur + "/cgroup.procs").empty())
        return "cgroup " + cur + " has processes of its own, and cgroup v2 enables controllers only for the children "
               "of a cgroup without any (the \"no internal processes\" rule): move them into a leaf cgroup";
      std::string type = read_cg(cur + "/cgroup.type");
      if (type == "threaded" || type == "domain invalid")
        return "cgroup " + cur + " is \"" + type + "\", where only threaded controllers can be enabled";
      return "enabling it in " + cur + "/cgroup.subtree_control failed";
    }
    cur = child;
  }
  return "";
}

bool wait_for_cgroup_event(const std::string& events_file, const std::string& want, int timeout_ms) {
  UniqueFd fd(::open(events_file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    char buf[512];
    ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
    if (n < 0 && errno != EINTR) return false;
    for (const auto& line : core::split(std::string_view(buf, n > 0 ? static_cast<size_t>(n) : 0), '\n', true))
      if (core::trim(line) == want) return true;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
    // kernfs raises POLLPRI when the file changes; a plain file (tests) never does.
    pollfd p{fd.get(), POLLPRI, 0};
    (void)::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 50)));
  }
}

std::unique_ptr<CgroupManager> make_cgroup_manager(CgroupLayout layout, const std::string& root,
                                                   const std::string& path) {
  if (layout == CgroupLayout::V2) return std::make_unique<V2Manager>(root, path);
  return std::make_unique<V1Manager>(root, path);
}

}  // namespace pvekit::oci::linux
