// apply_mounts: runs a MountOp plan (see mounts.h) through Syscalls.

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "core/files.h"
#include "oci/linux/mounts.h"

namespace pvekit::oci::linux {

using core::Error;
using core::Status;

namespace {

std::string parent_of(const std::string& path) {
  auto pos = path.find_last_of('/');
  return pos == 0 || pos == std::string::npos ? "/" : path.substr(0, pos);
}

Status set_propagation(Syscalls& sys, const std::string& target, unsigned long propagation) {
  if (propagation == 0) return core::ok();
  return sys.mount("", target, "", propagation, "");
}

Status apply_bind(const MountOp& op, const std::string& target, Syscalls& sys) {
  if (sys.is_dir(op.source)) {
    PVEKIT_TRY(sys.mkdir_all(target, 0755));
  } else {
    PVEKIT_TRY(sys.mkdir_all(parent_of(target), 0755));
    PVEKIT_TRY(sys.create_file(target, 0644));
  }
  unsigned long rec = op.flags.recursive ? MS_REC : 0;
  PVEKIT_TRY(sys.mount(op.source, target, "", MS_BIND | rec, ""));
  // Bind mounts ignore most flags on the first call; a remount applies them.
  unsigned long extra = op.flags.flags & ~static_cast<unsigned long>(MS_REMOUNT);
  if (extra != 0) PVEKIT_TRY(sys.mount("", target, "", MS_BIND | MS_REMOUNT | rec | extra, ""));
  return set_propagation(sys, target, op.flags.propagation);
}

Status apply_mount(const MountOp& op, const std::string& rootfs, Syscalls& sys) {
  std::string target = secure_join(sys, rootfs, op.target);
  if (op.flags.flags & MS_REMOUNT) return sys.mount("", target, "", op.flags.flags, op.flags.data);
  if (op.flags.bind || op.kind == MountOp::Kind::CgroupBind) return apply_bind(op, target, sys);
  PVEKIT_TRY(sys.mkdir_all(target, 0755));
  PVEKIT_TRY(sys.mount(op.source, target, op.fstype, op.flags.flags, op.flags.data));
  return set_propagation(sys, target, op.flags.propagation);
}

Status apply_device(const MountOp& op, const std::string& rootfs, Syscalls& sys) {
  std::string target = secure_join(sys, rootfs, op.target);
  PVEKIT_TRY(sys.mkdir_all(parent_of(target), 0755));
  if (op.bind_device) {
    // mknod is not allowed in a user namespace: bind the host's node instead.
    PVEKIT_TRY(sys.create_file(target, 0644));
    return sys.mount(op.target, target, "", MS_BIND, "");
  }
  mode_t type = op.dev_type == 'b' ? S_IFBLK : op.dev_type == 'p' ? S_IFIFO : S_IFCHR;
  dev_t dev = makedev(static_cast<unsigned>(op.major), static_cast<unsigned>(op.minor));
  PVEKIT_TRY(sys.mknod(target, type | op.mode, dev));
  return sys.chown(target, op.uid, op.gid);
}

Status apply_mask(const MountOp& op, Syscalls& sys) {
  if (!sys.exists(op.target)) return core::ok();  // nothing to hide
  if (sys.is_dir(op.target)) return sys.mount("tmpfs", op.target, "tmpfs", MS_RDONLY, "");
  return sys.mount("/dev/null", op.target, "", MS_BIND, "");
}

Status apply_readonly(const MountOp& op, Syscalls& sys) {
  if (!sys.exists(op.target)) return core::ok();
  PVEKIT_TRY(sys.mount(op.target, op.target, "", MS_BIND | MS_REC, ""));
  return sys.mount("", op.target, "",
                   MS_BIND | MS_REMOUNT | MS_REC | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "");
}

// pivot_root (and MS_MOVE) refuse a rootfs whose parent mount is shared: with
// a shared rootfsPropagation, make only that mount private, as runc does.
Status make_parent_private(const std::string& rootfs, Syscalls& sys) {
  PVEKIT_ASSIGN(auto mountinfo, core::read_file("/proc/self/mountinfo"));
  auto parent = mount_holding(mountinfo, rootfs);
  if (!parent || !parent->shared) return core::ok();
  return sys.mount("", parent->mount_point, "", MS_PRIVATE, "");
}

Status apply_one(const MountOp& op, const std::string& rootfs, Syscalls& sys) {
  switch (op.kind) {
    case MountOp::Kind::RootPropagation: {
      PVEKIT_TRY(sys.mount("", "/", "", op.flags.propagation, ""));
      return op.flags.propagation & MS_SHARED ? make_parent_private(rootfs, sys) : core::ok();
    }
    case MountOp::Kind::BindRootfs: return sys.mount(op.source, op.target, "", MS_BIND | MS_REC, "");
    case MountOp::Kind::Mount:
    case MountOp::Kind::CgroupBind: return apply_mount(op, rootfs, sys);
    case MountOp::Kind::Device: return apply_device(op, rootfs, sys);
    case MountOp::Kind::Symlink: {
      std::string link = secure_join(sys, rootfs, op.target);
      if (sys.exists(link)) return core::ok();
      return sys.symlink(op.source, link);
    }
    case MountOp::Kind::PivotRoot: return op.no_pivot ? sys.move_root(op.target) : sys.pivot_root(op.target);
    case MountOp::Kind::MaskPath: return apply_mask(op, sys);
    case MountOp::Kind::ReadonlyPath: return apply_readonly(op, sys);
    case MountOp::Kind::RemountRootReadonly:
      return sys.mount("", "/", "", MS_BIND | MS_REMOUNT | MS_RDONLY, "");
  }
  return Error(core::ErrorCategory::Internal, "unknown mount op");
}

}  // namespace

Status apply_mounts(const std::vector<MountOp>& ops, const std::string& rootfs, Syscalls& sys) {
  for (const auto& op : ops) {
    Status s = apply_one(op, rootfs, sys);
    if (!s.ok()) return std::move(s).wrap("rootfs: " + (op.target.empty() ? op.source : op.target));
  }
  return core::ok();
}

}  // namespace pvekit::oci::linux
