// What the dashboard remembers between page loads, in memory and bounded:
// the daemon's last rounds (imbalance over time) and the last events of the
// running balance (live migration progress over server-sent events). Pure:
// no I/O; thread-safe (the loop writes, HTTP threads read).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "core/json.h"

namespace pvekit::daemon {

// One round as the history chart shows it.
struct RoundPoint {
  double time = 0;  // Unix time
  std::string verdict;
  double spread_before = 0, spread_after = 0;
  double imbalance = 0;  // percent (coefficient of variation); 0 when the round read nothing
  size_t planned = 0, done = 0, failed = 0;
  bool ok = true;  // false: the round failed (error)
};

// The last `capacity` rounds; older ones are dropped first.
class RoundHistory {
 public:
  explicit RoundHistory(size_t capacity) : capacity_(capacity) {}
  void add(RoundPoint point);
  std::vector<RoundPoint> points() const;
  // [{time, verdict, spread_before, spread_after, imbalance, planned, done, failed, ok}], oldest first.
  core::Json json() const;

 private:
  mutable std::mutex mutex_;
  size_t capacity_;
  std::deque<RoundPoint> points_;
};

// Events numbered from 1 in order; the last `capacity` are kept, so a
// reader that falls further behind learns that it missed some.
class EventLog {
 public:
  struct Entry {
    uint64_t id = 0;
    std::string event;  // "migration_started", "round", ...
    std::string data;   // JSON text
  };
  explicit EventLog(size_t capacity) : capacity_(capacity) {}
  uint64_t append(std::string event, const core::Json& data);
  // The entries after `after` (oldest first); `missed` is set when entries
  // after `after` were already dropped.
  std::vector<Entry> since(uint64_t after, bool& missed) const;
  uint64_t last_id() const;

 private:
  mutable std::mutex mutex_;
  size_t capacity_;
  uint64_t next_id_ = 1;
  std::deque<Entry> entries_;
};

}  // namespace pvekit::daemon
