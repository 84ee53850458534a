#include "oci/proxmox/spec_map.h"

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

#include "core/strings.h"
#include "pve/tags.h"

namespace pvekit::oci::proxmox {
namespace {

using core::Error;
using core::ErrorCategory;
using core::Json;

constexpr int64_t kMiB = 1024 * 1024;

Error refuse(const std::string& field, const std::string& why) {
  return Error(ErrorCategory::Config, "config.json: " + field + ": " + why + " (proxmox backend)");
}

bool has_control_char(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u <= 0x08) || (u >= 0x10 && u <= 0x1f) || u == 0x7f;
  });
}

bool has_space(const std::string& s) { return s.find_first_of(" \t\n\r\v\f") != std::string::npos; }

// With a tar.gz template the process goes into the create call: PVE's
// entrypoint is split on whitespace, without quoting. With an OCI image
// archive it goes into the image config, and PVE 9.1 builds the entrypoint
// as Entrypoint[0] followed by the other words in double quotes (unescaped),
// and takes WorkingDir as the init's cwd.
core::Status map_process(const Process& p, TemplateFormat format, pve::LxcCreateOptions& o) {
  const bool oci = format == TemplateFormat::Oci;
  if (p.terminal) return refuse("process.terminal", "a Proxmox container has no terminal link to lxcri; set false");
  if (p.args.empty()) return refuse("process.args", "must not be empty");
  for (size_t i = 0; i < p.args.size(); ++i) {
    const auto& a = p.args[i];
    const std::string field = "process.args[" + std::to_string(i) + "]";
    if (a.empty() || has_control_char(a) || a.find_first_of("\n\r") != std::string::npos)
      return refuse(field, "must be a non-empty word without control characters, got \"" + a + "\"");
    if (!oci && has_space(a))
      return refuse(field, "PVE's entrypoint splits on whitespace: arguments must be words, got \"" + a +
                               "\" (proxmox.template_format oci keeps them whole after the first)");
    if (oci && i == 0 && has_space(a))
      return refuse(field, "PVE takes the first word of the entrypoint unquoted: no whitespace, got \"" + a + "\"");
    if (oci && a.find('"') != std::string::npos)
      return refuse(field, "PVE quotes the entrypoint's arguments without escaping: no '\"', got " + a);
  }
  if (!oci) o.entrypoint = core::join(p.args, " ");
  static const std::regex kEnv(R"(^\w+=.*$)");
  std::string env;
  for (size_t i = 0; i < p.env.size(); ++i) {
    if (!std::regex_match(p.env[i], kEnv) || has_control_char(p.env[i]))
      return refuse("process.env[" + std::to_string(i) + "]", "expected NAME=value (NAME of [A-Za-z0-9_])");
    if (i) env.push_back('\0');
    env += p.env[i];
  }
  if (!oci && !env.empty()) o.extra["env"] = env;
  if (!oci && p.cwd != "/")
    return refuse("process.cwd", "PVE's API has no working directory setting; only \"/\" works "
                                 "(proxmox.template_format oci carries it in the image)");
  if (p.user.uid != 0 || p.user.gid != 0)
    return refuse("process.user", "PVE runs the entrypoint as root (uid 0, gid 0)");
  if (std::any_of(p.user.additional_gids.begin(), p.user.additional_gids.end(), [](uint32_t g) { return g != 0; }))
    return refuse("process.user.additionalGids", "PVE's API cannot set supplementary groups");
  if (p.user.umask) return refuse("process.user.umask", "PVE's API has no umask setting");
  if (p.capabilities) {
    // PVE drops these for every container (lxc.cap.drop); asking for them cannot be honoured.
    static const std::set<std::string> kDropped = {"CAP_SYS_TIME", "CAP_SYS_MODULE", "CAP_SYS_RAWIO",
                                                   "CAP_MAC_ADMIN", "CAP_MAC_OVERRIDE"};
    for (const auto* set : {&p.capabilities->bounding, &p.capabilities->effective, &p.capabilities->permitted,
                            &p.capabilities->inheritable, &p.capabilities->ambient}) {
      for (const auto& cap : *set) {
        if (kDropped.count(cap)) return refuse("process.capabilities", cap + " is always dropped by PVE");
      }
    }
  }
  for (size_t i = 0; i < p.rlimits.size(); ++i) {
    if (p.rlimits[i].type != "RLIMIT_NOFILE")
      return refuse("process.rlimits[" + std::to_string(i) + "]",
                    p.rlimits[i].type + " cannot be set through PVE's API (only RLIMIT_NOFILE is accepted)");
  }
  if (p.oom_score_adj) return refuse("process.oomScoreAdj", "PVE's API has no OOM score setting");
  return core::ok();
}

