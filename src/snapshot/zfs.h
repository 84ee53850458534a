#pragma once

// The pure parts of the zfs driver: command lines and `zfs list` parsing.

#include <string>
#include <vector>

#include "core/result.h"
#include "snapshot/retention.h"

namespace pvekit::snapshot {

// `zfs list` of the snapshots directly below `dataset`, tab-separated
// (-H), creation as Unix seconds (-p), oldest first.
std::vector<std::string> zfs_list_snapshots_args(const std::string& zfs, const std::string& dataset);
// Parses that output ("tank/ct@snap\t1700000000" lines) into snapshot names
// of `dataset`; Parse error naming the line when one is malformed.
core::Result<std::vector<SnapshotInfo>> parse_zfs_snapshot_list(const std::string& text, const std::string& dataset);

}  // namespace pvekit::snapshot
