#pragma once

// Resource usage of a container's cgroup for `events`: read from the cgroup
// files (v1 controllers or the v2 unified tree), parsed by pure functions,
// shaped as runc's stats event data; and the cgroup's OOM kills as they happen.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/result.h"
#include "oci/backend.h"
#include "oci/linux/cgroups.h"

namespace pvekit::oci::linux {

struct BlkioEntry {
  uint64_t major = 0, minor = 0;
  std::string op;  // Read, Write, Sync, Async, Discard, Total
  uint64_t value = 0;
  bool operator==(const BlkioEntry&) const = default;
};

// Pressure stall information of one resource (a *.pressure file): the share
// of time, in percent over 10/60/300 s, that some or all tasks waited on it,
// and the total wait in microseconds.
struct PsiData {
  double avg10 = 0, avg60 = 0, avg300 = 0;
  uint64_t total = 0;
  bool operator==(const PsiData&) const = default;
};
struct PsiStats {
  PsiData some, full;
  bool operator==(const PsiStats&) const = default;
};

struct CgroupStats {
  // cpu, nanoseconds
  uint64_t cpu_total = 0, cpu_user = 0, cpu_kernel = 0;
  std::vector<uint64_t> cpu_percpu;
  uint64_t periods = 0, throttled_periods = 0, throttled_time = 0;
  // memory, bytes (limits 0 when unlimited); swap is memory+swap, as on v1
  uint64_t mem_usage = 0, mem_max = 0, mem_limit = 0, mem_failcnt = 0, mem_cache = 0;
  uint64_t swap_usage = 0, swap_limit = 0;
  std::map<std::string, uint64_t> mem_raw;  // memory.stat
  uint64_t oom_kills = 0;
  // pids
  uint64_t pids_current = 0, pids_limit = 0;
  std::vector<BlkioEntry> io_service_bytes, io_serviced;
  // cgroup v2 with PSI (Linux 4.20, CONFIG_PSI, not psi=0): none otherwise
  std::optional<PsiStats> cpu_psi, memory_psi, io_psi;
};

// Parsers of the cgroup files stats and events read. They take whatever the
// file holds and never fail: what is malformed (a value that is no number or
// does not fit, a truncated line) is left out rather than read as 0.

// A decimal count with nothing else (trailing whitespace aside): no sign, no overflow.
std::optional<uint64_t> parse_u64(std::string_view text);
// Flat keyed files, "key value" lines (memory.stat, cpu.stat, memory.events,
// cgroup.events, v1's oom_control).
std::map<std::string, uint64_t> parse_flat_keyed(const std::string& text);
// Nested keyed files, "key k1=v1 k2=v2" lines (io.stat, rdma.current), in file
// order; pairs whose value is no count are left out.
struct NestedKeyedLine {
  std::string key;
  std::map<std::string, uint64_t> values;
  bool operator==(const NestedKeyedLine&) const = default;
};
std::vector<NestedKeyedLine> parse_nested_keyed(const std::string& text);
// A single number; "max" and unparsable text read 0 (no limit / nothing known).
uint64_t parse_cgroup_value(const std::string& text);
// v1 blkio.*_recursive: "8:0 Read 4096" lines; the trailing "Total N" line is dropped.
std::vector<BlkioEntry> parse_blkio_v1(const std::string& text);
// v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 ..." -> (bytes, ios) entries per op.
std::pair<std::vector<BlkioEntry>, std::vector<BlkioEntry>> parse_io_stat(const std::string& text);
// A *.pressure file: "some avg10=0.12 avg60=0.00 avg300=0.00 total=1234" and a
// "full" line alike (a missing one reads zeros, as runc has it). Nothing when
// neither line is there, or when one of them lacks a field or has one that
// is no number: no figures rather than wrong ones.
std::optional<PsiStats> parse_psi(const std::string& text);

// runc's stats "data": {cpu: {usage, throttling, psi}, memory: {cache, usage,
// swap, raw, psi}, pids, blkio: {..., psi}, hugetlb} (runc 1.2's types/events.go;
// "psi" only where there are figures), plus "oomKills" (the cgroup's OOM kill
// counter), which `events` turns into "oom" events and removes before printing.
core::Json stats_json(const CgroupStats& stats);

// Reads the stats of the cgroup at `path` under `root` (missing files read 0).
core::Result<CgroupStats> read_cgroup_stats(CgroupLayout layout, const std::string& root, const std::string& path);

// The OOM kills the memory.events text `memory_events` counts beyond `seen`
// (its oom_kill count at the previous look), updating `seen`. A count that
// went down (a new cgroup under the same name) starts over from it; text
// without a valid oom_kill count changes nothing.
uint64_t new_oom_kills(uint64_t& seen, const std::string& memory_events);

// OOM kills in the cgroup at `path` below `root` as the kernel reports them.
// v2: inotify on memory.events (the kernel sends IN_MODIFY on every change)
// with its oom_kill count compared, and on cgroup.events for "populated 0";
// v1 (and hybrid): an eventfd registered for memory.oom_control through
// cgroup.event_control (runc's notify_linux.go), one OOM per notification.
core::Result<std::unique_ptr<OomWatch>> watch_cgroup_oom(const std::string& root, const std::string& path);

}  // namespace pvekit::oci::linux
