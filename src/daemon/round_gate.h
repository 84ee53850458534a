// Hysteresis for the daemon: balancing acts only on an imbalance that lasts
// and only for a plan that is worth its migrations, so a load spike between
// two rounds moves nothing (PVE's CRS likewise waits several HA-manager
// rounds). Rule repairs (maintenance evacuation, pins, affinity) are not
// balancing: they never wait.
#pragma once

#include <string>

namespace pvekit::daemon {

struct GateSettings {
  double balanciness = 10.0;  // spread (percentage points) above which a round counts as imbalanced
  int hold = 3;               // consecutive imbalanced rounds before balancing
  double margin = 2.0;        // minimum improvement of the spread (points) a plan must bring
};

enum class GateVerdict {
  Balanced,   // spread within balanciness: nothing to do
  Holding,    // imbalanced, but not for `hold` rounds yet
  Plan,       // imbalanced long enough: make a plan and offer it to accept()
};

// What a round does with a plan it made.
enum class PlanVerdict {
  Execute,         // improves the spread by at least `margin`, or repairs rules
  RepairsOnly,     // not worth balancing, but it repairs rules: run only those moves
  Skip,            // not worth its migrations
};

class RoundGate {
 public:
  explicit RoundGate(GateSettings settings) : settings_(settings) {}

  // The spread measured at the start of a round.
  GateVerdict observe(double spread);
  // The plan made after GateVerdict::Plan (or for repairs only): its spread
  // before and after, and whether it has rule repairs.
  PlanVerdict accept(double spread_before, double spread_after, bool has_repairs) const;
  // A balancing plan ran: the next one must wait `hold` rounds again, so the
  // load can settle after the migrations.
  void executed() { imbalanced_rounds_ = 0; }

  int imbalanced_rounds() const { return imbalanced_rounds_; }
  const GateSettings& settings() const { return settings_; }
  // "spread 23.4 above balanciness 10 for 2 of 3 rounds", for logs and status.
  std::string explain(double spread) const;

 private:
  GateSettings settings_;
  int imbalanced_rounds_ = 0;
};

}  // namespace pvekit::daemon
