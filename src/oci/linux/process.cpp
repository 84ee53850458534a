#include "oci/linux/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <optional>
#include <utility>

#include "core/strings.h"

namespace pvekit::oci::linux {

using core::Error;
using core::ErrorCategory;
using core::Status;

int rlimit_resource(const std::string& name) {
  static const std::pair<const char*, int> table[] = {
      {"RLIMIT_AS", RLIMIT_AS}, {"RLIMIT_CORE", RLIMIT_CORE}, {"RLIMIT_CPU", RLIMIT_CPU},
      {"RLIMIT_DATA", RLIMIT_DATA}, {"RLIMIT_FSIZE", RLIMIT_FSIZE}, {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
      {"RLIMIT_NICE", RLIMIT_NICE}, {"RLIMIT_NOFILE", RLIMIT_NOFILE}, {"RLIMIT_NPROC", RLIMIT_NPROC},
      {"RLIMIT_RSS", RLIMIT_RSS}, {"RLIMIT_RTPRIO", RLIMIT_RTPRIO}, {"RLIMIT_RTTIME", RLIMIT_RTTIME},
      {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK}};
  for (const auto& [n, v] : table)
    if (name == n) return v;
  return -1;
}

Status apply_rlimits(const std::vector<Rlimit>& rlimits) {
  for (const auto& r : rlimits) {
    int res = rlimit_resource(r.type);
    if (res < 0) return Error(ErrorCategory::Config, "unknown rlimit " + r.type);
    rlimit lim{r.soft, r.hard};
    if (::setrlimit(static_cast<__rlimit_resource>(res), &lim) != 0)
      return Error::system("setrlimit " + r.type + " (soft " + std::to_string(r.soft) + ", hard " +
                               std::to_string(r.hard) + ")",
                           errno);
  }
  return core::ok();
}

Status switch_user(const User& user) {
  std::vector<gid_t> groups(user.additional_gids.begin(), user.additional_gids.end());
  if (::setgroups(groups.size(), groups.data()) != 0 && errno != EPERM)
    return Error::system("setgroups", errno);
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return Error::system("prctl(PR_SET_KEEPCAPS)", errno);
  // With CAP_SETGID/CAP_SETUID, setgid/setuid set real, effective and saved
  // ids, as setres*id would; they are what runc's init calls (seccomp profiles).
  if (::setgid(user.gid) != 0) return Error::system("setgid " + std::to_string(user.gid), errno);
  if (::setuid(user.uid) != 0) return Error::system("setuid " + std::to_string(user.uid), errno);
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return Error::system("prctl(PR_SET_KEEPCAPS)", errno);
  return core::ok();
}

Status enter_cwd(const std::string& cwd) {
  if (::chdir(cwd.c_str()) != 0) return Error::system("chdir to cwd " + cwd, errno);
  char buf[PATH_MAX];
  if (::getcwd(buf, sizeof buf) == nullptr) return Error::system("getcwd after chdir to " + cwd, errno);
  if (buf[0] != '/') return Error(ErrorCategory::Runtime, "cwd " + cwd + " is outside the container root");
  return core::ok();
}

std::string env_value(const std::vector<std::string>& env, const std::string& name, const std::string& fallback) {
  for (const auto& e : env)
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=')
      return e.substr(name.size() + 1);
  return fallback;
}

namespace {

// Field `index` of the first entry of `uid` in `passwd` that has it non-empty.
std::optional<std::string> passwd_field(const std::string& passwd, uid_t uid, size_t index) {
  for (const auto& line : core::split(passwd, '\n', true)) {
    auto fields = core::split(line, ':', false);  // name:password:uid:gid:gecos:home:shell
    if (fields.size() >= 6 && fields[2] == std::to_string(uid) && !fields[index].empty()) return fields[index];
  }
  return std::nullopt;
}

}  // namespace

std::string user_name(uid_t uid, const std::string& passwd) {
  return passwd_field(passwd, uid, 0).value_or(std::to_string(uid));
}

std::vector<std::string> env_with_home(const std::vector<std::string>& env, uid_t uid, const std::string& passwd) {
  if (!env_value(env, "HOME", "").empty()) return env;
  const std::string home = passwd_field(passwd, uid, 5).value_or("/");
  std::vector<std::string> out;
  for (const auto& e : env)
    if (e != "HOME=") out.push_back(e);
  out.push_back("HOME=" + home);
  return out;
}

core::Result<std::string> find_executable(const std::string& name, const std::vector<std::string>& env) {
  auto runnable = [](const std::string& p) {
    struct stat st{};
    // stat alone, as runc's lookup: a seccomp profile written for runc need not allow access(2).
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
  };
  if (name.find('/') != std::string::npos) {
    if (runnable(name)) return name;
    return Error(ErrorCategory::NotFound, "exec: \"" + name + "\": no such executable");
  }
  std::string path = env_value(env, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  for (const auto& dir : core::split(path, ':', true)) {
    std::string candidate = dir + "/" + name;
    if (runnable(candidate)) return candidate;
  }
  return Error(ErrorCategory::NotFound, "exec: \"" + name + "\": executable file not found in $PATH");
}

int inherited_listen_fds(const char* listen_fds, const char* listen_pid, pid_t self) {
  if (listen_fds == nullptr || listen_pid == nullptr) return 0;
  auto pid = core::parse_int(listen_pid);
  auto count = core::parse_int(listen_fds);
  if (!pid || *pid != self || !count || *count <= 0 || *count > INT_MAX - 3) return 0;
  return static_cast<int>(*count);
}

Status prepare_fds(int preserve_fds) {
  for (int fd = 3; fd < 3 + preserve_fds; ++fd) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0) ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
  }
  unsigned first = static_cast<unsigned>(3 + preserve_fds);
  if (::syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return core::ok();
  // Kernels before 5.11, or a seccomp filter around us that refuses it: one by one.
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return Error::system("list /proc/self/fd", errno);
  int own = ::dirfd(dir);
  while (const dirent* e = ::readdir(dir)) {
    auto fd = core::parse_int(e->d_name);
    if (!fd || *fd < static_cast<int64_t>(first) || *fd == own) continue;
    int flags = ::fcntl(static_cast<int>(*fd), F_GETFD);
    if (flags >= 0) ::fcntl(static_cast<int>(*fd), F_SETFD, flags | FD_CLOEXEC);
  }
  ::closedir(dir);
  return core::ok();
}

void close_fds_from(int first, const std::vector<int>& keep) {
  std::vector<int> sorted = keep;
  std::sort(sorted.begin(), sorted.end());
  unsigned lo = static_cast<unsigned>(first);
  for (int k : sorted) {
    if (k < first) continue;
    if (static_cast<unsigned>(k) > lo) ::syscall(SYS_close_range, lo, static_cast<unsigned>(k - 1), 0);
    lo = static_cast<unsigned>(k + 1);
  }
  ::syscall(SYS_close_range, lo, ~0U, 0);
}

}  // namespace pvekit::oci::linux
