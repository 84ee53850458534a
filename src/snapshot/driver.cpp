#include "snapshot/driver.h"

#include <sys/vfs.h>

#include <cerrno>

namespace pvekit::snapshot {

using core::Error;
using core::ErrorCategory;

namespace {
constexpr long kBtrfsMagic = 0x9123683E;
constexpr long kZfsMagic = 0x2fc12fc1;
}  // namespace

core::Result<FsKind> detect_fs(const std::string& path) {
  struct statfs fs {};
  if (::statfs(path.c_str(), &fs) != 0) return Error::system("statfs " + path, errno);
  if (static_cast<long>(fs.f_type) == kBtrfsMagic) return FsKind::Btrfs;
  if (static_cast<long>(fs.f_type) == kZfsMagic) return FsKind::Zfs;
  return FsKind::Other;
}

core::Result<DriverKind> choose_driver(const DriverChoice& c) {
  auto refuse = [](const std::string& why) { return Error(ErrorCategory::Usage, why); };
  if (c.proxmox_backend) {
    if (c.configured == DriverKind::Auto || c.configured == DriverKind::Pve) return DriverKind::Pve;
    return refuse("checkpoint.driver " + to_string(c.configured) +
                  ": the container lives on the proxmox backend, where only the pve driver applies");
  }
  switch (c.configured) {
    case DriverKind::Pve:
      return refuse("checkpoint.driver pve: the container is not on the proxmox backend");
    case DriverKind::Zfs:
    case DriverKind::Btrfs:
    case DriverKind::Criu:
      return c.configured;
    case DriverKind::Auto:
      break;
  }
  if (!c.named_snapshot) return DriverKind::Criu;
  if (c.rootfs_fs == FsKind::Btrfs) return DriverKind::Btrfs;
  if (c.rootfs_fs == FsKind::Zfs) return DriverKind::Zfs;
  return refuse("--snapshot: the rootfs is neither on btrfs nor on zfs, so no snapshot driver applies "
                "(set checkpoint.driver, or use criu without --snapshot)");
}

core::Result<std::vector<std::string>> apply_retention(Driver& driver, const Target& target,
                                                       const RetentionPolicy& policy, int64_t now,
                                                       const std::string& just_taken) {
  if (policy.max_snapshots == 0 && policy.max_age_s == 0) return std::vector<std::string>{};
  PVEKIT_ASSIGN(auto snapshots, driver.list(target));
  auto expired = select_expired(std::move(snapshots), policy, now, just_taken);
  for (const auto& name : expired) PVEKIT_TRY(driver.remove(target, name).wrap("retention"));
  return expired;
}

}  // namespace pvekit::snapshot
