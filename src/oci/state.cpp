#include "oci/state.h"

#include <ctime>

#include "core/files.h"
#include "core/strings.h"
#include "core/utc_time.h"

namespace pvekit::oci {

using core::Error;
using core::ErrorCategory;

std::optional<ProcStat> parse_proc_stat(const std::string& text) {
  // "pid (comm) S ppid ...": comm may contain anything, so parse after the last ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size()) return std::nullopt;
  auto fields = core::split(text.substr(close + 2), ' ', true);
  // fields[0] is field 3 (state); start time is field 22, i.e. fields[19].
  if (fields.size() < 20 || fields[0].size() != 1) return std::nullopt;
  auto start = core::parse_int(fields[19]);
  if (!start || *start < 0) return std::nullopt;
  return ProcStat{fields[0][0], static_cast<uint64_t>(*start)};
}

std::optional<ProcStat> read_proc_stat(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  auto text = core::read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text.ok()) return std::nullopt;
  return parse_proc_stat(*text);
}

bool process_alive(pid_t pid, uint64_t start_time) {
  auto st = read_proc_stat(pid);
  if (!st) return false;
  if (st->state == 'Z' || st->state == 'X') return false;
  return st->start_time == start_time;
}

ContainerStatus derive_status(ContainerStatus stored, bool alive, bool exec_fifo_exists) {
  if (!alive) return ContainerStatus::Stopped;
  if (stored == ContainerStatus::Paused) return ContainerStatus::Paused;
  if (stored == ContainerStatus::Creating) return ContainerStatus::Creating;
  return exec_fifo_exists ? ContainerStatus::Created : ContainerStatus::Running;
}

core::Json state_to_json(const ContainerState& s) {
  return {{"ociVersion", s.oci_version}, {"id", s.id}, {"status", std::string(to_string(s.status))},
          {"pid", s.pid}, {"pidStartTime", s.pid_start_time}, {"bundle", s.bundle},
          {"rootfs", s.rootfs}, {"created", s.created}, {"owner", s.owner},
          {"annotations", s.annotations}, {"backend", s.backend}, {"cgroupPath", s.cgroup_path},
          {"cgroupRoot", s.cgroup_root}, {"systemdUnit", s.systemd_unit}, {"systemdSlice", s.systemd_slice},
          {"pveNode", s.pve_node}, {"pveVmid", s.pve_vmid}};
}

core::Result<ContainerState> state_from_json(const core::Json& j) {
  try {
    ContainerState s;
    s.oci_version = j.at("ociVersion").get<std::string>();
    s.id = j.at("id").get<std::string>();
    auto status = parse_status(j.at("status").get<std::string>());
    if (!status) return Error(ErrorCategory::Parse, "unknown status in state.json");
    s.status = *status;
    s.pid = j.at("pid").get<pid_t>();
    s.pid_start_time = j.at("pidStartTime").get<uint64_t>();
    s.bundle = j.at("bundle").get<std::string>();
    s.rootfs = j.at("rootfs").get<std::string>();
    s.created = j.at("created").get<std::string>();
    s.owner = j.value("owner", "");
    s.annotations = j.value("annotations", std::map<std::string, std::string>{});
    s.backend = j.value("backend", "linux");
    s.cgroup_path = j.value("cgroupPath", "");
    s.cgroup_root = j.value("cgroupRoot", "/sys/fs/cgroup");
    s.systemd_unit = j.value("systemdUnit", "");
    s.systemd_slice = j.value("systemdSlice", "");
    s.pve_node = j.value("pveNode", "");
    s.pve_vmid = j.value("pveVmid", int64_t{0});
    return s;
  } catch (const core::Json::exception& e) {
    return Error(ErrorCategory::Parse, std::string("malformed state.json: ") + e.what());
  }
}

nlohmann::ordered_json runc_state_json(const ContainerState& s, ContainerStatus live) {
  nlohmann::ordered_json j;
  j["ociVersion"] = s.oci_version;
  j["id"] = s.id;
  j["pid"] = live == ContainerStatus::Stopped ? 0 : s.pid;
  j["status"] = std::string(to_string(live));
  j["bundle"] = s.bundle;
  j["rootfs"] = s.rootfs;
  j["created"] = s.created;
  j["owner"] = s.owner;
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  return j;
}

std::string rfc3339_now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  char nanos[16];
  snprintf(nanos, sizeof nanos, ".%09ldZ", static_cast<long>(ts.tv_nsec));
  return core::format_utc(ts.tv_sec, "%Y-%m-%dT%H:%M:%S") + nanos;
}

}  // namespace pvekit::oci
