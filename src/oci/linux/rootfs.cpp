// apply_mounts: runs a MountOp plan (see mounts.h) through Syscalls. Every
// container path is resolved from the rootfs descriptor (in_root.h) and
// mounted onto through the resolved descriptor, never by its path string.

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <optional>

#include "core/files.h"
#include "oci/linux/mounts.h"

namespace pvekit::oci::linux {

using core::Error;
using core::Status;

namespace {

constexpr mode_t kDirMode = 0755;

Status set_propagation(Syscalls& sys, const std::string& target, unsigned long propagation) {
  if (propagation == 0) return core::ok();
  return sys.mount("", target, "", propagation, "");
}

// A descriptor taken before a mount refers to what is under it: flags and
// propagation are set on a descriptor of the path taken again afterwards.
core::Result<UniqueFd> reopen(const Rootfs& rootfs, const std::string& path, Syscalls& sys) {
  return sys.open_in_root(rootfs.fd.get(), path, InRootOptions{});
}

// Propagation and recursive attributes, on a descriptor of what is mounted now.
Status finish_mount(const MountOp& op, int mounted_fd, Syscalls& sys) {
  PVEKIT_TRY(set_propagation(sys, fd_path(mounted_fd), op.flags.propagation));
  if (op.flags.recursive_set == 0 && op.flags.recursive_clear == 0) return core::ok();
  return sys.set_mount_attrs(mounted_fd, op.flags.recursive_set, op.flags.recursive_clear);
}

bool needs_finish(const MountOp& op) {
  return op.flags.propagation != 0 || op.flags.recursive_set != 0 || op.flags.recursive_clear != 0;
}

Status apply_bind(const MountOp& op, const Rootfs& rootfs, Syscalls& sys) {
  UniqueFd target;
  if (sys.is_dir(op.source)) {
    PVEKIT_ASSIGN(target, sys.mkdir_in_root(rootfs.fd.get(), op.target, kDirMode));
  } else {
    PVEKIT_ASSIGN(target, sys.create_file_in_root(rootfs.fd.get(), op.target, 0644));
  }
  unsigned long rec = op.flags.recursive ? MS_REC : 0;
  PVEKIT_TRY(sys.mount(op.source, fd_path(target.get()), "", MS_BIND | rec, ""));
  // Bind mounts ignore most flags on the first call; a remount applies them.
  unsigned long extra = op.flags.flags & ~static_cast<unsigned long>(MS_REMOUNT);
  if (extra == 0 && !needs_finish(op)) return core::ok();
  PVEKIT_ASSIGN(UniqueFd mounted, reopen(rootfs, op.target, sys));
  if (extra != 0) PVEKIT_TRY(sys.mount("", fd_path(mounted.get()), "", MS_BIND | MS_REMOUNT | rec | extra, ""));
  return finish_mount(op, mounted.get(), sys);
}

// Paths that do not exist are skipped: there is nothing to hide or protect.
core::Result<UniqueFd> open_existing(const Rootfs& rootfs, const std::string& path, Syscalls& sys) {
  auto fd = sys.open_in_root(rootfs.fd.get(), path, InRootOptions{});
  if (!fd.ok() && fd.error().sys_errno() == ENOENT) return UniqueFd();
  return fd;
}

// A tmpfs as runc 1.1 makes it (measured in tests/integration/lxcri/tmpfs_test.py):
// over an existing directory it ends with that directory's mode, set-id and
// sticky bits included, set after the mount so it wins over mode=; its owner
// stays the tmpfs's own (root, or uid=/gid=), never the directory's. An
// image's 0750 directory of uid 65532 is then not writable by 65532, where
// the tmpfs's own 1777 would be. Over a directory made here the tmpfs keeps
// its own mode. The copy-up and the chmod need it writable: read-only comes
// last, as a remount of this mount only.
Status apply_tmpfs(const MountOp& op, const Rootfs& rootfs, Syscalls& sys) {
  std::optional<mode_t> covered_mode;
  PVEKIT_ASSIGN(UniqueFd existing, open_existing(rootfs, op.target, sys));
  if (existing.valid()) {
    PVEKIT_ASSIGN(covered_mode, sys.mode_of(existing.get(), op.target));
  }
  PVEKIT_ASSIGN(UniqueFd target, sys.mkdir_in_root(rootfs.fd.get(), op.target, kDirMode));
  // tmpcopyup: what the tmpfs covers stays reachable through a descriptor taken before.
  UniqueFd covered;
  if (op.flags.copy_up) {
    PVEKIT_ASSIGN(covered, sys.open_in_root(rootfs.fd.get(), op.target, {.flags = O_RDONLY | O_DIRECTORY}));
  }
  unsigned long flags = op.flags.flags & ~static_cast<unsigned long>(MS_RDONLY);
  PVEKIT_TRY(sys.mount(op.source, fd_path(target.get()), op.fstype, flags, op.flags.data));
  PVEKIT_ASSIGN(UniqueFd mounted, sys.open_in_root(rootfs.fd.get(), op.target, {.flags = O_RDONLY | O_DIRECTORY}));
  if (op.flags.copy_up) PVEKIT_TRY(sys.copy_tree(covered.get(), mounted.get()).wrap("tmpcopyup"));
  if (covered_mode) PVEKIT_TRY(sys.fchmod(mounted.get(), *covered_mode & 07777, op.target));
  if (op.flags.flags & MS_RDONLY) {
    PVEKIT_TRY(sys.mount("", fd_path(mounted.get()), "", MS_BIND | MS_REMOUNT | op.flags.flags, ""));
  }
  if (!needs_finish(op)) return core::ok();
  return finish_mount(op, mounted.get(), sys);
}

Status apply_mount(const MountOp& op, const Rootfs& rootfs, Syscalls& sys) {
  if (op.flags.flags & MS_REMOUNT) {
    PVEKIT_ASSIGN(UniqueFd target, reopen(rootfs, op.target, sys));
    return sys.mount("", fd_path(target.get()), "", op.flags.flags, op.flags.data);
  }
  if (op.flags.bind || op.kind == MountOp::Kind::CgroupBind) return apply_bind(op, rootfs, sys);
  if (op.fstype == "tmpfs") return apply_tmpfs(op, rootfs, sys);
  PVEKIT_ASSIGN(UniqueFd target, sys.mkdir_in_root(rootfs.fd.get(), op.target, kDirMode));
  if (op.fstype == "proc" || op.fstype == "sysfs") {
    // A proc or sysfs mounted through a symlink would not be where the
    // masked paths, sysctls and LSM writes expect it (CVE-2019-19921).
    auto direct = sys.open_in_root(rootfs.fd.get(), op.target, {.flags = O_PATH | O_DIRECTORY, .no_symlinks = true});
    if (!direct.ok())
      return Error(core::ErrorCategory::Config, "a " + op.fstype + " mount needs a plain directory at " + op.target +
                                                    ", not a symlink: " + direct.error().to_string());
  }
  PVEKIT_TRY(sys.mount(op.source, fd_path(target.get()), op.fstype, op.flags.flags, op.flags.data));
  if (!needs_finish(op)) return core::ok();
  PVEKIT_ASSIGN(UniqueFd mounted, reopen(rootfs, op.target, sys));
  return finish_mount(op, mounted.get(), sys);
}

Status apply_device(const MountOp& op, const Rootfs& rootfs, Syscalls& sys) {
  if (op.bind_device) {
    // mknod is not allowed in a user namespace: bind the host's node instead.
    PVEKIT_ASSIGN(UniqueFd target, sys.create_file_in_root(rootfs.fd.get(), op.target, 0644));
    return sys.mount(op.target, fd_path(target.get()), "", MS_BIND, "");
  }
  auto [dir, name] = split_last(op.target);
  PVEKIT_ASSIGN(UniqueFd parent, sys.mkdir_in_root(rootfs.fd.get(), dir, kDirMode));
  mode_t type = op.dev_type == 'b' ? S_IFBLK : op.dev_type == 'p' ? S_IFIFO : S_IFCHR;
  dev_t dev = makedev(static_cast<unsigned>(op.major), static_cast<unsigned>(op.minor));
  PVEKIT_TRY(sys.mknodat(parent.get(), name, type | op.mode, dev));
  return sys.fchownat(parent.get(), name, op.uid, op.gid);
}

Status apply_symlink(const MountOp& op, const Rootfs& rootfs, Syscalls& sys) {
  auto [dir, name] = split_last(op.target);
  PVEKIT_ASSIGN(UniqueFd parent, sys.mkdir_in_root(rootfs.fd.get(), dir, kDirMode));
  return sys.symlinkat(op.source, parent.get(), name);
}

Status apply_mask(const MountOp& op, const Rootfs& rootfs, Syscalls& sys) {
  PVEKIT_ASSIGN(UniqueFd target, open_existing(rootfs, op.target, sys));
  if (!target.valid()) return core::ok();
  std::string at = fd_path(target.get());
  if (sys.is_dir(at)) return sys.mount("tmpfs", at, "tmpfs", MS_RDONLY, "");
  return sys.mount("/dev/null", at, "", MS_BIND, "");
}

Status apply_readonly(const MountOp& op, const Rootfs& rootfs, Syscalls& sys) {
  PVEKIT_ASSIGN(UniqueFd target, open_existing(rootfs, op.target, sys));
  if (!target.valid()) return core::ok();
  PVEKIT_TRY(sys.mount(fd_path(target.get()), fd_path(target.get()), "", MS_BIND | MS_REC, ""));
  PVEKIT_ASSIGN(UniqueFd mounted, reopen(rootfs, op.target, sys));
  return sys.mount("", fd_path(mounted.get()), "",
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

// The rootfs becomes a mount point of its own (pivot_root needs one); the
// descriptor every container path is resolved from is the bound tree's.
Status bind_rootfs(Rootfs& rootfs, Syscalls& sys) {
  PVEKIT_ASSIGN(UniqueFd dir, sys.open_dir(rootfs.path));
  PVEKIT_TRY(sys.mount(fd_path(dir.get()), fd_path(dir.get()), "", MS_BIND | MS_REC, ""));
  PVEKIT_ASSIGN(rootfs.fd, sys.open_dir(rootfs.path));
  return core::ok();
}

Status apply_one(const MountOp& op, Rootfs& rootfs, Syscalls& sys) {
  switch (op.kind) {
    case MountOp::Kind::RootPropagation: {
      PVEKIT_TRY(sys.mount("", "/", "", op.flags.propagation, ""));
      return op.flags.propagation & MS_SHARED ? make_parent_private(rootfs.path, sys) : core::ok();
    }
    case MountOp::Kind::BindRootfs: return bind_rootfs(rootfs, sys);
    case MountOp::Kind::Mount:
    case MountOp::Kind::CgroupBind: return apply_mount(op, rootfs, sys);
    case MountOp::Kind::Device: return apply_device(op, rootfs, sys);
    case MountOp::Kind::Symlink: return apply_symlink(op, rootfs, sys);
    case MountOp::Kind::MaskPath: return apply_mask(op, rootfs, sys);
    case MountOp::Kind::ReadonlyPath: return apply_readonly(op, rootfs, sys);
    case MountOp::Kind::PivotRoot:
      return op.no_pivot ? sys.move_root(rootfs.fd.get()) : sys.pivot_root(rootfs.fd.get());
    case MountOp::Kind::RemountRootReadonly:
      return sys.mount("", "/", "", MS_BIND | MS_REMOUNT | MS_RDONLY, "");
  }
  return Error(core::ErrorCategory::Internal, "unknown mount op");
}

}  // namespace

Status apply_mounts(const std::vector<MountOp>& ops, Rootfs& rootfs, Syscalls& sys) {
  for (const auto& op : ops) {
    if (!rootfs.fd.valid() && op.kind != MountOp::Kind::RootPropagation && op.kind != MountOp::Kind::BindRootfs)
      return Error(core::ErrorCategory::Internal, "rootfs: " + op.target + " before the rootfs was bound");
    Status s = apply_one(op, rootfs, sys);
    if (!s.ok()) return std::move(s).wrap("rootfs: " + (op.target.empty() ? op.source : op.target));
  }
  return core::ok();
}

}  // namespace pvekit::oci::linux