bool is_default_mount(const Mount& m) {
  static const std::set<std::pair<std::string, std::string>> kProvided = {
      {"/proc", "proc"},   {"/dev", "tmpfs"},  {"/dev/pts", "devpts"}, {"/dev/shm", "tmpfs"},
      {"/dev/mqueue", "mqueue"}, {"/sys", "sysfs"}, {"/sys/fs/cgroup", "cgroup"}, {"/sys/fs/cgroup", "cgroup2"}};
  return kProvided.count({m.destination, m.type}) > 0;
}

core::Status map_mounts(const std::vector<Mount>& mounts, pve::LxcCreateOptions& o) {
  static const std::set<std::string> kBindOptions = {"bind", "rbind", "ro", "rw", "private", "rprivate",
                                                     "slave", "rslave"};
  int index = 0;
  for (size_t i = 0; i < mounts.size(); ++i) {
    const Mount& m = mounts[i];
    const std::string field = "mounts[" + std::to_string(i) + "]";
    if (is_default_mount(m)) continue;  // LXC mounts these itself
    const bool bind = m.type == "bind" || std::any_of(m.options.begin(), m.options.end(), [](const std::string& x) {
                        return x == "bind" || x == "rbind";
                      });
    if (!bind)
      return refuse(field, "type \"" + m.type + "\" at " + m.destination +
                               " has no PVE equivalent (only bind mounts of host paths become mpN)");
    if (m.source.empty() || m.source[0] != '/')
      return refuse(field + ".source", "a bind mount needs an absolute host path, got \"" + m.source + "\"");
    if (m.source.find_first_of(",=") != std::string::npos || m.destination.find_first_of(",=") != std::string::npos)
      return refuse(field, "paths with ',' or '=' cannot be written as a PVE mount point");
    bool ro = false;
    for (const auto& opt : m.options) {
      if (!kBindOptions.count(opt))
        return refuse(field + ".options", "\"" + opt + "\" has no PVE mount point equivalent");
      if (opt == "ro") ro = true;
    }
    if (index >= 256) return refuse(field, "PVE allows at most 256 mount points");
    o.mp[index++] = m.source + ",mp=" + m.destination + (ro ? ",ro=1" : "");
  }
  return core::ok();
}

int64_t count_cpus(const std::string& list) {
  int64_t n = 0;
  for (const auto& part : core::split(list, ',', true)) {
    auto dash = part.find('-');
    auto lo = core::parse_int(part.substr(0, dash));
    auto hi = dash == std::string::npos ? lo : core::parse_int(part.substr(dash + 1));
    if (!lo || !hi || *hi < *lo) return -1;
    n += *hi - *lo + 1;
  }
  return n;
}

core::Status map_resources(const Resources& r, pve::LxcCreateOptions& o) {
  for (size_t i = 0; i < r.devices.size(); ++i) {
    if (r.devices[i].allow)
      return refuse("linux.resources.devices[" + std::to_string(i) + "]",
                    "device allow rules cannot be set through PVE's API (use org.pvekit.proxmox.devN)");
  }
  if (r.memory) {
    const auto& m = *r.memory;
    if (m.limit && *m.limit > 0) {
      const int64_t mib = (*m.limit + kMiB - 1) / kMiB;
      if (mib < 16) return refuse("linux.resources.memory.limit", "PVE needs at least 16 MiB");
      o.memory = mib;
      if (m.swap && *m.swap >= 0) {
        if (*m.swap < *m.limit)
          return refuse("linux.resources.memory.swap", "memory+swap must not be below memory.limit");
        o.swap = (*m.swap - *m.limit) / kMiB;
      } else if (m.swap) {
        return refuse("linux.resources.memory.swap", "unlimited swap cannot be expressed; give a size");
      }
    } else if (m.swap) {
      return refuse("linux.resources.memory.swap", "needs memory.limit (PVE sets swap beside memory)");
    }
    if (m.reservation) return refuse("linux.resources.memory.reservation", "PVE's API has no memory reservation");
    if (m.swappiness) return refuse("linux.resources.memory.swappiness", "PVE's API has no swappiness setting");
    if (m.disable_oom_killer && *m.disable_oom_killer)
      return refuse("linux.resources.memory.disableOOMKiller", "PVE's API cannot disable the OOM killer");
  }
  if (r.cpu) {
    const auto& c = *r.cpu;
    if (c.shares) {
      if (*c.shares < 2 || *c.shares > 262144)
        return refuse("linux.resources.cpu.shares", "PVE's cpuunits take 2..262144");
      o.extra["cpuunits"] = std::to_string(*c.shares);
    }
    if (c.quota && *c.quota > 0) {
      const uint64_t period = c.period.value_or(100000);
      if (period == 0) return refuse("linux.resources.cpu.period", "must be positive");
      o.cpulimit = static_cast<double>(*c.quota) / static_cast<double>(period);
    }
    if (!c.cpus.empty()) {
      const int64_t n = count_cpus(c.cpus);
      if (n <= 0 || n > 8192) return refuse("linux.resources.cpu.cpus", "expected a CPU list like 0-3, got \"" + c.cpus + "\"");
      o.cores = n;  // PVE picks which cores; only the count carries over
    }
    if (!c.mems.empty()) return refuse("linux.resources.cpu.mems", "PVE's API cannot pin memory nodes");
  }
  if (r.pids_limit && *r.pids_limit > 0)
    return refuse("linux.resources.pids.limit", "PVE's API has no pids limit");
  return core::ok();
}

