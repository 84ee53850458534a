// The protected copies lxcri re-executes from (CVE-2019-5736): both must run
// the same binary and refuse every way of writing to it.

#include "oci/linux/selfexec.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstring>

#include "core/files.h"
#include "oci/linux/in_root.h"

namespace pvekit::oci::linux {
namespace {

std::string contents_of(int fd) {
  auto text = core::read_file(fd_path(fd));
  EXPECT_TRUE(text.ok());
  return text.ok() ? *text : "";
}

TEST(SelfExec, SealedMemfdIsTheBinaryAndCannotBeWritten) {
  auto copy = protected_copy_of_self(SealMethod::Memfd);
  ASSERT_TRUE(copy.ok()) << copy.error().to_string();
  int seals = ::fcntl(copy->get(), F_GET_SEALS);
  EXPECT_EQ(seals & (F_SEAL_WRITE | F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW),
            F_SEAL_WRITE | F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW);
  EXPECT_EQ(contents_of(copy->get()), *core::read_file("/proc/self/exe"));
  // Opening is allowed; F_SEAL_WRITE refuses every write.
  UniqueFd writable(::open(fd_path(copy->get()).c_str(), O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(writable.valid());
  EXPECT_EQ(::write(writable.get(), "x", 1), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::fcntl(copy->get(), F_ADD_SEALS, 0), -1) << "F_SEAL_SEAL lets nobody change the seals";
}

TEST(SelfExec, ReadonlyMountIsTheBinaryAndCannotBeWritten) {
  auto copy = protected_copy_of_self(SealMethod::ReadonlyMount);
  if (!copy.ok() && copy.error().sys_errno() == EPERM) GTEST_SKIP() << "needs CAP_SYS_ADMIN: " << copy.error().to_string();
  ASSERT_TRUE(copy.ok()) << copy.error().to_string();
  struct statvfs vfs{};
  ASSERT_EQ(::fstatvfs(copy->get(), &vfs), 0);
  EXPECT_TRUE(vfs.f_flag & ST_RDONLY);
  EXPECT_EQ(contents_of(copy->get()), *core::read_file("/proc/self/exe"));
  // While we run it the kernel may answer ETXTBSY first; after we exit, EROFS
  // remains (attacks_exe_overwrite checks that on a container's init).
  UniqueFd writable(::open(fd_path(copy->get()).c_str(), O_WRONLY | O_CLOEXEC));
  EXPECT_FALSE(writable.valid());
  EXPECT_TRUE(errno == EROFS || errno == ETXTBSY) << std::strerror(errno);
}

}  // namespace
}  // namespace pvekit::oci::linux
