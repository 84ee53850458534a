#pragma once

#include <string>

#include "core/result.h"
#include "pve/oci_archive.h"

namespace pvekit::oci::proxmox {

// Packs `rootfs` into a gzip'ed tar at `path` (numeric owners, as PVE's
// templates) with the system's tar(1).
core::Status write_rootfs_archive(const std::string& rootfs, const std::string& path);

// Writes an OCI image archive at `path` (a plain tar of an image layout, as
// PVE 9.1 takes for a template): one layer, the rootfs packed by tar(1)
// (numeric owners) and gzip(1), and `config` as the image's process. Uses
// `path`.layer.tar[.gz] meanwhile; nothing is left behind on failure.
core::Status write_oci_archive(const std::string& rootfs, const std::string& path, const pve::OciImageConfig& config,
                               const std::string& created);

}  // namespace pvekit::oci::proxmox