core::Status map_linux(const LinuxConfig& l, const ProxmoxSettings& settings, pve::LxcCreateOptions& o) {
  for (size_t i = 0; i < l.namespaces.size(); ++i) {
    if (!l.namespaces[i].path.empty())
      return refuse("linux.namespaces[" + std::to_string(i) + "]",
                    "joining an existing " + l.namespaces[i].type + " namespace is not possible on PVE");
  }
  for (const char* ns : {"pid", "network", "mount"}) {
    if (!l.has_namespace(ns))
      return refuse("linux.namespaces", std::string("sharing the host's ") + ns +
                                            " namespace is not possible on PVE (add a new one)");
  }
  o.unprivileged = l.has_namespace("user") || settings.unprivileged;
  if (!l.devices.empty()) return refuse("linux.devices", "use org.pvekit.proxmox.devN annotations for devices");
  if (l.resources) PVEKIT_TRY(map_resources(*l.resources, o));
  if (!l.sysctl.empty()) return refuse("linux.sysctl", "PVE's API cannot set sysctls");
  if (l.seccomp) return refuse("linux.seccomp", "PVE applies its own seccomp profile");
  if (!l.rootfs_propagation.empty()) return refuse("linux.rootfsPropagation", "PVE's API has no such setting");
  return core::ok();
}

// Keys lxcri sets itself and an annotation must not change.
const std::set<std::string>& reserved_keys() {
  static const std::set<std::string> keys = {"vmid", "ostemplate", "tags", "description", "start",
                                             "restore", "template", "force", "unique"};
  return keys;
}

std::optional<int> indexed(const std::string& key, const std::string& prefix) {
  if (!core::starts_with(key, prefix) || key.size() == prefix.size()) return std::nullopt;
  auto n = core::parse_int(key.substr(prefix.size()));
  if (!n || *n < 0) return std::nullopt;
  return static_cast<int>(*n);
}

core::Status apply_annotation(const std::string& key, const std::string& value, bool env_from_spec,
                              pve::LxcCreateOptions& o) {
  const std::string field = std::string("annotations[") + kOptionAnnotationPrefix + key + "]";
  static const std::regex kKey("^[a-z][a-z0-9-]*$");
  if (!std::regex_match(key, kKey)) return refuse(field, "not a PVE option name");
  if (reserved_keys().count(key)) return refuse(field, "'" + key + "' is set by lxcri itself");
  auto conflict = [&](const std::string& from) {
    return refuse(field, "'" + key + "' is already set from " + from + "; remove one of them");
  };
  auto as_int = [&](std::optional<int64_t>& out) -> core::Status {
    auto n = core::parse_int(value);
    if (!n) return refuse(field, "expected an integer, got \"" + value + "\"");
    out = *n;
    return core::ok();
  };
  // Settings from lxcri's config are defaults an annotation replaces; values
  // from the spec are not, so the spec and the annotation cannot disagree silently.
  if (auto i = indexed(key, "net")) {
    o.net[*i] = value;
  } else if (key == "ostype") {
    o.ostype = value;
  } else if (key == "pool") {
    o.pool = value;
  } else if (key == "rootfs") {
    o.rootfs = value;
  } else if (key == "unprivileged") {
    auto b = core::parse_bool(value);
    if (!b) return refuse(field, "expected 0 or 1");
    o.unprivileged = *b;
  } else if (auto m = indexed(key, "mp")) {
    if (o.mp.count(*m)) return conflict("mounts");
    o.mp[*m] = value;
  } else if (key == "hostname") {
    if (!o.hostname.empty()) return conflict("hostname");
    o.hostname = value;
  } else if (key == "memory" || key == "swap" || key == "cores") {
    auto& slot = key == "memory" ? o.memory : key == "swap" ? o.swap : o.cores;
    if (slot) return conflict("linux.resources");
    PVEKIT_TRY(as_int(slot));
  } else if (key == "cpulimit") {
    if (o.cpulimit) return conflict("linux.resources.cpu.quota");
    auto d = core::parse_double(value);
    if (!d) return refuse(field, "expected a number");
    o.cpulimit = *d;
  } else if (key == "entrypoint") {
    return conflict("process.args");
  } else if (key == "env" && env_from_spec) {
    return conflict("process.env");
  } else {
    if (o.extra.count(key)) return conflict(key == "env" ? "process.env" : "linux.resources");
    o.extra[key] = value;
  }
  return core::ok();
}

}  // namespace

