#pragma once

#include <string>

#include "core/result.h"

namespace pvekit::oci::proxmox {

// Packs `rootfs` into a gzip'ed tar at `path` (numeric owners, as PVE's
// templates) with the system's tar(1).
core::Status write_rootfs_archive(const std::string& rootfs, const std::string& path);

}  // namespace pvekit::oci::proxmox
