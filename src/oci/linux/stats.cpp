#include "oci/linux/stats.h"

#include <unistd.h>

#include "core/files.h"
#include "core/strings.h"

namespace pvekit::oci::linux {

namespace {

uint64_t to_u64(std::string_view text) {
  auto n = core::parse_int(core::trim(text));
  return n && *n > 0 ? static_cast<uint64_t>(*n) : 0;
}

std::string read_or_empty(const std::string& path) {
  auto text = core::read_file(path);
  return text.ok() ? *text : std::string();
}

uint64_t value_of(const std::map<std::string, uint64_t>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

// v1 limits read as a huge number when unlimited; runc reports them as they are,
// but a limit at or above 2^62 means "none" for every consumer we have.
uint64_t limit_value(const std::string& text) {
  uint64_t v = parse_cgroup_value(text);
  return v >= (uint64_t{1} << 62) ? 0 : v;
}

core::Json blkio_json(const std::vector<BlkioEntry>& entries) {
  auto a = core::Json::array();
  for (const auto& e : entries) a.push_back({{"major", e.major}, {"minor", e.minor}, {"op", e.op}, {"value", e.value}});
  return a;
}

void read_v1(const std::string& root, const std::string& path, CgroupStats& s) {
  auto f = [&](const char* controller, const char* file) { return read_or_empty(root + "/" + controller + path + "/" + file); };
  s.cpu_total = parse_cgroup_value(f("cpuacct", "cpuacct.usage"));
  for (const auto& v : core::split(f("cpuacct", "cpuacct.usage_percpu"), ' ', true))
    if (!core::trim(v).empty()) s.cpu_percpu.push_back(to_u64(v));
  auto ticks = parse_flat_keyed(f("cpuacct", "cpuacct.stat"));
  uint64_t ns_per_tick = 1'000'000'000ULL / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
  s.cpu_user = value_of(ticks, "user") * ns_per_tick;
  s.cpu_kernel = value_of(ticks, "system") * ns_per_tick;
  auto cpu = parse_flat_keyed(f("cpu", "cpu.stat"));
  s.periods = value_of(cpu, "nr_periods");
  s.throttled_periods = value_of(cpu, "nr_throttled");
  s.throttled_time = value_of(cpu, "throttled_time");
  s.mem_usage = parse_cgroup_value(f("memory", "memory.usage_in_bytes"));
  s.mem_max = parse_cgroup_value(f("memory", "memory.max_usage_in_bytes"));
  s.mem_limit = limit_value(f("memory", "memory.limit_in_bytes"));
  s.mem_failcnt = parse_cgroup_value(f("memory", "memory.failcnt"));
  s.swap_usage = parse_cgroup_value(f("memory", "memory.memsw.usage_in_bytes"));
  s.swap_limit = limit_value(f("memory", "memory.memsw.limit_in_bytes"));
  s.mem_raw = parse_flat_keyed(f("memory", "memory.stat"));
  s.mem_cache = value_of(s.mem_raw, "cache");
  s.oom_kills = value_of(parse_flat_keyed(f("memory", "memory.oom_control")), "oom_kill");
  s.pids_current = parse_cgroup_value(f("pids", "pids.current"));
  s.pids_limit = parse_cgroup_value(f("pids", "pids.max"));
  s.io_service_bytes = parse_blkio_v1(f("blkio", "blkio.throttle.io_service_bytes_recursive"));
  s.io_serviced = parse_blkio_v1(f("blkio", "blkio.throttle.io_serviced_recursive"));
}

void read_v2(const std::string& root, const std::string& path, CgroupStats& s) {
  auto f = [&](const char* file) { return read_or_empty(root + path + "/" + file); };
  auto cpu = parse_flat_keyed(f("cpu.stat"));
  s.cpu_total = value_of(cpu, "usage_usec") * 1000;
  s.cpu_user = value_of(cpu, "user_usec") * 1000;
  s.cpu_kernel = value_of(cpu, "system_usec") * 1000;
  s.periods = value_of(cpu, "nr_periods");
  s.throttled_periods = value_of(cpu, "nr_throttled");
  s.throttled_time = value_of(cpu, "throttled_usec") * 1000;
  s.mem_usage = parse_cgroup_value(f("memory.current"));
  s.mem_max = parse_cgroup_value(f("memory.peak"));
  s.mem_limit = parse_cgroup_value(f("memory.max"));
  auto events = parse_flat_keyed(f("memory.events"));
  s.mem_failcnt = value_of(events, "max");
  s.oom_kills = value_of(events, "oom_kill");
  s.swap_usage = parse_cgroup_value(f("memory.swap.current"));
  s.swap_limit = parse_cgroup_value(f("memory.swap.max"));
  s.mem_raw = parse_flat_keyed(f("memory.stat"));
  s.mem_cache = value_of(s.mem_raw, "file");
  s.pids_current = parse_cgroup_value(f("pids.current"));
  s.pids_limit = parse_cgroup_value(f("pids.max"));
  std::tie(s.io_service_bytes, s.io_serviced) = parse_io_stat(f("io.stat"));
}

}  // namespace

std::map<std::string, uint64_t> parse_flat_keyed(const std::string& text) {
  std::map<std::string, uint64_t> out;
  for (const auto& line : core::split(text, '\n', true)) {
    auto fields = core::split(line, ' ', true);
    if (fields.size() == 2) out[fields[0]] = to_u64(fields[1]);
  }
  return out;
}

uint64_t parse_cgroup_value(const std::string& text) { return to_u64(text); }

std::vector<BlkioEntry> parse_blkio_v1(const std::string& text) {
  std::vector<BlkioEntry> out;
  for (const auto& line : core::split(text, '\n', true)) {
    auto fields = core::split(line, ' ', true);
    if (fields.size() != 3) continue;  // "Total N"
    auto dev = core::split(fields[0], ':');
    if (dev.size() != 2) continue;
    out.push_back({to_u64(dev[0]), to_u64(dev[1]), fields[1], to_u64(fields[2])});
  }
  return out;
}

std::pair<std::vector<BlkioEntry>, std::vector<BlkioEntry>> parse_io_stat(const std::string& text) {
  std::vector<BlkioEntry> bytes, ios;
  for (const auto& line : core::split(text, '\n', true)) {
    auto fields = core::split(line, ' ', true);
    if (fields.empty()) continue;
    auto dev = core::split(fields[0], ':');
    if (dev.size() != 2) continue;
    uint64_t major = to_u64(dev[0]), minor = to_u64(dev[1]);
    for (size_t i = 1; i < fields.size(); ++i) {
      auto kv = core::split(fields[i], '=');
      if (kv.size() != 2) continue;
      const std::string& k = kv[0];
      if (k == "rbytes") bytes.push_back({major, minor, "Read", to_u64(kv[1])});
      else if (k == "wbytes") bytes.push_back({major, minor, "Write", to_u64(kv[1])});
      else if (k == "rios") ios.push_back({major, minor, "Read", to_u64(kv[1])});
      else if (k == "wios") ios.push_back({major, minor, "Write", to_u64(kv[1])});
    }
  }
  return {bytes, ios};
}

core::Json stats_json(const CgroupStats& s) {
  core::Json raw = core::Json::object();
  for (const auto& [k, v] : s.mem_raw) raw[k] = v;
  return {
      {"cpu",
       {{"usage", {{"total", s.cpu_total}, {"percpu", s.cpu_percpu}, {"kernel", s.cpu_kernel}, {"user", s.cpu_user}}},
        {"throttling",
         {{"periods", s.periods}, {"throttledPeriods", s.throttled_periods}, {"throttledTime", s.throttled_time}}}}},
      {"memory",
       {{"cache", s.mem_cache},
        {"usage", {{"limit", s.mem_limit}, {"usage", s.mem_usage}, {"max", s.mem_max}, {"failcnt", s.mem_failcnt}}},
        {"swap", {{"limit", s.swap_limit}, {"usage", s.swap_usage}}},
        {"raw", raw}}},
      {"pids", {{"current", s.pids_current}, {"limit", s.pids_limit}}},
      {"blkio",
       {{"ioServiceBytesRecursive", blkio_json(s.io_service_bytes)},
        {"ioServicedRecursive", blkio_json(s.io_serviced)}}},
      {"hugetlb", core::Json::object()},
      {"oomKills", s.oom_kills},
  };
}

core::Result<CgroupStats> read_cgroup_stats(CgroupLayout layout, const std::string& root, const std::string& path) {
  CgroupStats s;
  if (layout == CgroupLayout::V2) read_v2(root, path, s);
  else read_v1(root, path, s);
  return s;
}

}  // namespace pvekit::oci::linux
