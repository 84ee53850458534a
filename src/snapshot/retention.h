#pragma once

// Snapshot names and retention: which snapshots a policy lets go. Pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace pvekit::snapshot {

struct SnapshotInfo {
  std::string name;
  int64_t created = 0;  // Unix seconds; 0 when the driver cannot tell
};

struct RetentionPolicy {
  int64_t max_snapshots = 0;  // keep at most this many (newest first); 0: no limit
  int64_t max_age_s = 0;      // drop snapshots older than this many seconds; 0: no limit
};

// The snapshots `policy` drops, oldest first. `keep` (the snapshot just
// taken) is never dropped; snapshots with an unknown creation time (0) are
// only dropped by the count limit. Ties in age are broken by name.
std::vector<std::string> select_expired(std::vector<SnapshotInfo> snapshots, const RetentionPolicy& policy,
                                        int64_t now, const std::string& keep);

// Ages as "90" (seconds), "30s", "15m", "12h", "7d", "2w"; nullopt when
// malformed or negative.
std::optional<int64_t> parse_age(std::string_view text);

// Snapshot names follow Proxmox's rule for snapshot names (pve-configid), so
// one name works with every driver: a letter, then letters, digits or '_',
// 2 to 40 characters in all. Usage error naming the value otherwise.
core::Status validate_snapshot_name(const std::string& name);

// The name given to an unnamed snapshot taken at `unix_ms` (milliseconds),
// UTC: "lxcri_20260101_120000_123".
std::string auto_snapshot_name(int64_t unix_ms);

// `text` with every "{key}" replaced by its value.
std::string expand_template(std::string text, const std::vector<std::pair<std::string, std::string>>& values);

}  // namespace pvekit::snapshot
