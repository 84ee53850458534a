#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

namespace pvekit::core {

// Time as seen by simulations, schedulers and retry loops. Code takes a Clock&
// instead of calling std::chrono directly so tests can drive time by hand and
// pvesim can run faster than real time.
class Clock {
 public:
  using Duration = std::chrono::nanoseconds;
  virtual ~Clock() = default;
  // Wall-clock time as seconds since the Unix epoch (fractional).
  virtual double now_unix() const = 0;
  // Monotonic time in this clock's own time base.
  virtual Duration monotonic() const = 0;
  // Sleeps for `d` of this clock's time.
  virtual void sleep_for(Duration d) = 0;
};

class SystemClock final : public Clock {
 public:
  double now_unix() const override;
  Duration monotonic() const override;
  void sleep_for(Duration d) override;
};

// Real time multiplied by `scale` from the moment of construction: with scale
// 60, one real second is one simulated minute. `start_unix` fixes where the
// simulated wall clock starts (0: now).
class ScaledClock final : public Clock {
 public:
  explicit ScaledClock(double scale, double start_unix = 0);
  double now_unix() const override;
  Duration monotonic() const override;
  void sleep_for(Duration d) override;
  double scale() const { return scale_; }

 private:
  double scale_;
  double start_unix_;
  std::chrono::steady_clock::time_point real_start_;
};

// A clock that moves only when advance() is called; sleep_for advances it.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(double start_unix = 1'700'000'000.0) : unix_(start_unix) {}
  double now_unix() const override;
  Duration monotonic() const override;
  void sleep_for(Duration d) override { advance(d); }
  void advance(Duration d);

 private:
  mutable std::mutex mutex_;
  double unix_;
  Duration mono_{0};
};

}  // namespace pvekit::core
