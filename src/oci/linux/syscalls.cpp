#include "oci/linux/syscalls.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "core/files.h"
#include "core/strings.h"
#include "oci/fd.h"
#include "oci/linux/copy_tree.h"

namespace pvekit::oci::linux {

using core::Error;
using core::Status;

namespace {

// Not cached: the init asks after joining its user namespace, in a process
// forked from one that may have asked before.
bool in_user_namespace() {
  auto map = core::read_file("/proc/self/uid_map");
  if (!map.ok()) return false;
  auto fields = core::split(*map, ' ', true);
  return !(fields.size() >= 3 && fields[0] == "0" && fields[1] == "0" && core::trim(fields[2]) == "4294967295");
}

Status check(int rc, const std::string& what) {
  if (rc != 0) return Error::system(what, errno);
  return core::ok();
}

}  // namespace

Status LinuxSyscalls::mount(const std::string& source, const std::string& target,
                            const std::string& fstype, unsigned long flags, const std::string& data) {
  if ((flags & (MS_REMOUNT | MS_BIND)) == (MS_REMOUNT | MS_BIND)) {
    // The kernel refuses to clear flags a mount brought from a more privileged
    // mount namespace has ("locked" flags): a bind remount keeps them.
    struct statvfs vfs{};
    if (::statvfs(target.c_str(), &vfs) == 0) {
      if (vfs.f_flag & ST_NOSUID) flags |= MS_NOSUID;
      if (vfs.f_flag & ST_NODEV) flags |= MS_NODEV;
      if (vfs.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
      // Read-only and the atime mode are locked only in a user namespace;
      // elsewhere "rw" or "atime" on a bind of such a mount mean what they say.
      if (in_user_namespace()) {
        if (vfs.f_flag & ST_RDONLY) flags |= MS_RDONLY;
        constexpr unsigned long atime = MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME;
        if (!(flags & atime)) {
          if (vfs.f_flag & ST_NOATIME) flags |= MS_NOATIME;
          if (vfs.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
          if (vfs.f_flag & ST_RELATIME) flags |= MS_RELATIME;
        }
      }
    }
  }
  int rc = ::mount(source.empty() ? nullptr : source.c_str(), target.c_str(),
                   fstype.empty() ? nullptr : fstype.c_str(), flags,
                   data.empty() ? nullptr : data.c_str());
  return check(rc, "mount " + (source.empty() ? fstype : source) + " on " + target);
}

Status LinuxSyscalls::umount(const std::string& target, int flags) {
  return check(::umount2(target.c_str(), flags), "umount " + target);
}

core::Result<UniqueFd> LinuxSyscalls::open_dir(const std::string& host_path) {
  UniqueFd fd(::open(host_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return Error::system("open " + host_path, errno);
  return fd;
}

core::Result<UniqueFd> LinuxSyscalls::open_in_root(int root, const std::string& path, const InRootOptions& options) {
  return linux::open_in_root(root, path, options);
}

core::Result<UniqueFd> LinuxSyscalls::mkdir_in_root(int root, const std::string& path, mode_t mode) {
  return linux::mkdir_in_root(root, path, mode);
}

core::Result<UniqueFd> LinuxSyscalls::create_file_in_root(int root, const std::string& path, mode_t mode) {
  return linux::create_file_in_root(root, path, mode);
}

Status LinuxSyscalls::mknodat(int dir, const std::string& name, mode_t mode, dev_t dev) {
  // linux.devices[].fileMode is the node's exact mode: the caller's umask must not trim it.
  mode_t old_umask = ::umask(0);
  int r = ::mknodat(dir, name.c_str(), mode, dev);
  int err = errno;
  ::umask(old_umask);
  if (r != 0 && err != EEXIST) return Error::system("mknod " + name, err);
  return core::ok();
}

Status LinuxSyscalls::symlinkat(const std::string& target, int dir, const std::string& name) {
  if (::symlinkat(target.c_str(), dir, name.c_str()) != 0 && errno != EEXIST)
    return Error::system("symlink " + name, errno);
  return core::ok();
}

Status LinuxSyscalls::fchownat(int dir, const std::string& name, uid_t uid, gid_t gid) {
  return check(::fchownat(dir, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW), "chown " + name);
}

core::Result<mode_t> LinuxSyscalls::mode_of(int fd, const std::string& what) {
  struct stat st{};
  if (::fstat(fd, &st) != 0) return Error::system("stat " + what, errno);
  return st.st_mode;
}

Status LinuxSyscalls::fchmod(int fd, mode_t mode, const std::string& what) {
  return check(::fchmod(fd, mode), "chmod " + what);
}

Status write_on_procfs(int fd, const std::string& path, const std::string& content) {
  struct statfs fs{};
  if (::fstatfs(fd, &fs) != 0) return Error::system("statfs " + path, errno);
  if (fs.f_type != PROC_SUPER_MAGIC)
    return Error(core::ErrorCategory::Runtime, path + " is not on procfs (is /proc mounted in the container?)");
  if (::write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size()))
    return Error::system("write \"" + content + "\" to " + path, errno);
  return core::ok();
}

Status LinuxSyscalls::write_proc_file(int root, const std::string& path, const std::string& content) {
  PVEKIT_ASSIGN(UniqueFd fd, linux::open_in_root(root, path, {.flags = O_WRONLY, .no_symlinks = true}));
  return write_on_procfs(fd.get(), path, content);
}

Status LinuxSyscalls::set_mount_attrs(int fd, uint64_t set, uint64_t clear) {
  struct mount_attr attr{};
  attr.attr_set = set;
  attr.attr_clr = clear;
  long rc = ::syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr);
  return check(static_cast<int>(rc), "mount_setattr (recursive mount options)");
}

Status LinuxSyscalls::copy_tree(int from, int to) { return linux::copy_tree(from, to); }

Status LinuxSyscalls::pivot_root(int new_root) {
  // pivot_root(".", ".") stacks the old root under the new one; detaching it
  // afterwards leaves only the container's tree (the runc/crun technique).
  UniqueFd old_root(::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!old_root.valid()) return Error::system("open /", errno);
  PVEKIT_TRY(check(::fchdir(new_root), "chdir to the rootfs"));
  PVEKIT_TRY(check(static_cast<int>(::syscall(SYS_pivot_root, ".", ".")), "pivot_root"));
  PVEKIT_TRY(check(::fchdir(old_root.get()), "fchdir old root"));
  // Keep unmount events of the old root from propagating back to the host.
  PVEKIT_TRY(mount("", ".", "", MS_SLAVE | MS_REC, ""));
  PVEKIT_TRY(umount(".", MNT_DETACH));
  return check(::chdir("/"), "chdir /");
}

Status LinuxSyscalls::move_root(int new_root) {
  PVEKIT_TRY(check(::fchdir(new_root), "chdir to the rootfs"));
  PVEKIT_TRY(mount(".", "/", "", MS_MOVE, ""));
  PVEKIT_TRY(check(::chroot("."), "chroot"));
  return check(::chdir("/"), "chdir /");
}

Status LinuxSyscalls::sethostname(const std::string& name) {
  return check(::sethostname(name.c_str(), name.size()), "sethostname");
}

Status LinuxSyscalls::setdomainname(const std::string& name) {
  return check(::setdomainname(name.c_str(), name.size()), "setdomainname");
}

bool LinuxSyscalls::is_dir(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace pvekit::oci::linux
