#include "oci/linux/copy_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string>

#include "oci/fd.h"

namespace pvekit::oci::linux {

using core::Error;
using core::Status;

namespace {

constexpr int kMaxDepth = 256;

Status copy_entry(int from, int to, const std::string& name, const struct stat& st, const std::string& path,
                  int depth);

Status copy_dir(int from, int to, const std::string& path, int depth) {
  if (depth > kMaxDepth) return Error(core::ErrorCategory::Config, "tmpcopyup: " + path + " is nested too deeply");
  int listing = ::dup(from);
  if (listing < 0) return Error::system("dup", errno);
  DIR* dir = ::fdopendir(listing);
  if (dir == nullptr) {
    ::close(listing);
    return Error::system("list " + path, errno);
  }
  ::rewinddir(dir);
  Status result = core::ok();
  while (const dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st{};
    if (::fstatat(from, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      result = Error::system("stat " + path + "/" + name, errno);
      break;
    }
    result = copy_entry(from, to, name, st, path + "/" + name, depth);
    if (!result.ok()) break;
  }
  ::closedir(dir);
  return result;
}

Status copy_entry(int from, int to, const std::string& name, const struct stat& st, const std::string& path,
                  int depth) {
  const char* n = name.c_str();
  if (S_ISDIR(st.st_mode)) {
    if (::mkdirat(to, n, 0700) != 0 && errno != EEXIST) return Error::system("mkdir " + path, errno);
    UniqueFd src(::openat(from, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    UniqueFd dst(::openat(to, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!src.valid() || !dst.valid()) return Error::system("open " + path, errno);
    PVEKIT_TRY(copy_dir(src.get(), dst.get(), path, depth + 1));
  } else if (S_ISREG(st.st_mode)) {
    UniqueFd src(::openat(from, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!src.valid()) return Error::system("open " + path, errno);
    UniqueFd dst(::openat(to, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!dst.valid()) return Error::system("create " + path, errno);
    PVEKIT_TRY(copy_file_data(src.get(), dst.get(), path));
  } else if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX];
    ssize_t len = ::readlinkat(from, n, target, sizeof target - 1);
    if (len < 0) return Error::system("readlink " + path, errno);
    target[len] = '\0';
    if (::symlinkat(target, to, n) != 0) return Error::system("symlink " + path, errno);
  } else if (::mknodat(to, n, st.st_mode, st.st_rdev) != 0) {
    return Error::system("mknod " + path, errno);
  }
  if (::fchownat(to, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) return Error::system("chown " + path, errno);
  // After chown, which clears set-id bits; symlinks have no mode of their own.
  if (!S_ISLNK(st.st_mode) && ::fchmodat(to, n, st.st_mode & 07777, 0) != 0)
    return Error::system("chmod " + path, errno);
  const timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(to, n, times, AT_SYMLINK_NOFOLLOW) != 0) return Error::system("set times of " + path, errno);
  return core::ok();
}

}  // namespace

Status copy_tree(int from, int to) { return copy_dir(from, to, "", 0); }

Status copy_file_data(int src, int dst, const std::string& name) {
  constexpr size_t kChunk = 1 << 20;
  while (true) {
    ssize_t n = ::copy_file_range(src, nullptr, dst, nullptr, kChunk, 0);
    if (n == 0) return core::ok();
    if (n > 0 || errno == EINTR) continue;
    if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
      return Error::system("copy " + name, errno);
    break;  // across filesystems (a memfd, or kernels before 5.19)
  }
  while (true) {
    ssize_t n = ::sendfile(dst, src, nullptr, kChunk);
    if (n == 0) return core::ok();
    if (n < 0 && errno != EINTR) return Error::system("copy " + name, errno);
  }
}

}  // namespace pvekit::oci::linux
