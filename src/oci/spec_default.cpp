// The config.json written by `spec`: the same document runc 1.1 writes, so
// users and tools that start from `runc spec` get what they expect.

#include <algorithm>

#include "oci/spec.h"

namespace pvekit::oci {

Json default_spec() {
  static const char* text = R"({
  "ociVersion": "1.0.2-dev",
  "process": {
    "terminal": true,
    "user": {"uid": 0, "gid": 0},
    "args": ["sh"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "lxcri",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
  ],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
})";
  return Json::parse(text);
}

Json rootless_spec(uint32_t host_uid, uint32_t host_gid) {
  Json spec = default_spec();
  Json& linux = spec["linux"];
  linux.erase("resources");
  linux["uidMappings"] = Json::array({{{"containerID", 0}, {"hostID", host_uid}, {"size", 1}}});
  linux["gidMappings"] = Json::array({{{"containerID", 0}, {"hostID", host_gid}, {"size", 1}}});
  Json namespaces = Json::array();
  for (const auto& ns : linux["namespaces"])
    if (ns["type"] != "network") namespaces.push_back(ns);
  namespaces.push_back({{"type", "user"}});
  linux["namespaces"] = namespaces;
  for (auto& m : spec["mounts"]) {
    if (m["destination"] == "/sys") {
      // A user namespace cannot mount a fresh sysfs; bind the host's read-only.
      m = {{"destination", "/sys"}, {"type", "none"}, {"source", "/sys"},
           {"options", {"rbind", "nosuid", "noexec", "nodev", "ro"}}};
    } else if (m["destination"] == "/dev/pts") {
      // gid 5 (tty) is usually not mapped in a rootless container.
      auto& opts = m["options"];
      opts.erase(std::remove(opts.begin(), opts.end(), Json("gid=5")), opts.end());
    }
  }
  return spec;
}

}  // namespace pvekit::oci
