#include "daemon/dashboard_history.h"

namespace pvekit::daemon {

void RoundHistory::add(RoundPoint point) {
  std::lock_guard lock(mutex_);
  if (capacity_ == 0) return;
  if (points_.size() == capacity_) points_.pop_front();
  points_.push_back(std::move(point));
}

std::vector<RoundPoint> RoundHistory::points() const {
  std::lock_guard lock(mutex_);
  return {points_.begin(), points_.end()};
}

core::Json RoundHistory::json() const {
  core::Json out = core::Json::array();
  for (const auto& p : points()) {
    out.push_back({{"time", p.time}, {"verdict", p.verdict}, {"spread_before", p.spread_before},
                   {"spread_after", p.spread_after}, {"imbalance", p.imbalance}, {"planned", p.planned},
                   {"done", p.done}, {"failed", p.failed}, {"ok", p.ok}});
  }
  return out;
}

uint64_t EventLog::append(std::string event, const core::Json& data) {
  // Invalid UTF-8 from PVE (a guest name) becomes U+FFFD instead of an exception.
  std::string text = data.dump(-1, ' ', false, core::Json::error_handler_t::replace);
  std::lock_guard lock(mutex_);
  const uint64_t id = next_id_++;
  if (capacity_ == 0) return id;
  if (entries_.size() == capacity_) entries_.pop_front();
  entries_.push_back({id, std::move(event), std::move(text)});
  return id;
}

std::vector<EventLog::Entry> EventLog::since(uint64_t after, bool& missed) const {
  std::lock_guard lock(mutex_);
  const uint64_t first_kept = entries_.empty() ? next_id_ : entries_.front().id;
  missed = after + 1 < first_kept && after + 1 < next_id_;
  std::vector<Entry> out;
  for (const auto& e : entries_) {
    if (e.id > after) out.push_back(e);
  }
  return out;
}

uint64_t EventLog::last_id() const {
  std::lock_guard lock(mutex_);
  return next_id_ - 1;
}

}  // namespace pvekit::daemon