core::Result<pve::LxcCreateOptions> map_spec(const Spec& spec, const ProxmoxSettings& settings) {
  pve::LxcCreateOptions o;
  o.hostname = spec.hostname;
  if (!spec.domainname.empty())
    return refuse("domainname", "PVE's API has no domain name setting (use org.pvekit.proxmox.searchdomain)");
  if (!spec.process) return refuse("process", "is required");
  PVEKIT_TRY(map_process(*spec.process, settings.template_format, o));
  PVEKIT_TRY(map_mounts(spec.mounts, o));
  const Hooks& h = spec.hooks;
  for (const auto* list : {&h.prestart, &h.create_runtime, &h.create_container, &h.start_container, &h.poststart,
                           &h.poststop}) {
    if (!list->empty()) return refuse("hooks", "hooks cannot run inside a Proxmox container's lifecycle");
  }
  o.unprivileged = settings.unprivileged;
  if (spec.linux) PVEKIT_TRY(map_linux(*spec.linux, settings, o));
  o.rootfs = settings.rootfs_storage + ":" + std::to_string(settings.rootfs_size_gib) + (spec.root.readonly ? ",ro=1" : "");
  for (size_t i = 0; i < settings.networks.size(); ++i) o.net[static_cast<int>(i)] = settings.networks[i];
  o.ostype = settings.ostype;
  o.pool = settings.pool;
  for (const auto& [key, value] : spec.annotations) {
    if (core::starts_with(key, kOptionAnnotationPrefix))
      PVEKIT_TRY(apply_annotation(key.substr(std::string(kOptionAnnotationPrefix).size()), value,
                                  !spec.process->env.empty(), o));
  }
  return o;
}

pve::OciImageConfig image_config(const Process& p) {
  pve::OciImageConfig c;
  c.entrypoint = p.args;
  c.env = p.env;
  c.working_dir = p.cwd;
  c.user = std::to_string(p.user.uid) + ":" + std::to_string(p.user.gid);
  return c;
}

std::string id_tag(const std::string& id) {
  std::string tag = "lxcri-";
  for (char c : core::to_lower(id)) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '+' || c == '.';
    tag.push_back(ok ? c : '_');
  }
  return tag;
}

namespace {
constexpr const char* kStateLine = "lxcri-state: ";
}

std::string encode_description(const Identity& i) {
  Json j = {{"id", i.id}, {"bundle", i.bundle}, {"rootfs", i.rootfs}, {"created", i.created}, {"owner", i.owner}};
  return "OCI container " + i.id + ", managed by lxcri; keep the next line.\n" + kStateLine + j.dump();
}

std::optional<Identity> decode_description(const std::string& description) {
  for (const auto& line : core::split(description, '\n')) {
    if (!core::starts_with(line, kStateLine)) continue;
    Json j = Json::parse(line.substr(std::string(kStateLine).size()), nullptr, false);
    if (!j.is_object() || !j.contains("id") || !j["id"].is_string()) return std::nullopt;
    Identity i;
    i.id = j["id"].get<std::string>();
    i.bundle = j.value("bundle", "");
    i.rootfs = j.value("rootfs", "");
    i.created = j.value("created", "");
    i.owner = j.value("owner", "");
    return i;
  }
  return std::nullopt;
}

}  // namespace pvekit::oci::proxmox
