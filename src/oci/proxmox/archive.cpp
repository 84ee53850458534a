#include "oci/proxmox/archive.h"

#include <unistd.h>

#include "core/process.h"

namespace pvekit::oci::proxmox {

core::Status write_rootfs_archive(const std::string& rootfs, const std::string& path) {
  core::ProcessRunner runner;
  auto packed = core::run_checked(
      runner, {"tar", "--create", "--gzip", "--numeric-owner", "--file", path, "--directory", rootfs, "."});
  if (packed.ok()) return core::ok();
  ::unlink(path.c_str());
  return std::move(packed).error().wrap("pack " + rootfs);
}

}  // namespace pvekit::oci::proxmox
