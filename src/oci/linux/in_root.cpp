#include "oci/linux/in_root.h"

#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <deque>
#include <vector>

#include "core/strings.h"

namespace pvekit::oci::linux {

using core::Error;

namespace {

// Linux's own limit on symlinks in one lookup (MAXSYMLINKS).
constexpr int kMaxSymlinks = 40;

std::atomic<bool> openat2_missing{false};

// "." stays: "file/." must fail as the kernel's lookup does. A trailing "/"
// means the same as a trailing ".".
std::deque<std::string> components(const std::string& path) {
  std::deque<std::string> out;
  for (auto& c : core::split(path, '/', true)) out.push_back(std::move(c));
  if (!out.empty() && path.back() == '/') out.push_back(".");
  return out;
}

std::string relative(const std::string& path) {
  size_t start = path.find_first_not_of('/');
  return start == std::string::npos ? "." : path.substr(start);
}

// openat2 with RESOLVE_IN_ROOT; -errno on failure.
int resolve_openat2(int root, const std::string& path, const InRootOptions& o) {
  struct open_how how{};
  how.flags = static_cast<uint64_t>(o.flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (o.no_symlinks ? RESOLVE_NO_SYMLINKS : 0);
  std::string rel = relative(path);
  // EAGAIN: a rename or mount somewhere raced with a ".." of the lookup, and
  // the kernel asks us to retry. Symlink loops through ".." get it every time:
  // after a few tries the caller's walk gives the definite answer.
  for (int attempt = 0; attempt < 8; ++attempt) {
    long fd = ::syscall(SYS_openat2, root, rel.c_str(), &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    if (errno != EAGAIN) return -errno;
  }
  return -EAGAIN;
}

std::string read_link(int fd, int& err) {
  char buf[PATH_MAX];
  ssize_t n = ::readlinkat(fd, "", buf, sizeof buf);
  if (n < 0) {
    err = errno;
    return {};
  }
  return std::string(buf, static_cast<size_t>(n));
}

// The same resolution by hand: every step is an openat(O_PATH | O_NOFOLLOW)
// below a descriptor we hold, symlink texts are resolved against the root,
// and ".." pops our own stack of descriptors, so it never climbs above the root.
int resolve_walk(int root, const std::string& path, const InRootOptions& o) {
  std::deque<std::string> todo = components(path);
  std::vector<UniqueFd> stack;  // parents of `current`
  UniqueFd current(::openat(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!current.valid()) return -errno;
  int links = 0;
  while (!todo.empty()) {
    std::string c = std::move(todo.front());
    todo.pop_front();
    if (c == ".") continue;
    if (c == "..") {
      if (!stack.empty()) {
        current = std::move(stack.back());
        stack.pop_back();
      }
      continue;
    }
    UniqueFd next(::openat(current.get(), c.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) return -errno;
    struct stat st{};
    if (::fstat(next.get(), &st) != 0) return -errno;
    if (S_ISLNK(st.st_mode)) {
      if (o.no_symlinks || ++links > kMaxSymlinks) return -ELOOP;
      int err = 0;
      std::string target = read_link(next.get(), err);
      if (err != 0) return -err;
      if (!target.empty() && target[0] == '/') {
        stack.clear();
        current.reset(::openat(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!current.valid()) return -errno;
      }
      auto parts = components(target);
      todo.insert(todo.begin(), parts.begin(), parts.end());
      continue;
    }
    if (!todo.empty() && !S_ISDIR(st.st_mode)) return -ENOTDIR;
    if (todo.empty()) {
      // The final open with the caller's flags; O_NOFOLLOW catches a symlink swapped in since.
      int fd = ::openat(current.get(), c.c_str(), o.flags | O_NOFOLLOW | O_CLOEXEC);
      return fd >= 0 ? fd : -errno;
    }
    stack.push_back(std::move(current));
    current = std::move(next);
  }
  int fd = ::openat(current.get(), ".", o.flags | O_CLOEXEC);
  return fd >= 0 ? fd : -errno;
}

int resolve(int root, const std::string& path, const InRootOptions& o) {
  if (o.resolver == Resolver::Openat2 && !openat2_missing.load(std::memory_order_relaxed)) {
    int fd = resolve_openat2(root, path, o);
    if (fd != -ENOSYS && fd != -EAGAIN) return fd;
    if (fd == -ENOSYS) openat2_missing.store(true, std::memory_order_relaxed);
  }
  return resolve_walk(root, path, o);
}

std::string join_first(const std::deque<std::string>& parts, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += "/" + parts[i];
  return out.empty() ? "/" : out;
}

}  // namespace

core::Result<UniqueFd> open_in_root(int root, const std::string& path, const InRootOptions& options) {
  int fd = resolve(root, path, options);
  if (fd < 0) return Error::system("open " + path + " in the rootfs", -fd);
  return UniqueFd(fd);
}

core::Result<UniqueFd> mkdir_in_root(int root, const std::string& path, mode_t mode, Resolver resolver) {
  InRootOptions dir{.flags = O_PATH | O_DIRECTORY, .resolver = resolver};
  int fd = resolve(root, path, dir);
  if (fd >= 0) return UniqueFd(fd);
  if (fd != -ENOENT) return Error::system("open " + path + " in the rootfs", -fd);
  // Some component is missing: go down from the top, creating each missing
  // one in the directory we hold a descriptor of, and resolving the whole
  // prefix again from the root so symlinks keep their in-root meaning.
  std::deque<std::string> parts = components(path);
  UniqueFd parent(::openat(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!parent.valid()) return Error::system("open the rootfs", errno);
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string prefix = join_first(parts, i + 1);
    fd = resolve(root, prefix, dir);
    if (fd == -ENOENT) {
      if (::mkdirat(parent.get(), parts[i].c_str(), mode) != 0 && errno != EEXIST)
        return Error::system("mkdir " + prefix + " in the rootfs", errno);
      fd = resolve(root, prefix, dir);
      if (fd == -ENOENT)
        return Error(core::ErrorCategory::Config,
                     "mkdir " + path + " in the rootfs: " + prefix + " is a dangling symlink");
    }
    if (fd < 0) return Error::system("open " + prefix + " in the rootfs", -fd);
    parent.reset(fd);
  }
  return parent;
}

core::Result<UniqueFd> create_file_in_root(int root, const std::string& path, mode_t mode, Resolver resolver) {
  InRootOptions any{.flags = O_PATH, .resolver = resolver};
  int fd = resolve(root, path, any);
  if (fd >= 0) return UniqueFd(fd);
  if (fd != -ENOENT) return Error::system("open " + path + " in the rootfs", -fd);
  auto [dir, name] = split_last(path);
  if (name.empty() || name == "..")
    return Error(core::ErrorCategory::Config, "create " + path + " in the rootfs: not a file name");
  PVEKIT_ASSIGN(UniqueFd parent, mkdir_in_root(root, dir, 0755, resolver));
  UniqueFd created(::openat(parent.get(), name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!created.valid() && errno != EEXIST) return Error::system("create " + path + " in the rootfs", errno);
  fd = resolve(root, path, any);
  if (fd == -ENOENT)
    return Error(core::ErrorCategory::Config, "create " + path + " in the rootfs: it is a dangling symlink");
  if (fd < 0) return Error::system("open " + path + " in the rootfs", -fd);
  return UniqueFd(fd);
}

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

std::pair<std::string, std::string> split_last(const std::string& path) {
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  auto pos = trimmed.find_last_of('/');
  if (pos == std::string::npos) return {"/", trimmed};
  if (trimmed == "/") return {"/", ""};
  return {pos == 0 ? "/" : trimmed.substr(0, pos), trimmed.substr(pos + 1)};
}

}  // namespace pvekit::oci::linux
