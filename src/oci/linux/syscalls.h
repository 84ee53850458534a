#pragma once

// Every mount-namespace effect of the rootfs setup goes through Syscalls, so
// unit tests can record the calls (tests/unit/support/recording_syscalls.h)
// instead of needing root.

#include <sys/types.h>

#include <optional>
#include <string>

#include "core/result.h"
#include "oci/fd.h"
#include "oci/linux/in_root.h"

namespace pvekit::oci::linux {

class Syscalls {
 public:
  virtual ~Syscalls() = default;

  // `target` is a host path ("/") or fd_path() of a descriptor from the calls below.
  virtual core::Status mount(const std::string& source, const std::string& target,
                             const std::string& fstype, unsigned long flags,
                             const std::string& data) = 0;
  virtual core::Status umount(const std::string& target, int flags) = 0;
  // An O_PATH descriptor of a host directory (the rootfs).
  virtual core::Result<UniqueFd> open_dir(const std::string& host_path) = 0;
  // Container paths under the directory `root`, as in in_root.h.
  virtual core::Result<UniqueFd> open_in_root(int root, const std::string& path, const InRootOptions& options) = 0;
  virtual core::Result<UniqueFd> mkdir_in_root(int root, const std::string& path, mode_t mode) = 0;
  virtual core::Result<UniqueFd> create_file_in_root(int root, const std::string& path, mode_t mode) = 0;
  // Entries named `name` in the directory `dir`; an existing entry is fine.
  virtual core::Status mknodat(int dir, const std::string& name, mode_t mode, dev_t dev) = 0;
  virtual core::Status symlinkat(const std::string& target, int dir, const std::string& name) = 0;
  // Does not follow a symlink at `name`.
  virtual core::Status fchownat(int dir, const std::string& name, uid_t uid, gid_t gid) = 0;
  // st_mode of what `fd` refers to (an O_PATH descriptor is fine); `what` names it in errors.
  virtual core::Result<mode_t> mode_of(int fd, const std::string& what) = 0;
  // chmod of the directory open at `fd` (not O_PATH: fchmod needs a real descriptor).
  virtual core::Status fchmod(int fd, mode_t mode, const std::string& what) = 0;
  // Writes `content` to a file of /proc (a sysctl) at `path` under `root`;
  // refused when what is there is not procfs, so an image cannot fake it.
  virtual core::Status write_proc_file(int root, const std::string& path, const std::string& content) = 0;
  // mount_setattr(AT_RECURSIVE) on the mount at `fd` and every mount below it.
  virtual core::Status set_mount_attrs(int fd, uint64_t set, uint64_t clear) = 0;
  // Copies the contents of directory `from` into directory `to` (copy_tree.h).
  virtual core::Status copy_tree(int from, int to) = 0;
  virtual core::Status pivot_root(int new_root) = 0;
  // The --no-pivot path: MS_MOVE the rootfs onto / and chroot into it.
  virtual core::Status move_root(int new_root) = 0;
  virtual core::Status sethostname(const std::string& name) = 0;
  virtual core::Status setdomainname(const std::string& name) = 0;
  // True for an existing directory (following symlinks); false when absent or not a directory.
  virtual bool is_dir(const std::string& path) = 0;
};

// Writes `content` to the file open at `fd` (named `path` in errors) if it is
// on procfs: a sysctl or an LSM attribute an image must not be able to fake.
core::Status write_on_procfs(int fd, const std::string& path, const std::string& content);

// The real calls.
class LinuxSyscalls final : public Syscalls {
 public:
  core::Status mount(const std::string& source, const std::string& target, const std::string& fstype,
                     unsigned long flags, const std::string& data) override;
  core::Status umount(const std::string& target, int flags) override;
  core::Result<UniqueFd> open_dir(const std::string& host_path) override;
  core::Result<UniqueFd> open_in_root(int root, const std::string& path, const InRootOptions& options) override;
  core::Result<UniqueFd> mkdir_in_root(int root, const std::string& path, mode_t mode) override;
  core::Result<UniqueFd> create_file_in_root(int root, const std::string& path, mode_t mode) override;
  core::Status mknodat(int dir, const std::string& name, mode_t mode, dev_t dev) override;
  core::Status symlinkat(const std::string& target, int dir, const std::string& name) override;
  core::Status fchownat(int dir, const std::string& name, uid_t uid, gid_t gid) override;
  core::Result<mode_t> mode_of(int fd, const std::string& what) override;
  core::Status fchmod(int fd, mode_t mode, const std::string& what) override;
  core::Status write_proc_file(int root, const std::string& path, const std::string& content) override;
  core::Status set_mount_attrs(int fd, uint64_t set, uint64_t clear) override;
  core::Status copy_tree(int from, int to) override;
  core::Status pivot_root(int new_root) override;
  core::Status move_root(int new_root) override;
  core::Status sethostname(const std::string& name) override;
  core::Status setdomainname(const std::string& name) override;
  bool is_dir(const std::string& path) override;
};

}  // namespace pvekit::oci::linux
