#include "snapshot/retention.h"

#include <algorithm>
#include <ctime>

#include "core/strings.h"
#include "core/utc_time.h"

namespace pvekit::snapshot {

std::vector<std::string> select_expired(std::vector<SnapshotInfo> snapshots, const RetentionPolicy& policy,
                                        int64_t now, const std::string& keep) {
  // Newest first, so the count limit keeps a prefix.
  std::sort(snapshots.begin(), snapshots.end(), [](const SnapshotInfo& a, const SnapshotInfo& b) {
    return a.created != b.created ? a.created > b.created : a.name > b.name;
  });
  std::vector<std::string> expired;
  // The snapshot just taken counts against the limit first, whatever time it reports.
  int64_t kept = std::count_if(snapshots.begin(), snapshots.end(), [&](const SnapshotInfo& s) { return s.name == keep; });
  for (const SnapshotInfo& s : snapshots) {
    if (s.name == keep) continue;
    bool too_old = policy.max_age_s > 0 && s.created > 0 && now - s.created > policy.max_age_s;
    bool too_many = policy.max_snapshots > 0 && kept >= policy.max_snapshots;
    if (too_old || too_many) expired.push_back(s.name);
    else ++kept;
  }
  std::reverse(expired.begin(), expired.end());
  return expired;
}

std::optional<int64_t> parse_age(std::string_view text) {
  text = core::trim(text);
  if (text.empty()) return std::nullopt;
  int64_t unit = 1;
  switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: unit = 0; break;
  }
  if (unit != 0) text.remove_suffix(1);
  else unit = 1;
  auto n = core::parse_int(text);
  if (!n || *n < 0 || *n > INT64_MAX / unit) return std::nullopt;
  return *n * unit;
}

core::Status validate_snapshot_name(const std::string& name) {
  auto bad = [&](const std::string& why) {
    return core::Error(core::ErrorCategory::Usage, "snapshot name \"" + name + "\": " + why);
  };
  if (name.size() < 2 || name.size() > 40) return bad("must be 2 to 40 characters long");
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(name[0])) return bad("must start with a letter");
  for (char c : name)
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '_') return bad("only letters, digits and '_' are allowed");
  return core::ok();
}

std::string auto_snapshot_name(int64_t unix_ms) {
  char ms[8];
  std::snprintf(ms, sizeof ms, "_%03d", static_cast<int>(unix_ms % 1000));
  return core::format_utc(static_cast<std::time_t>(unix_ms / 1000), "lxcri_%Y%m%d_%H%M%S") + ms;
}

std::string expand_template(std::string text, const std::vector<std::pair<std::string, std::string>>& values) {
  for (const auto& [key, value] : values) {
    const std::string placeholder = "{" + key + "}";
    for (size_t at = text.find(placeholder); at != std::string::npos;
         at = text.find(placeholder, at + value.size()))
      text.replace(at, placeholder.size(), value);
  }
  return text;
}

}  // namespace pvekit::snapshot
