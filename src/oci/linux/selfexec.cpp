#include "oci/linux/selfexec.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "oci/fd.h"
#include "oci/linux/copy_tree.h"

extern char** environ;

namespace pvekit::oci::linux {

using core::Error;

namespace {

constexpr int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
constexpr int kSealAttempts = 5;

// A detached bind mount of the binary itself, made read-only before anyone
// can see it. The O_PATH descriptor is the mount's root: the binary.
core::Result<UniqueFd> readonly_mount_of_self() {
  UniqueFd tree(static_cast<int>(
      ::syscall(SYS_open_tree, AT_FDCWD, "/proc/self/exe", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)));
  if (!tree.valid()) return Error::system("open_tree /proc/self/exe", errno);
  struct mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (::syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0)
    return Error::system("make the binary's mount read-only", errno);
  return tree;
}

core::Result<UniqueFd> sealed_copy_of_self() {
  UniqueFd self(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self.valid()) return Error::system("open /proc/self/exe", errno);
  UniqueFd mem(::memfd_create("lxcri", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!mem.valid()) return Error::system("memfd_create", errno);
  PVEKIT_TRY(copy_file_data(self.get(), mem.get(), "/proc/self/exe to a memfd"));
  // The kernel refuses F_SEAL_WRITE with EBUSY while something else holds a
  // page of the file for a moment (seen once in CI under load); it waits a
  // little itself before giving up, and a few more tries ride that out.
  for (int attempt = 1;; ++attempt) {
    if (::fcntl(mem.get(), F_ADD_SEALS, kSeals) == 0) return mem;
    if (errno != EBUSY || attempt == kSealAttempts) return Error::system("seal memfd", errno);
    ::usleep(20'000);
  }
}

// The path carried over the re-exec, read before it is removed.
std::string& carried_executable() {
  static std::string path;
  return path;
}

core::Result<std::string> proc_self_exe() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return Error::system("readlink /proc/self/exe", ec.value());
  return path.string();
}

}  // namespace

core::Result<UniqueFd> protected_copy_of_self(SealMethod method) {
  if (method == SealMethod::Memfd) return sealed_copy_of_self();
  auto mounted = readonly_mount_of_self();
  if (mounted.ok() || method == SealMethod::ReadonlyMount) return mounted;
  return sealed_copy_of_self();
}

ExeProtection exe_protection() {
  UniqueFd self(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self.valid()) return ExeProtection::None;
  int seals = ::fcntl(self.get(), F_GET_SEALS);
  if (seals >= 0 && (seals & (F_SEAL_WRITE | F_SEAL_SEAL)) == (F_SEAL_WRITE | F_SEAL_SEAL))
    return ExeProtection::SealedMemfd;
  struct statvfs vfs{};
  if (::fstatvfs(self.get(), &vfs) == 0 && (vfs.f_flag & ST_RDONLY)) return ExeProtection::ReadonlyMount;
  return ExeProtection::None;
}

core::Status ensure_protected_exe(char** argv, SealMethod method) {
  const char* carried = ::getenv(kOriginalExeEnv);
  if (carried != nullptr) {
    carried_executable() = carried;
    ::unsetenv(kOriginalExeEnv);  // never reaches hooks or containers
  }
  if (exe_protection() != ExeProtection::None) return core::ok();
  carried_executable().clear();  // not a copy we made: the variable came from outside
  PVEKIT_ASSIGN(auto self, proc_self_exe());
  PVEKIT_ASSIGN(auto copy, protected_copy_of_self(method));
  if (::setenv(kOriginalExeEnv, self.c_str(), 1) != 0) return Error::system("setenv", errno);
  ::syscall(SYS_execveat, copy.get(), "", argv, environ, AT_EMPTY_PATH);
  int err = errno;
  ::unsetenv(kOriginalExeEnv);
  return Error::system("re-exec from a protected copy of " + self, err);
}

core::Result<std::string> original_executable() {
  if (!carried_executable().empty() && exe_protection() != ExeProtection::None) return carried_executable();
  return proc_self_exe();
}

}  // namespace pvekit::oci::linux
