#pragma once

// Resource usage of a container's cgroup for `events`: read from the cgroup
// files (v1 controllers or the v2 unified tree), parsed by pure functions,
// shaped as runc's stats event data.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/result.h"
#include "oci/linux/cgroups.h"

namespace pvekit::oci::linux {

struct BlkioEntry {
  uint64_t major = 0, minor = 0;
  std::string op;  // Read, Write, Sync, Async, Discard, Total
  uint64_t value = 0;
  bool operator==(const BlkioEntry&) const = default;
};

struct CgroupStats {
  // cpu, nanoseconds
  uint64_t cpu_total = 0, cpu_user = 0, cpu_kernel = 0;
  std::vector<uint64_t> cpu_percpu;
  uint64_t periods = 0, throttled_periods = 0, throttled_time = 0;
  // memory, bytes (limits 0 when unlimited)
  uint64_t mem_usage = 0, mem_max = 0, mem_limit = 0, mem_failcnt = 0, mem_cache = 0;
  uint64_t swap_usage = 0, swap_limit = 0;
  std::map<std::string, uint64_t> mem_raw;  // memory.stat
  uint64_t oom_kills = 0;
  // pids
  uint64_t pids_current = 0, pids_limit = 0;
  std::vector<BlkioEntry> io_service_bytes, io_serviced;
};

// "key value" lines (memory.stat, cpu.stat, cpuacct.stat, memory.events, oom_control).
std::map<std::string, uint64_t> parse_flat_keyed(const std::string& text);
// A single number; "max" and unparsable text read 0 (no limit / nothing known).
uint64_t parse_cgroup_value(const std::string& text);
// v1 blkio.*_recursive: "8:0 Read 4096" lines; the trailing "Total N" line is dropped.
std::vector<BlkioEntry> parse_blkio_v1(const std::string& text);
// v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 ..." -> (bytes, ios) entries per op.
std::pair<std::vector<BlkioEntry>, std::vector<BlkioEntry>> parse_io_stat(const std::string& text);

// runc's stats "data": {cpu: {usage, throttling}, memory: {cache, usage, swap, raw}, pids, blkio, hugetlb},
// plus "oomKills" (the cgroup's OOM kill counter), which `events` turns into
// "oom" events and removes before printing.
core::Json stats_json(const CgroupStats& stats);

// Reads the stats of the cgroup at `path` under `root` (missing files read 0).
core::Result<CgroupStats> read_cgroup_stats(CgroupLayout layout, const std::string& root, const std::string& path);

}  // namespace pvekit::oci::linux
