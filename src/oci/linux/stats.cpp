#include "oci/linux/stats.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "core/files.h"
#include "core/strings.h"
#include "oci/fd.h"

namespace pvekit::oci::linux {

using core::Error;

namespace {

std::string read_or_empty(const std::string& path) {
  auto text = core::read_file(path);
  return text.ok() ? *text : std::string();
}

uint64_t value_of(const std::map<std::string, uint64_t>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

// Fields of a line, split at spaces and tabs.
std::vector<std::string> fields_of(std::string_view line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.emplace_back(line.substr(start, i - start));
  }
  return out;
}

// "8:0" -> (8, 0).
std::optional<std::pair<uint64_t, uint64_t>> device_of(const std::string& text) {
  auto colon = text.find(':');
  if (colon == std::string::npos) return std::nullopt;
  auto major = parse_u64(std::string_view(text).substr(0, colon));
  auto minor = parse_u64(std::string_view(text).substr(colon + 1));
  if (!major || !minor) return std::nullopt;
  return std::pair{*major, *minor};
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

// runc's cgroups.PSIStats: {"some": {avg10, avg60, avg300, total}, "full": {...}}.
core::Json psi_json(const PsiStats& p) {
  auto data = [](const PsiData& d) {
    return core::Json{{"avg10", d.avg10}, {"avg60", d.avg60}, {"avg300", d.avg300}, {"total", d.total}};
  };
  return {{"some", data(p.some)}, {"full", data(p.full)}};
}

void read_v1(const std::string& root, const std::string& path, CgroupStats& s) {
  auto f = [&](const char* controller, const char* file) {
    return read_or_empty(root + "/" + controller + path + "/" + file);
  };
  s.cpu_total = parse_cgroup_value(f("cpuacct", "cpuacct.usage"));
  for (const auto& v : fields_of(f("cpuacct", "cpuacct.usage_percpu")))
    if (auto n = parse_u64(v)) s.cpu_percpu.push_back(*n);
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
  // v2 counts swap alone; runc reports memory+swap, as v1 does.
  s.swap_usage = parse_cgroup_value(f("memory.swap.current")) + s.mem_usage;
  uint64_t swap_only_limit = parse_cgroup_value(f("memory.swap.max"));
  s.swap_limit = swap_only_limit == 0 || s.mem_limit == 0 ? 0 : swap_only_limit + s.mem_limit;
  s.mem_raw = parse_flat_keyed(f("memory.stat"));
  s.mem_cache = value_of(s.mem_raw, "file");
  s.pids_current = parse_cgroup_value(f("pids.current"));
  s.pids_limit = parse_cgroup_value(f("pids.max"));
  std::tie(s.io_service_bytes, s.io_serviced) = parse_io_stat(f("io.stat"));
  // Missing where PSI is off: no figures then, as runc.
  s.cpu_psi = parse_psi(f("cpu.pressure"));
  s.memory_psi = parse_psi(f("memory.pressure"));
  s.io_psi = parse_psi(f("io.pressure"));
}

// poll(2)'s int milliseconds (an --interval of 1000h does not fit).
int poll_timeout(std::chrono::milliseconds timeout) {
  return static_cast<int>(std::clamp<int64_t>(timeout.count(), 0, INT32_MAX));
}

// One line's "k=v" pairs, all four PSI fields or nothing.
std::optional<PsiData> psi_line(const std::vector<std::string>& fields) {
  PsiData d;
  int found = 0;
  for (size_t i = 1; i < fields.size(); ++i) {
    auto eq = fields[i].find('=');
    if (eq == std::string::npos) return std::nullopt;
    std::string key = fields[i].substr(0, eq), value = fields[i].substr(eq + 1);
    double* avg = key == "avg10" ? &d.avg10 : key == "avg60" ? &d.avg60 : key == "avg300" ? &d.avg300 : nullptr;
    if (avg) {
      auto v = core::parse_double(value);
      if (!v || *v < 0) return std::nullopt;
      *avg = *v;
      ++found;
    } else if (key == "total") {
      auto v = parse_u64(value);
      if (!v) return std::nullopt;
      d.total = *v;
      ++found;
    }
  }
  if (found != 4) return std::nullopt;
  return d;
}

}  // namespace

std::optional<uint64_t> parse_u64(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::map<std::string, uint64_t> parse_flat_keyed(const std::string& text) {
  std::map<std::string, uint64_t> out;
  for (const auto& line : core::split(text, '\n', true)) {
    auto fields = fields_of(line);
    if (fields.size() != 2) continue;
    if (auto v = parse_u64(fields[1])) out[fields[0]] = *v;
  }
  return out;
}

std::vector<NestedKeyedLine> parse_nested_keyed(const std::string& text) {
  std::vector<NestedKeyedLine> out;
  for (const auto& line : core::split(text, '\n', true)) {
    auto fields = fields_of(line);
    if (fields.size() < 2) continue;
    NestedKeyedLine parsed{fields[0], {}};
    for (size_t i = 1; i < fields.size(); ++i) {
      auto eq = fields[i].find('=');
      if (eq == 0 || eq == std::string::npos) continue;
      if (auto v = parse_u64(std::string_view(fields[i]).substr(eq + 1))) parsed.values[fields[i].substr(0, eq)] = *v;
    }
    if (!parsed.values.empty()) out.push_back(std::move(parsed));
  }
  return out;
}

uint64_t parse_cgroup_value(const std::string& text) { return parse_u64(core::trim(text)).value_or(0); }

std::vector<BlkioEntry> parse_blkio_v1(const std::string& text) {
  std::vector<BlkioEntry> out;
  for (const auto& line : core::split(text, '\n', true)) {
    auto fields = fields_of(line);
    if (fields.size() != 3) continue;  // "Total N"
    auto dev = device_of(fields[0]);
    auto value = parse_u64(fields[2]);
    if (dev && value) out.push_back({dev->first, dev->second, fields[1], *value});
  }
  return out;
}

std::pair<std::vector<BlkioEntry>, std::vector<BlkioEntry>> parse_io_stat(const std::string& text) {
  std::vector<BlkioEntry> bytes, ios;
  for (const auto& line : parse_nested_keyed(text)) {
    auto dev = device_of(line.key);
    if (!dev) continue;
    auto [major, minor] = *dev;
    // runc maps these four onto v1's tables; the others (dbytes, dios) have no place there.
    for (const auto& [key, op, table] : {std::tuple{"rbytes", "Read", &bytes}, std::tuple{"wbytes", "Write", &bytes},
                                         std::tuple{"rios", "Read", &ios}, std::tuple{"wios", "Write", &ios}})
      if (auto it = line.values.find(key); it != line.values.end()) table->push_back({major, minor, op, it->second});
  }
  return {bytes, ios};
}

std::optional<PsiStats> parse_psi(const std::string& text) {
  PsiStats p;
  bool any = false;
  for (const auto& line : core::split(text, '\n', true)) {
    auto fields = fields_of(line);
    if (fields.empty() || (fields[0] != "some" && fields[0] != "full")) continue;
    auto data = psi_line(fields);
    if (!data) return std::nullopt;
    (fields[0] == "some" ? p.some : p.full) = *data;
    any = true;
  }
  if (!any) return std::nullopt;
  return p;
}

core::Json stats_json(const CgroupStats& s) {
  core::Json raw = core::Json::object();
  for (const auto& [k, v] : s.mem_raw) raw[k] = v;
  core::Json j = {
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
  if (s.cpu_psi) j["cpu"]["psi"] = psi_json(*s.cpu_psi);
  if (s.memory_psi) j["memory"]["psi"] = psi_json(*s.memory_psi);
  if (s.io_psi) j["blkio"]["psi"] = psi_json(*s.io_psi);
  return j;
}

core::Result<CgroupStats> read_cgroup_stats(CgroupLayout layout, const std::string& root, const std::string& path) {
  CgroupStats s;
  if (layout == CgroupLayout::V2) read_v2(root, path, s);
  else read_v1(root, path, s);
  return s;
}

uint64_t new_oom_kills(uint64_t& seen, const std::string& memory_events) {
  auto events = parse_flat_keyed(memory_events);
  auto it = events.find("oom_kill");
  if (it == events.end()) return 0;
  uint64_t now = it->second;
  uint64_t fresh = now > seen ? now - seen : 0;
  seen = now;
  return fresh;
}

namespace {

class V2OomWatch final : public OomWatch {
 public:
  static core::Result<std::unique_ptr<OomWatch>> open(const std::string& dir) {
    auto w = std::unique_ptr<V2OomWatch>(new V2OomWatch(dir));
    w->fd_ = UniqueFd(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!w->fd_.valid()) return Error::system("inotify_init1", errno);
    // Without the memory controller there is no memory.events to watch.
    for (const char* file : {"memory.events", "cgroup.events"})
      if (::inotify_add_watch(w->fd_.get(), (dir + "/" + file).c_str(), IN_MODIFY) < 0)
        return Error::system("watch " + dir + "/" + file, errno);
    (void)new_oom_kills(w->seen_, read_or_empty(dir + "/memory.events"));  // kills before we looked are not news
    return std::unique_ptr<OomWatch>(std::move(w));
  }

  core::Result<Seen> wait(std::chrono::milliseconds timeout) override {
    pollfd p{fd_.get(), POLLIN, 0};
    int n = ::poll(&p, 1, poll_timeout(timeout));
    if (n < 0 && errno != EINTR) return Error::system("poll inotify of " + dir_, errno);
    if (n <= 0) return Seen{};
    // The events themselves do not matter: both files are read afresh.
    alignas(inotify_event) char buf[4096];
    while (::read(fd_.get(), buf, sizeof buf) > 0) {
    }
    Seen seen;
    seen.oom_kills = new_oom_kills(seen_, read_or_empty(dir_ + "/memory.events"));
    auto events = parse_flat_keyed(read_or_empty(dir_ + "/cgroup.events"));  // gone with the cgroup
    auto populated = events.find("populated");
    seen.emptied = populated == events.end() || populated->second == 0;
    return seen;
  }

 private:
  explicit V2OomWatch(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
  UniqueFd fd_;
  uint64_t seen_ = 0;
};

class V1OomWatch final : public OomWatch {
 public:
  static core::Result<std::unique_ptr<OomWatch>> open(const std::string& dir) {
    auto w = std::unique_ptr<V1OomWatch>(new V1OomWatch(dir));
    std::string oom_control = dir + "/memory.oom_control";
    UniqueFd oom(::open(oom_control.c_str(), O_RDONLY | O_CLOEXEC));
    if (!oom.valid()) return Error::system("open " + oom_control, errno);
    w->eventfd_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!w->eventfd_.valid()) return Error::system("eventfd", errno);
    std::string registration = std::to_string(w->eventfd_.get()) + " " + std::to_string(oom.get());
    UniqueFd control(::open(w->control_.c_str(), O_WRONLY | O_CLOEXEC));
    if (!control.valid() || ::write(control.get(), registration.data(), registration.size()) < 0)
      return Error::system("register for OOM notifications in " + w->control_, errno);
    w->oom_control_ = std::move(oom);  // held while watching, as runc does
    return std::unique_ptr<OomWatch>(std::move(w));
  }

  core::Result<Seen> wait(std::chrono::milliseconds timeout) override {
    pollfd p{eventfd_.get(), POLLIN, 0};
    int n = ::poll(&p, 1, poll_timeout(timeout));
    if (n < 0 && errno != EINTR) return Error::system("poll OOM eventfd of " + control_, errno);
    uint64_t count = 0;
    if (n <= 0 || ::read(eventfd_.get(), &count, sizeof count) != sizeof count) return Seen{};
    // The kernel signals the eventfd when the cgroup goes too (runc's check).
    struct stat st{};
    if (::lstat(control_.c_str(), &st) != 0) return Seen{0, true};
    return Seen{1, false};
  }

 private:
  explicit V1OomWatch(const std::string& dir) : control_(dir + "/cgroup.event_control") {}
  std::string control_;
  UniqueFd eventfd_, oom_control_;
};

}  // namespace

core::Result<std::unique_ptr<OomWatch>> watch_cgroup_oom(const std::string& root, const std::string& path) {
  PVEKIT_ASSIGN(auto layout, detect_cgroup_layout(root));
  if (layout == CgroupLayout::V2) return V2OomWatch::open(root + path);
  return V1OomWatch::open(root + "/memory" + path);
}

}  // namespace pvekit::oci::linux
