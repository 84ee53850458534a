// Semantic validation of a parsed config.json: every error names the field,
// and strings from the document are quoted as JSON (quote_value) so control
// characters cannot reach a terminal through an error message.

#include <sys/un.h>

#include <algorithm>
#include <set>

#include "core/strings.h"
#include "oci/spec.h"

namespace pvekit::oci {
namespace {

using core::Error;
using core::ErrorCategory;
using core::Status;

Error field_error(const std::string& field, const std::string& message) {
  return Error(ErrorCategory::Config, field + ": " + message).with_detail("field", field);
}

bool contains(const std::vector<std::string>& list, const std::string& name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

std::string idx(const std::string& base, size_t i) { return base + "[" + std::to_string(i) + "]"; }

// A path inside the container: absolute and without "..".
Status check_container_path(const std::string& field, const std::string& path) {
  if (path.empty() || path[0] != '/') return field_error(field, "must be an absolute path, got " + quote_value(path));
  if (has_dotdot(path)) return field_error(field, "must not contain \"..\", got " + quote_value(path));
  return core::ok();
}

Status check_process(const Process& p) {
  if (p.args.empty()) return field_error("process.args", "must not be empty");
  PVEKIT_TRY(check_container_path("process.cwd", p.cwd));
  for (size_t i = 0; i < p.env.size(); ++i)
    if (p.env[i].find('=') == std::string::npos)
      return field_error(idx("process.env", i), "must have the form NAME=VALUE");
  std::set<std::string> seen;
  for (size_t i = 0; i < p.rlimits.size(); ++i) {
    const auto& r = p.rlimits[i];
    std::string f = idx("process.rlimits", i);
    if (!contains(known_rlimits(), r.type)) return field_error(f + ".type", "unknown rlimit " + quote_value(r.type));
    if (!seen.insert(r.type).second) return field_error(f + ".type", "duplicate rlimit " + quote_value(r.type));
    if (r.soft > r.hard) return field_error(f, "soft limit exceeds hard limit");
  }
  if (p.oom_score_adj && (*p.oom_score_adj < -1000 || *p.oom_score_adj > 1000))
    return field_error("process.oomScoreAdj", "must be between -1000 and 1000");
  if (p.capabilities) {
    const auto& c = *p.capabilities;
    const std::pair<const char*, const std::vector<std::string>*> sets[] = {
        {"bounding", &c.bounding}, {"effective", &c.effective}, {"inheritable", &c.inheritable},
        {"permitted", &c.permitted}, {"ambient", &c.ambient}};
    for (const auto& [name, list] : sets)
      for (size_t i = 0; i < list->size(); ++i)
        if (!contains(known_capabilities(), (*list)[i]))
          return field_error(idx(std::string("process.capabilities.") + name, i),
                             "unknown capability " + quote_value((*list)[i]));
  }
  return core::ok();
}

Status check_hooks(const Hooks& h) {
  const std::pair<const char*, const std::vector<Hook>*> all[] = {
      {"prestart", &h.prestart}, {"createRuntime", &h.create_runtime},
      {"createContainer", &h.create_container}, {"startContainer", &h.start_container},
      {"poststart", &h.poststart}, {"poststop", &h.poststop}};
  for (const auto& [name, list] : all)
    for (size_t i = 0; i < list->size(); ++i) {
      std::string f = idx(std::string("hooks.") + name, i);
      const Hook& hook = (*list)[i];
      if (hook.path.empty() || hook.path[0] != '/') return field_error(f + ".path", "must be an absolute path");
      if (hook.timeout && *hook.timeout <= 0) return field_error(f + ".timeout", "must be greater than zero");
    }
  return core::ok();
}

Status check_namespaces(const LinuxConfig& l) {
  std::set<std::string> seen;
  for (size_t i = 0; i < l.namespaces.size(); ++i) {
    const auto& ns = l.namespaces[i];
    std::string f = idx("linux.namespaces", i);
    if (!contains(known_namespaces(), ns.type))
      return field_error(f + ".type", "unknown namespace type " + quote_value(ns.type));
    if (!seen.insert(ns.type).second) return field_error(f + ".type", "duplicate namespace " + quote_value(ns.type));
    if (!ns.path.empty() && ns.path[0] != '/') return field_error(f + ".path", "must be an absolute path");
  }
  bool userns = l.has_namespace("user");
  if (!userns && (!l.uid_mappings.empty() || !l.gid_mappings.empty()))
    return field_error("linux.uidMappings", "requires a user namespace");
  if (userns && l.find_namespace("user")->path.empty() && (l.uid_mappings.empty() || l.gid_mappings.empty()))
    return field_error("linux.uidMappings", "a new user namespace needs uidMappings and gidMappings");
  return core::ok();
}

Status check_block_io(const BlockIoResources& b) {
  auto in_range = [](const std::optional<uint16_t>& w) { return !w || (*w >= 10 && *w <= 1000); };
  if (!in_range(b.weight)) return field_error("linux.resources.blockIO.weight", "must be 10..1000");
  if (!in_range(b.leaf_weight)) return field_error("linux.resources.blockIO.leafWeight", "must be 10..1000");
  for (size_t i = 0; i < b.weight_devices.size(); ++i) {
    const auto& d = b.weight_devices[i];
    std::string f = idx("linux.resources.blockIO.weightDevice", i);
    if (!d.weight && !d.leaf_weight) return field_error(f, "needs weight or leafWeight");
    if (!in_range(d.weight)) return field_error(f + ".weight", "must be 10..1000");
    if (!in_range(d.leaf_weight)) return field_error(f + ".leafWeight", "must be 10..1000");
  }
  return core::ok();
}

Status check_resources(const Resources& r) {
  for (size_t i = 0; i < r.devices.size(); ++i) {
    const auto& d = r.devices[i];
    std::string f = idx("linux.resources.devices", i);
    if (d.type != "a" && d.type != "c" && d.type != "b") return field_error(f + ".type", "must be a, c or b");
    if (d.access.empty() || d.access.find_first_not_of("rwm") != std::string::npos)
      return field_error(f + ".access", "must be a combination of r, w and m");
  }
  if (r.memory && r.memory->swappiness && *r.memory->swappiness > 100)
    return field_error("linux.resources.memory.swappiness", "must be 0..100, got " + std::to_string(*r.memory->swappiness));
  if (r.cpu && r.cpu->quota && *r.cpu->quota == 0) return field_error("linux.resources.cpu.quota", "must not be 0");
  if (r.block_io) PVEKIT_TRY(check_block_io(*r.block_io));
  for (size_t i = 0; i < r.hugepage_limits.size(); ++i) {
    const std::string& size = r.hugepage_limits[i].page_size;
    auto digits = size.find_first_not_of("0123456789");
    if (digits == 0 || digits == std::string::npos ||
        (size.substr(digits) != "KB" && size.substr(digits) != "MB" && size.substr(digits) != "GB"))
      return field_error(idx("linux.resources.hugepageLimits", i) + ".pageSize",
                         "want a size as the hugetlb files name it (\"2MB\", \"1GB\"), got " + quote_value(size));
  }
  if (r.network)
    for (size_t i = 0; i < r.network->priorities.size(); ++i)
      if (r.network->priorities[i].first.empty())
        return field_error(idx("linux.resources.network.priorities", i) + ".name", "must not be empty");
  for (const auto& [file, value] : r.unified) {
    // A file of the container's own cgroup, never a path: "memory.high", not "../x".
    if (file.find('/') != std::string::npos || file.find('.') == std::string::npos || file.front() == '.')
      return field_error("linux.resources.unified", quote_value(file) + " is not a cgroup v2 file name");
    if (file.rfind("cgroup.", 0) == 0 && file != "cgroup.max.depth" && file != "cgroup.max.descendants")
      return field_error("linux.resources.unified", quote_value(file) + " is managed by the runtime");
  }
  return core::ok();
}

// SCMP_ACT_NOTIFY: lxcri's init loads the filter and then hands the listener to
// the runtime with one sendmsg (which passes it on to the agent). A notification
// raised before that hand-over would wait for an agent that cannot have the
// listener yet, so the default action (runc refuses it too) and sendmsg cannot notify.
Status check_seccomp_notify(const Seccomp& s) {
  const std::string field = "linux.seccomp.listenerPath";
  if (!s.listener_path.empty()) {
    if (s.listener_path[0] != '/')
      return field_error(field, "must be an absolute path, got " + quote_value(s.listener_path));
    if (s.listener_path.size() >= sizeof(sockaddr_un::sun_path))
      return field_error(field, "longer than a unix socket path can be (" +
                                    std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes)");
  }
  if (s.uses_notify() && s.listener_path.empty())
    return field_error(field, "is required when an action is SCMP_ACT_NOTIFY");
  if (s.default_action == "SCMP_ACT_NOTIFY")
    return field_error("linux.seccomp.defaultAction",
                       "SCMP_ACT_NOTIFY cannot be the default action (the init's hand-over of the listener would "
                       "wait on it); list the syscalls to notify instead");
  for (size_t i = 0; i < s.syscalls.size(); ++i) {
    const auto& sc = s.syscalls[i];
    if (sc.action != "SCMP_ACT_NOTIFY") continue;
    for (size_t j = 0; j < sc.names.size(); ++j)
      if (sc.names[j] == "sendmsg")
        return field_error(idx(idx("linux.seccomp.syscalls", i) + ".names", j),
                           "SCMP_ACT_NOTIFY cannot be used for sendmsg: the init hands the listener to the runtime "
                           "with it, before an agent could answer");
  }
  return core::ok();
}

Status check_seccomp(const Seccomp& s) {
  if (!contains(known_seccomp_actions(), s.default_action))
    return field_error("linux.seccomp.defaultAction", "unknown action " + quote_value(s.default_action));
  for (size_t i = 0; i < s.flags.size(); ++i) {
    if (!contains(known_seccomp_flags(), s.flags[i]))
      return field_error(idx("linux.seccomp.flags", i),
                         "unsupported flag " + quote_value(s.flags[i]) + " (supported: " + core::join(known_seccomp_flags(), ", ") +
                             ")");
  }
  for (size_t i = 0; i < s.syscalls.size(); ++i) {
    std::string f = idx("linux.seccomp.syscalls", i);
    const auto& sc = s.syscalls[i];
    if (!contains(known_seccomp_actions(), sc.action))
      return field_error(f + ".action", "unknown action " + quote_value(sc.action));
    for (size_t j = 0; j < sc.args.size(); ++j) {
      if (!contains(known_seccomp_operators(), sc.args[j].op))
        return field_error(idx(f + ".args", j) + ".op", "unknown operator " + quote_value(sc.args[j].op));
      if (sc.args[j].index > 5) return field_error(idx(f + ".args", j) + ".index", "must be between 0 and 5");
    }
  }
  return check_seccomp_notify(s);
}

Status check_paths(const std::string& field, const std::vector<std::string>& paths) {
  for (size_t i = 0; i < paths.size(); ++i) PVEKIT_TRY(check_container_path(idx(field, i), paths[i]));
  return core::ok();
}

Status check_linux(const LinuxConfig& l) {
  PVEKIT_TRY(check_namespaces(l));
  for (size_t i = 0; i < l.devices.size(); ++i) {
    std::string f = idx("linux.devices", i);
    PVEKIT_TRY(check_container_path(f + ".path", l.devices[i].path));
    const std::string& t = l.devices[i].type;
    if (t != "c" && t != "b" && t != "u" && t != "p") return field_error(f + ".type", "must be c, b, u or p");
  }
  if (has_dotdot(l.cgroups_path)) return field_error("linux.cgroupsPath", "must not contain \"..\"");
  if (l.resources) PVEKIT_TRY(check_resources(*l.resources));
  static const std::vector<std::string> propagations = {
      "", "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"};
  if (!contains(propagations, l.rootfs_propagation))
    return field_error("linux.rootfsPropagation", "unknown propagation " + quote_value(l.rootfs_propagation));
  PVEKIT_TRY(check_paths("linux.maskedPaths", l.masked_paths));
  PVEKIT_TRY(check_paths("linux.readonlyPaths", l.readonly_paths));
  for (const auto& [key, value] : l.sysctl)
    if (key.empty() || has_dotdot(key) || key.find('/') == 0)
      return field_error(field_member("linux.sysctl", key), "invalid sysctl name");
  if (l.seccomp) PVEKIT_TRY(check_seccomp(*l.seccomp));
  return core::ok();
}

}  // namespace

Status validate_spec(const Spec& spec) {
  if (spec.oci_version.rfind("1.", 0) != 0)
    return field_error("ociVersion", "unsupported version " + quote_value(spec.oci_version) + " (need 1.x)");
  if (spec.root.path.empty()) return field_error("root.path", "must not be empty");
  if (spec.process) PVEKIT_TRY(check_process(*spec.process));
  for (size_t i = 0; i < spec.mounts.size(); ++i)
    PVEKIT_TRY(check_container_path(idx("mounts", i) + ".destination", spec.mounts[i].destination));
  PVEKIT_TRY(check_hooks(spec.hooks));
  if (spec.linux) PVEKIT_TRY(check_linux(*spec.linux));
  // A uts namespace joined by path is the container's to name, as with runc.
  bool uts = spec.linux && spec.linux->find_namespace("uts");
  if (!spec.hostname.empty() && !uts)
    return field_error("hostname", "setting the hostname needs a uts namespace");
  if (!spec.domainname.empty() && !uts)
    return field_error("domainname", "setting the domainname needs a uts namespace");
  return core::ok();
}

const std::vector<std::string>& known_namespaces() {
  static const std::vector<std::string> v = {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"};
  return v;
}

const std::vector<std::string>& known_capabilities() {
  static const std::vector<std::string> v = {
      "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
      "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
      "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
      "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
      "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
      "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
      "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
      "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"};
  return v;
}

const std::vector<std::string>& known_rlimits() {
  static const std::vector<std::string> v = {
      "RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_LOCKS",
      "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC",
      "RLIMIT_RSS", "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK"};
  return v;
}

const std::vector<std::string>& known_seccomp_actions() {
  static const std::vector<std::string> v = {
      "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
      "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"};
  return v;
}

// The filter flags libseccomp 2.5 can set (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
// needs 2.6; libseccomp adds NEW_LISTENER itself when an action is SCMP_ACT_NOTIFY).
const std::vector<std::string>& known_seccomp_flags() {
  static const std::vector<std::string> v = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                             "SECCOMP_FILTER_FLAG_TSYNC"};
  return v;
}

const std::vector<std::string>& known_seccomp_operators() {
  static const std::vector<std::string> v = {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE",
                                             "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"};
  return v;
}

const std::vector<std::string>& known_hooks() {
  static const std::vector<std::string> v = {"prestart", "createRuntime", "createContainer",
                                             "startContainer", "poststart", "poststop"};
  return v;
}

}  // namespace pvekit::oci
