#include "core/clock.h"

#include <thread>

namespace pvekit::core {

double SystemClock::now_unix() const {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Clock::Duration SystemClock::monotonic() const {
  return std::chrono::steady_clock::now().time_since_epoch();
}

void SystemClock::sleep_for(Duration d) { std::this_thread::sleep_for(d); }

ScaledClock::ScaledClock(double scale, double start_unix)
    : scale_(scale > 0 ? scale : 1.0),
      start_unix_(start_unix > 0 ? start_unix : SystemClock().now_unix()),
      real_start_(std::chrono::steady_clock::now()) {}

double ScaledClock::now_unix() const {
  std::chrono::duration<double> real = std::chrono::steady_clock::now() - real_start_;
  return start_unix_ + real.count() * scale_;
}

Clock::Duration ScaledClock::monotonic() const {
  auto real = std::chrono::steady_clock::now() - real_start_;
  return std::chrono::duration_cast<Duration>(real * scale_);
}

void ScaledClock::sleep_for(Duration d) {
  std::this_thread::sleep_for(std::chrono::duration_cast<Duration>(d / scale_));
}

double ManualClock::now_unix() const {
  std::lock_guard lock(mutex_);
  return unix_;
}

Clock::Duration ManualClock::monotonic() const {
  std::lock_guard lock(mutex_);
  return mono_;
}

void ManualClock::advance(Duration d) {
  std::lock_guard lock(mutex_);
  mono_ += d;
  unix_ += std::chrono::duration<double>(d).count();
}

}  // namespace pvekit::core
