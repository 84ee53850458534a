#pragma once

// Rootfs setup as plan, then apply: plan_mounts() turns the spec into an
// ordered list of MountOp without touching the system; apply_mounts() runs
// the list through Syscalls inside the container's mount namespace.

#include <sys/types.h>

#include <cstdint>

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "oci/linux/syscalls.h"
#include "oci/spec.h"

namespace pvekit::oci::linux {

// Mount flags and fs data from OCI mount options ("ro", "nosuid", "rbind", "mode=755").
struct MountFlags {
  unsigned long flags = 0;        // MS_* to set
  unsigned long propagation = 0;  // MS_PRIVATE / MS_SHARED / ... (| MS_REC)
  std::string data;               // options the filesystem interprets, comma-joined
  bool bind = false;
  bool recursive = false;
  bool copy_up = false;  // tmpcopyup: a tmpfs starts with the contents of the directory it covers
  // runc's recursive options (rro, rnosuid, rnoatime, ...): MOUNT_ATTR_* set
  // and cleared on the mount and every mount below it (mount_setattr).
  uint64_t recursive_set = 0;
  uint64_t recursive_clear = 0;
  // Bare words no table here knows; they go to the filesystem in `data`.
  std::vector<std::string> unknown;

  bool operator==(const MountFlags&) const = default;
};
MountFlags parse_mount_options(const std::vector<std::string>& options);
// Every option parse_mount_options understands (for `features`), sorted.
std::vector<std::string> known_mount_options();
// Options of mount `index` that lxcri cannot honour, as an error naming the
// first: a bare word unknown for a filesystem whose options we know (bind,
// tmpfs, proc, sysfs, devpts, mqueue, cgroup), or tmpcopyup off a tmpfs.
// Options of other filesystems go to the kernel as they are.
core::Status check_mount_options(const Mount& mount, size_t index);

struct MountOp {
  enum class Kind {
    RootPropagation,   // mount("", "/", propagation): keep our mounts from reaching the host
    BindRootfs,        // bind the rootfs onto itself so it is a mount point for pivot_root
    Mount,             // a spec mount; target is a container path resolved inside the rootfs
    CgroupBind,        // bind a host cgroup directory (source) at target (v1 hosts)
    Device,            // create a device node (or bind the host's when in a user namespace)
    Symlink,           // symlink `source` at target
    MaskPath,          // bind /dev/null over a file, empty read-only tmpfs over a directory
    ReadonlyPath,      // bind the path onto itself read-only
    PivotRoot,         // switch root (pivot_root, or MS_MOVE + chroot with no_pivot)
    RemountRootReadonly,
  };
  Kind kind = Kind::Mount;
  std::string source;
  std::string target;  // container path (e.g. "/proc"); the rootfs for BindRootfs/PivotRoot
  std::string fstype;
  MountFlags flags;
  // Device fields.
  char dev_type = 'c';
  int64_t major = 0, minor = 0;
  mode_t mode = 0666;
  uid_t uid = 0;
  gid_t gid = 0;
  bool bind_device = false;
  bool no_pivot = false;

  bool operator==(const MountOp&) const = default;
};

struct MountContext {
  std::string rootfs;  // absolute host path
  bool no_pivot = false;
  bool user_namespace = false;  // devices must be bind-mounted from the host
  // (host directory, name under /sys/fs/cgroup) pairs for a "cgroup" mount on a v1 host;
  // empty on a v2 host, where a cgroup2 filesystem is mounted instead.
  std::vector<std::pair<std::string, std::string>> cgroup_binds;
  // SELinux context of the tmpfs, devpts and mqueue mounts (linux.mountLabel
  // where SELinux is enabled); empty: none.
  std::string mount_label;
};

// The full, ordered rootfs setup for `spec`. Pure. Masked and read-only
// paths come before the pivot, while the host's /proc/self/fd still lets us
// mount onto descriptors whatever the container mounts at /proc.
std::vector<MountOp> plan_mounts(const Spec& spec, const MountContext& ctx);

// The default devices every container gets (runtime-spec config-linux.md "Default Devices").
const std::vector<Device>& default_devices();

// The mount holding `path` in /proc/self/mountinfo text (the longest mount
// point that is `path` or one of its parents; the topmost of stacked ones).
struct HoldingMount {
  std::string mount_point;
  bool shared = false;
};
std::optional<HoldingMount> mount_holding(const std::string& mountinfo, const std::string& path);

// The rootfs being set up: its host path and, from the BindRootfs op on, the
// descriptor of the bound tree that every container path is resolved from.
struct Rootfs {
  std::string path;
  UniqueFd fd;
};

// Runs the ops in order; stops at the first failure, naming the op.
core::Status apply_mounts(const std::vector<MountOp>& ops, Rootfs& rootfs, Syscalls& sys);

}  // namespace pvekit::oci::linux
