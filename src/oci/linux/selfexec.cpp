#include "oci/linux/selfexec.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "oci/fd.h"

extern char** environ;

namespace pvekit::oci::linux {

using core::Error;

namespace {

constexpr int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

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
  if (::fcntl(mem.get(), F_ADD_SEALS, kSeals) != 0) return Error::system("seal memfd", errno);
  return mem;
}

}  // namespace

bool running_from_sealed_memfd() {
  UniqueFd self(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self.valid()) return false;
  int seals = ::fcntl(self.get(), F_GET_SEALS);
  return seals >= 0 && (seals & (F_SEAL_WRITE | F_SEAL_SEAL)) == (F_SEAL_WRITE | F_SEAL_SEAL);
}

core::Status reexec_from_sealed_memfd(char** argv) {
  if (::getenv(kSelfExecGuard) != nullptr) {
    ::unsetenv(kSelfExecGuard);
    return core::ok();
  }
  PVEKIT_ASSIGN(auto mem, sealed_copy_of_self());
  if (::setenv(kSelfExecGuard, "1", 1) != 0) return Error::system("setenv", errno);
  // MFD_CLOEXEC is safe here: an ELF binary is mapped before the fd closes.
  ::fexecve(mem.get(), argv, environ);
  int err = errno;
  ::unsetenv(kSelfExecGuard);
  return Error::system("re-exec from sealed memfd", err);
}

}  // namespace pvekit::oci::linux
