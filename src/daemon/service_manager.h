// The daemon and its service manager (systemd's Type=notify protocol):
// readiness, status lines and the watchdog. Outside systemd (no
// NOTIFY_SOCKET) every call is a no-op.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "core/clock.h"

namespace pvekit::daemon {

// sd_notify(): "READY=1", "STATUS=...", "RELOADING=1", "STOPPING=1".
void notify_service_manager(const std::string& message);

// A clock that records, on every sleep, that the daemon is alive: the round
// loop and the executor's task polls all sleep through the client's clock.
class HeartbeatClock final : public core::Clock {
 public:
  explicit HeartbeatClock(core::Clock& inner);
  double now_unix() const override { return inner_.now_unix(); }
  Duration monotonic() const override { return inner_.monotonic(); }
  void sleep_for(Duration d) override;
  // Monotonic time of the last sleep (or of construction).
  Duration last_beat() const { return Duration(last_beat_.load()); }

 private:
  core::Clock& inner_;
  std::atomic<Duration::rep> last_beat_;
};

// Sends WATCHDOG=1 every half of systemd's WatchdogSec while the heartbeat
// is younger than WatchdogSec: a daemon stuck outside any wait stops
// pinging and systemd restarts it. `heartbeat_age`: the oldest heartbeat's
// age (with several clusters, one stuck loop is enough). Does nothing
// without a watchdog.
class Watchdog {
 public:
  explicit Watchdog(std::function<core::Clock::Duration()> heartbeat_age);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  bool enabled() const { return interval_.count() > 0; }

 private:
  std::function<core::Clock::Duration()> heartbeat_age_;
  std::chrono::microseconds interval_{0};
  std::jthread thread_;
};

}  // namespace pvekit::daemon
