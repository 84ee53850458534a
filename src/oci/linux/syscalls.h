#pragma once

// Every mount-namespace effect of the rootfs setup goes through Syscalls, so
// unit tests can record the calls (tests/unit/support/recording_syscalls.h)
// instead of needing root.

#include <sys/types.h>

#include <optional>
#include <string>

#include "core/result.h"

namespace pvekit::oci::linux {

class Syscalls {
 public:
  virtual ~Syscalls() = default;

  virtual core::Status mount(const std::string& source, const std::string& target,
                             const std::string& fstype, unsigned long flags,
                             const std::string& data) = 0;
  virtual core::Status umount(const std::string& target, int flags) = 0;
  // Creates `path` and missing parents; existing directories are fine.
  virtual core::Status mkdir_all(const std::string& path, mode_t mode) = 0;
  // Creates an empty regular file (a bind-mount target); an existing one is fine.
  virtual core::Status create_file(const std::string& path, mode_t mode) = 0;
  virtual core::Status mknod(const std::string& path, mode_t mode, dev_t dev) = 0;
  virtual core::Status chown(const std::string& path, uid_t uid, gid_t gid) = 0;
  virtual core::Status symlink(const std::string& target, const std::string& link) = 0;
  virtual core::Status pivot_root(const std::string& new_root) = 0;
  // The --no-pivot path: MS_MOVE the rootfs onto / and chroot into it.
  virtual core::Status move_root(const std::string& new_root) = 0;
  virtual core::Status chdir(const std::string& path) = 0;
  virtual core::Status sethostname(const std::string& name) = 0;
  virtual core::Status setdomainname(const std::string& name) = 0;
  virtual core::Status write_file(const std::string& path, const std::string& content) = 0;
  // The target of a symlink; nullopt when `path` is not a symlink or does not exist.
  virtual std::optional<std::string> readlink(const std::string& path) = 0;
  // True for an existing directory (following symlinks); false when absent or not a directory.
  virtual bool is_dir(const std::string& path) = 0;
  virtual bool exists(const std::string& path) = 0;
};

// The real calls.
class LinuxSyscalls final : public Syscalls {
 public:
  core::Status mount(const std::string& source, const std::string& target, const std::string& fstype,
                     unsigned long flags, const std::string& data) override;
  core::Status umount(const std::string& target, int flags) override;
  core::Status mkdir_all(const std::string& path, mode_t mode) override;
  core::Status create_file(const std::string& path, mode_t mode) override;
  core::Status mknod(const std::string& path, mode_t mode, dev_t dev) override;
  core::Status chown(const std::string& path, uid_t uid, gid_t gid) override;
  core::Status symlink(const std::string& target, const std::string& link) override;
  core::Status pivot_root(const std::string& new_root) override;
  core::Status move_root(const std::string& new_root) override;
  core::Status chdir(const std::string& path) override;
  core::Status sethostname(const std::string& name) override;
  core::Status setdomainname(const std::string& name) override;
  core::Status write_file(const std::string& path, const std::string& content) override;
  std::optional<std::string> readlink(const std::string& path) override;
  bool is_dir(const std::string& path) override;
  bool exists(const std::string& path) override;
};

}  // namespace pvekit::oci::linux
