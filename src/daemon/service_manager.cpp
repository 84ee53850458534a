#include "daemon/service_manager.h"

#include <systemd/sd-daemon.h>

namespace pvekit::daemon {

void notify_service_manager(const std::string& message) { sd_notify(0, message.c_str()); }

HeartbeatClock::HeartbeatClock(core::Clock& inner) : inner_(inner), last_beat_(inner.monotonic().count()) {}

void HeartbeatClock::sleep_for(Duration d) {
  last_beat_ = inner_.monotonic().count();
  inner_.sleep_for(d);
  last_beat_ = inner_.monotonic().count();
}

Watchdog::Watchdog(std::function<core::Clock::Duration()> heartbeat_age) : heartbeat_age_(std::move(heartbeat_age)) {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
  interval_ = std::chrono::microseconds(usec);
  thread_ = std::jthread([this](std::stop_token stop) {
    // Real time, not the daemon's clock: systemd counts real time.
    auto half = interval_ / 2;
    while (!stop.stop_requested()) {
      if (heartbeat_age_() < interval_) sd_notify(0, "WATCHDOG=1");
      for (auto slept = std::chrono::microseconds(0); slept < half && !stop.stop_requested();
           slept += std::chrono::milliseconds(100)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  });
}

Watchdog::~Watchdog() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

}  // namespace pvekit::daemon
