#include "oci/linux/selfexec.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "oci/fd.h"

extern char** environ;

namespace pvekit::oci::linux {

using core::Error;

namespace {

constexpr int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
constexpr int kSealAttempts = 5;

core::Result<UniqueFd> sealed_copy_of_self() {
  UniqueFd self(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self.valid()) return Error::system("open /proc/self/exe", errno);
  struct stat st{};
  if (::fstat(self.get(), &st) != 0) return Error::system("stat /proc/self/exe", errno);
  UniqueFd mem(::memfd_create("lxcri", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!mem.valid()) return Error::system("memfd_create", errno);
  off_t offset = 0;
  while (offset < st.st_size) {
    ssize_t n = ::sendfile(mem.get(), self.get(), &offset, static_cast<size_t>(st.st_size - offset));
    if (n < 0 && errno != EINTR) return Error::system("copy /proc/self/exe to memfd", errno);
    if (n == 0) break;
  }
  // The kernel refuses F_SEAL_WRITE with EBUSY while something else holds a
  // page of the file for a moment (seen once in CI under load); it waits a
  // little itself before giving up, and a few more tries ride that out.
  for (int attempt = 1;; ++attempt) {
    if (::fcntl(mem.get(), F_ADD_SEALS, kSeals) == 0) return mem;
    if (errno != EBUSY || attempt == kSealAttempts) return Error::system("seal memfd", errno);
    ::usleep(20'000);
  }
}

// The guard's value in the re-executed copy, read before it is removed.
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

bool running_from_sealed_memfd() {
  UniqueFd self(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self.valid()) return false;
  int seals = ::fcntl(self.get(), F_GET_SEALS);
  return seals >= 0 && (seals & (F_SEAL_WRITE | F_SEAL_SEAL)) == (F_SEAL_WRITE | F_SEAL_SEAL);
}

core::Status reexec_from_sealed_memfd(char** argv) {
  if (const char* carried = ::getenv(kSelfExecGuard)) {
    carried_executable() = carried;
    ::unsetenv(kSelfExecGuard);
    return core::ok();
  }
  PVEKIT_ASSIGN(auto self, proc_self_exe());
  PVEKIT_ASSIGN(auto mem, sealed_copy_of_self());
  if (::setenv(kSelfExecGuard, self.c_str(), 1) != 0) return Error::system("setenv", errno);
  // MFD_CLOEXEC is safe here: an ELF binary is mapped before the fd closes.
  ::fexecve(mem.get(), argv, environ);
  int err = errno;
  ::unsetenv(kSelfExecGuard);
  return Error::system("re-exec from sealed memfd", err);
}

core::Result<std::string> original_executable() {
  // The guard is also settable by hand (to skip the re-exec); only the sealed copy trusts it.
  if (!carried_executable().empty() && running_from_sealed_memfd()) return carried_executable();
  return proc_self_exe();
}

}  // namespace pvekit::oci::linux
