#include "oci/linux/mounts.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <map>

#include "core/strings.h"

namespace pvekit::oci::linux {

using core::Error;
using core::Status;

namespace {

struct Flag {
  bool clear;
  unsigned long value;
};

const std::map<std::string, Flag>& flag_table() {
  static const std::map<std::string, Flag> flags = {
      {"defaults", {false, 0}}, {"ro", {false, MS_RDONLY}}, {"rw", {true, MS_RDONLY}},
      {"nosuid", {false, MS_NOSUID}}, {"suid", {true, MS_NOSUID}}, {"nodev", {false, MS_NODEV}},
      {"dev", {true, MS_NODEV}}, {"noexec", {false, MS_NOEXEC}}, {"exec", {true, MS_NOEXEC}},
      {"sync", {false, MS_SYNCHRONOUS}}, {"async", {true, MS_SYNCHRONOUS}},
      {"dirsync", {false, MS_DIRSYNC}}, {"remount", {false, MS_REMOUNT}},
      {"mand", {false, MS_MANDLOCK}}, {"nomand", {true, MS_MANDLOCK}},
      {"noatime", {false, MS_NOATIME}}, {"atime", {true, MS_NOATIME}},
      {"nodiratime", {false, MS_NODIRATIME}}, {"diratime", {true, MS_NODIRATIME}},
      {"relatime", {false, MS_RELATIME}}, {"norelatime", {true, MS_RELATIME}},
      {"strictatime", {false, MS_STRICTATIME}}, {"nostrictatime", {true, MS_STRICTATIME}},
      {"lazytime", {false, MS_LAZYTIME}}, {"nolazytime", {true, MS_LAZYTIME}},
      {"nosymfollow", {false, MS_NOSYMFOLLOW}}, {"symfollow", {true, MS_NOSYMFOLLOW}},
      {"silent", {false, MS_SILENT}}, {"loud", {true, MS_SILENT}}};
  return flags;
}

// runc's recursive options, as mount_setattr attributes.
struct RecursiveAttr {
  uint64_t set, clear;
};
const std::map<std::string, RecursiveAttr>& recursive_table() {
  static const std::map<std::string, RecursiveAttr> attrs = {
      {"rro", {MOUNT_ATTR_RDONLY, 0}},           {"rrw", {0, MOUNT_ATTR_RDONLY}},
      {"rnosuid", {MOUNT_ATTR_NOSUID, 0}},       {"rsuid", {0, MOUNT_ATTR_NOSUID}},
      {"rnodev", {MOUNT_ATTR_NODEV, 0}},         {"rdev", {0, MOUNT_ATTR_NODEV}},
      {"rnoexec", {MOUNT_ATTR_NOEXEC, 0}},       {"rexec", {0, MOUNT_ATTR_NOEXEC}},
      {"rnodiratime", {MOUNT_ATTR_NODIRATIME, 0}}, {"rdiratime", {0, MOUNT_ATTR_NODIRATIME}},
      {"rnosymfollow", {MOUNT_ATTR_NOSYMFOLLOW, 0}}, {"rsymfollow", {0, MOUNT_ATTR_NOSYMFOLLOW}},
      // The atime mode is one field: clearing it all and setting one value picks the mode.
      {"rnoatime", {MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME}},
      {"rrelatime", {MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME}},
      {"ratime", {MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME}},
      {"rstrictatime", {MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME}},
  };
  return attrs;
}

const std::map<std::string, unsigned long>& propagation_table() {
  static const std::map<std::string, unsigned long> propagation = {
      {"private", MS_PRIVATE}, {"rprivate", MS_PRIVATE | MS_REC}, {"shared", MS_SHARED},
      {"rshared", MS_SHARED | MS_REC}, {"slave", MS_SLAVE}, {"rslave", MS_SLAVE | MS_REC},
      {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC}};
  return propagation;
}

// Bare-word options of the filesystems whose option sets we know; anything
// else without a "=" is a mistake there ("tmpcopyup" once reached tmpfs as data).
const std::map<std::string, std::vector<std::string>>& known_fs_words() {
  static const std::map<std::string, std::vector<std::string>> words = {
      {"tmpfs", {"inode32", "inode64", "noswap", "quota", "usrquota", "grpquota"}},
      {"devpts", {"newinstance"}},
      {"proc", {}},
      {"sysfs", {}},
      {"mqueue", {}},
      {"cgroup", {}},
      {"cgroup2", {"nsdelegate", "memory_recursiveprot", "favordynmods", "memory_localevents"}},
  };
  return words;
}

}  // namespace

core::Status check_mount_options(const Mount& mount, size_t index) {
  MountFlags f = parse_mount_options(mount.options);
  std::string field = "mounts[" + std::to_string(index) + "].options";
  auto refuse = [&](const std::string& why) {
    return Error(core::ErrorCategory::Config, field + ": " + why).with_detail("field", field);
  };
  if (f.copy_up && (f.bind || mount.type != "tmpfs"))
    return refuse("tmpcopyup applies to tmpfs mounts only, not to " + mount.destination);
  const auto& words = known_fs_words();
  auto fs = words.find(mount.type);
  bool known_set = f.bind || mount.type == "bind" || fs != words.end();
  if (!known_set) return core::ok();
  for (const auto& word : f.unknown) {
    bool fs_word = fs != words.end() && std::find(fs->second.begin(), fs->second.end(), word) != fs->second.end();
    if (!fs_word)
      return refuse("unknown option \"" + word + "\" for the " + (f.bind ? std::string("bind") : mount.type) +
                    " mount at " + mount.destination);
  }
  return core::ok();
}

std::vector<std::string> known_mount_options() {
  std::vector<std::string> out = {"bind", "rbind", "tmpcopyup"};
  for (const auto& [name, flag] : flag_table()) out.push_back(name);
  for (const auto& [name, flag] : propagation_table()) out.push_back(name);
  for (const auto& [name, attr] : recursive_table()) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

MountFlags parse_mount_options(const std::vector<std::string>& options) {
  const auto& flags = flag_table();
  const auto& propagation = propagation_table();
  MountFlags out;
  std::vector<std::string> data;
  for (const auto& opt : options) {
    if (opt == "bind" || opt == "rbind") {
      out.bind = true;
      out.recursive = out.recursive || opt == "rbind";
    } else if (auto f = flags.find(opt); f != flags.end()) {
      if (f->second.clear) out.flags &= ~f->second.value;
      else out.flags |= f->second.value;
    } else if (auto p = propagation.find(opt); p != propagation.end()) {
      out.propagation = p->second;
    } else if (opt == "tmpcopyup") {
      out.copy_up = true;
    } else if (auto r = recursive_table().find(opt); r != recursive_table().end()) {
      out.recursive_set = (out.recursive_set & ~r->second.clear) | r->second.set;
      out.recursive_clear = (out.recursive_clear & ~r->second.set) | r->second.clear;
    } else {
      if (opt.find('=') == std::string::npos) out.unknown.push_back(opt);
      data.push_back(opt);
    }
  }
  out.data = core::join(data, ",");
  return out;
}

const std::vector<Device>& default_devices() {
  static const std::vector<Device> devices = {
      {"/dev/null", "c", 1, 3, 0666, 0, 0},    {"/dev/zero", "c", 1, 5, 0666, 0, 0},
      {"/dev/full", "c", 1, 7, 0666, 0, 0},    {"/dev/random", "c", 1, 8, 0666, 0, 0},
      {"/dev/urandom", "c", 1, 9, 0666, 0, 0}, {"/dev/tty", "c", 5, 0, 0666, 0, 0}};
  return devices;
}

namespace {

MountOp device_op(const Device& d, bool bind) {
  MountOp op;
  op.kind = MountOp::Kind::Device;
  op.target = d.path;
  op.dev_type = d.type.empty() ? 'c' : d.type[0];
  op.major = d.major;
  op.minor = d.minor;
  op.mode = d.file_mode.value_or(0666) & 07777;
  op.uid = d.uid.value_or(0);
  op.gid = d.gid.value_or(0);
  op.bind_device = bind;
  return op;
}

MountOp simple_op(MountOp::Kind kind, std::string source, std::string target) {
  MountOp op;
  op.kind = kind;
  op.source = std::move(source);
  op.target = std::move(target);
  return op;
}

void plan_cgroup_mount(const Mount& m, const MountContext& ctx, std::vector<MountOp>& ops) {
  MountFlags f = parse_mount_options(m.options);
  if (ctx.cgroup_binds.empty()) {
    ops.push_back({.kind = MountOp::Kind::Mount, .source = "cgroup2", .target = m.destination,
                   .fstype = "cgroup2", .flags = MountFlags{.flags = f.flags}});
    return;
  }
  // v1: a tmpfs holding one bind mount per controller, as runc does.
  unsigned long base = f.flags & ~static_cast<unsigned long>(MS_RDONLY);
  ops.push_back({.kind = MountOp::Kind::Mount, .source = "tmpfs", .target = m.destination,
                 .fstype = "tmpfs", .flags = MountFlags{.flags = base, .data = "mode=755"}});
  for (const auto& [host, name] : ctx.cgroup_binds)
    ops.push_back({.kind = MountOp::Kind::CgroupBind, .source = host, .target = m.destination + "/" + name,
                   .flags = MountFlags{.flags = f.flags, .bind = true}});
  if (f.flags & MS_RDONLY)
    ops.push_back({.kind = MountOp::Kind::Mount, .target = m.destination,
                   .flags = MountFlags{.flags = base | MS_REMOUNT | MS_RDONLY}});
}

bool mounts_dev(const Spec& spec) {
  for (const auto& m : spec.mounts)
    if (m.destination == "/dev") return true;
  return false;
}

bool mounts_devpts(const Spec& spec) {
  for (const auto& m : spec.mounts)
    if (m.destination == "/dev/pts") return true;
  return false;
}

void plan_devices(const Spec& spec, const MountContext& ctx, std::vector<MountOp>& ops) {
  if (mounts_dev(spec)) {
    for (const auto& d : default_devices()) ops.push_back(device_op(d, ctx.user_namespace));
    const std::pair<const char*, const char*> links[] = {{"/proc/self/fd", "/dev/fd"},
                                                         {"/proc/self/fd/0", "/dev/stdin"},
                                                         {"/proc/self/fd/1", "/dev/stdout"},
                                                         {"/proc/self/fd/2", "/dev/stderr"}};
    for (const auto& [target, link] : links) ops.push_back(simple_op(MountOp::Kind::Symlink, target, link));
    if (mounts_devpts(spec)) ops.push_back(simple_op(MountOp::Kind::Symlink, "pts/ptmx", "/dev/ptmx"));
  }
  if (spec.linux)
    for (const auto& d : spec.linux->devices) ops.push_back(device_op(d, ctx.user_namespace));
}

}  // namespace

std::vector<MountOp> plan_mounts(const Spec& spec, const MountContext& ctx) {
  std::vector<MountOp> ops;
  MountOp prop = simple_op(MountOp::Kind::RootPropagation, "", "/");
  prop.flags.propagation = MS_SLAVE | MS_REC;
  if (spec.linux && !spec.linux->rootfs_propagation.empty())
    prop.flags.propagation = parse_mount_options({spec.linux->rootfs_propagation}).propagation;
  ops.push_back(prop);
  ops.push_back(simple_op(MountOp::Kind::BindRootfs, ctx.rootfs, ctx.rootfs));
  for (const auto& m : spec.mounts) {
    if (m.type == "cgroup") {
      plan_cgroup_mount(m, ctx, ops);
      continue;
    }
    MountFlags flags = parse_mount_options(m.options);
    bool labelled = m.type == "tmpfs" || m.type == "devpts" || m.type == "mqueue";
    if (!ctx.mount_label.empty() && labelled && !flags.bind)
      flags.data += (flags.data.empty() ? "" : ",") + std::string("context=\"") + ctx.mount_label + "\"";
    ops.push_back({.kind = MountOp::Kind::Mount, .source = m.source, .target = m.destination,
                   .fstype = m.type, .flags = flags});
  }
  plan_devices(spec, ctx, ops);
  if (spec.linux) {
    for (const auto& p : spec.linux->masked_paths) ops.push_back(simple_op(MountOp::Kind::MaskPath, "", p));
    for (const auto& p : spec.linux->readonly_paths)
      ops.push_back(simple_op(MountOp::Kind::ReadonlyPath, "", p));
  }
  MountOp pivot = simple_op(MountOp::Kind::PivotRoot, ctx.rootfs, ctx.rootfs);
  pivot.no_pivot = ctx.no_pivot;
  ops.push_back(pivot);
  if (spec.root.readonly) ops.push_back(simple_op(MountOp::Kind::RemountRootReadonly, "", "/"));
  return ops;
}

std::optional<HoldingMount> mount_holding(const std::string& mountinfo, const std::string& path) {
  std::optional<HoldingMount> best;
  for (const auto& line : core::split(mountinfo, '\n', true)) {
    auto fields = core::split(line, ' ', true);
    auto sep = std::find(fields.begin(), fields.end(), "-");
    if (fields.size() < 5 || sep == fields.end() || sep - fields.begin() < 6) continue;
    const std::string& point = fields[4];
    bool holds = point == "/" || path == point || path.rfind(point + "/", 0) == 0;
    if (!holds || (best && point.size() < best->mount_point.size())) continue;
    bool shared = std::any_of(fields.begin() + 6, sep, [](const std::string& f) { return f.rfind("shared:", 0) == 0; });
    best = HoldingMount{point, shared};
  }
  return best;
}

}  // namespace pvekit::oci::linux
