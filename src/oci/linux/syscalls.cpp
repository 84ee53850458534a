#include "oci/linux/syscalls.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "oci/fd.h"

namespace pvekit::oci::linux {

using core::Error;
using core::Status;

namespace {

Status check(int rc, const std::string& what) {
  if (rc != 0) return Error::system(what, errno);
  return core::ok();
}

}  // namespace

Status LinuxSyscalls::mount(const std::string& source, const std::string& target,
                            const std::string& fstype, unsigned long flags, const std::string& data) {
  if ((flags & (MS_REMOUNT | MS_BIND)) == (MS_REMOUNT | MS_BIND)) {
    // In a user namespace the kernel refuses to clear flags the mount already
    // has ("locked" flags), so a bind remount keeps them.
    struct statvfs vfs{};
    if (::statvfs(target.c_str(), &vfs) == 0) {
      if (vfs.f_flag & ST_NOSUID) flags |= MS_NOSUID;
      if (vfs.f_flag & ST_NODEV) flags |= MS_NODEV;
      if (vfs.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
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

Status LinuxSyscalls::mkdir_all(const std::string& path, mode_t mode) {
  std::string cur;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t next = path.find('/', pos + 1);
    if (next == std::string::npos) next = path.size();
    cur = path.substr(0, next);
    pos = next;
    if (cur == "/" || cur.empty()) continue;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) return Error::system("mkdir " + cur, errno);
  }
  if (!is_dir(path)) return Error::system("mkdir " + path, ENOTDIR);
  return core::ok();
}

Status LinuxSyscalls::create_file(const std::string& path, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd.valid() && errno != EEXIST && errno != EISDIR) return Error::system("create " + path, errno);
  return core::ok();
}

Status LinuxSyscalls::mknod(const std::string& path, mode_t mode, dev_t dev) {
  // linux.devices[].fileMode is the node's exact mode: the caller's umask must not trim it.
  mode_t old_umask = ::umask(0);
  int r = ::mknod(path.c_str(), mode, dev);
  int err = errno;
  ::umask(old_umask);
  if (r != 0 && err != EEXIST) return Error::system("mknod " + path, err);
  return core::ok();
}

Status LinuxSyscalls::chown(const std::string& path, uid_t uid, gid_t gid) {
  return check(::lchown(path.c_str(), uid, gid), "chown " + path);
}

Status LinuxSyscalls::symlink(const std::string& target, const std::string& link) {
  if (::symlink(target.c_str(), link.c_str()) != 0 && errno != EEXIST)
    return Error::system("symlink " + link, errno);
  return core::ok();
}

Status LinuxSyscalls::pivot_root(const std::string& new_root) {
  // pivot_root(".", ".") stacks the old root under the new one; detaching it
  // afterwards leaves only the container's tree (the runc/crun technique).
  UniqueFd old_root(::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!old_root.valid()) return Error::system("open /", errno);
  PVEKIT_TRY(chdir(new_root));
  PVEKIT_TRY(check(static_cast<int>(::syscall(SYS_pivot_root, ".", ".")), "pivot_root " + new_root));
  PVEKIT_TRY(check(::fchdir(old_root.get()), "fchdir old root"));
  // Keep unmount events of the old root from propagating back to the host.
  PVEKIT_TRY(mount("", ".", "", MS_SLAVE | MS_REC, ""));
  PVEKIT_TRY(umount(".", MNT_DETACH));
  return chdir("/");
}

Status LinuxSyscalls::move_root(const std::string& new_root) {
  PVEKIT_TRY(chdir(new_root));
  PVEKIT_TRY(mount(new_root, "/", "", MS_MOVE, ""));
  PVEKIT_TRY(check(::chroot("."), "chroot " + new_root));
  return chdir("/");
}

Status LinuxSyscalls::chdir(const std::string& path) { return check(::chdir(path.c_str()), "chdir " + path); }

Status LinuxSyscalls::sethostname(const std::string& name) {
  return check(::sethostname(name.c_str(), name.size()), "sethostname");
}

Status LinuxSyscalls::setdomainname(const std::string& name) {
  return check(::setdomainname(name.c_str(), name.size()), "setdomainname");
}

Status LinuxSyscalls::write_file(const std::string& path, const std::string& content) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return Error::system("open " + path, errno);
  if (::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()))
    return Error::system("write " + path, errno);
  return core::ok();
}

std::optional<std::string> LinuxSyscalls::readlink(const std::string& path) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  if (n < 0) return std::nullopt;
  return std::string(buf, static_cast<size_t>(n));
}

bool LinuxSyscalls::is_dir(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool LinuxSyscalls::exists(const std::string& path) {
  struct stat st{};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace pvekit::oci::linux
