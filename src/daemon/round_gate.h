// Hysteresis for the daemon: balancing acts only on an imbalance that lasts
// and only for a plan that is worth its migrations, so a load spike between
// two rounds moves nothing (PVE's CRS likewise waits several HA-manager
// rounds). Rule repairs (maintenance evacuation, pins, affinity) are not
// balancing: they never wait.
#pragma once

#include <string>

namespace pvekit::daemon {

struct GateSettings {
  int hold = 3;         // consecutive rounds that need balancing before it is done
  double margin = 2.0;  // minimum narrowing of the spread (points) a balancing plan must bring
};

enum class GateVerdict {
  Balanced,  // no balancing needed this round
  Holding,   // needed, but not for `hold` rounds yet
  Plan,      // needed long enough: offer the plan to accept()
};

// What a round does with the plan it made.
enum class PlanVerdict {
  Execute,      // balancing is due and narrows the spread by at least `margin`
  RepairsOnly,  // balancing is not due or not worth it, but rules need repairs: run only those
  Skip,         // nothing worth a migration
};

class RoundGate {
 public:
  explicit RoundGate(GateSettings settings) : settings_(settings) {}

  // Whether this round's cluster needs balancing (the planner's verdict:
  // spread above balanciness or a threshold crossed).
  GateVerdict observe(bool balancing_needed);
  // The plan's spread before and after, and whether it repairs rules.
  // `hold_waived` (an admin's "balance now"): balancing needed this round is
  // due at once; the margin still applies.
  PlanVerdict accept(double spread_before, double spread_after, bool has_repairs, bool hold_waived = false) const;
  // A balancing plan ran: the next must wait `hold` rounds again, so the load
  // settles after the migrations before it is judged.
  void executed() { needed_rounds_ = 0; }
  // A new config (SIGHUP); the count of rounds is kept.
  void reconfigure(GateSettings settings) { settings_ = settings; }

  int needed_rounds() const { return needed_rounds_; }
  const GateSettings& settings() const { return settings_; }
  // "2 of 3 rounds", for logs and status.
  std::string progress() const;

 private:
  GateSettings settings_;
  int needed_rounds_ = 0;
};

}  // namespace pvekit::daemon
