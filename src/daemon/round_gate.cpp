#include "daemon/round_gate.h"

#include <fmt/format.h>

namespace pvekit::daemon {

GateVerdict RoundGate::observe(double spread) {
  if (spread <= settings_.balanciness) {
    imbalanced_rounds_ = 0;
    return GateVerdict::Balanced;
  }
  ++imbalanced_rounds_;
  return imbalanced_rounds_ >= settings_.hold ? GateVerdict::Plan : GateVerdict::Holding;
}

PlanVerdict RoundGate::accept(double spread_before, double spread_after, bool has_repairs) const {
  bool worth_balancing =
      imbalanced_rounds_ >= settings_.hold && spread_before - spread_after >= settings_.margin;
  if (worth_balancing) return PlanVerdict::Execute;
  return has_repairs ? PlanVerdict::RepairsOnly : PlanVerdict::Skip;
}

std::string RoundGate::explain(double spread) const {
  if (spread <= settings_.balanciness) {
    return fmt::format("spread {:.1f} within balanciness {:g}", spread, settings_.balanciness);
  }
  return fmt::format("spread {:.1f} above balanciness {:g} for {} of {} rounds", spread, settings_.balanciness,
                     imbalanced_rounds_, settings_.hold);
}

}  // namespace pvekit::daemon
