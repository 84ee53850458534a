#include "daemon/round_gate.h"

namespace pvekit::daemon {

GateVerdict RoundGate::observe(bool balancing_needed) {
  if (!balancing_needed) {
    needed_rounds_ = 0;
    return GateVerdict::Balanced;
  }
  ++needed_rounds_;
  return needed_rounds_ >= settings_.hold ? GateVerdict::Plan : GateVerdict::Holding;
}

PlanVerdict RoundGate::accept(double spread_before, double spread_after, bool has_repairs, bool hold_waived) const {
  bool due = hold_waived ? needed_rounds_ > 0 : needed_rounds_ >= settings_.hold;
  if (due && spread_before - spread_after >= settings_.margin) return PlanVerdict::Execute;
  return has_repairs ? PlanVerdict::RepairsOnly : PlanVerdict::Skip;
}

std::string RoundGate::progress() const {
  return std::to_string(needed_rounds_) + " of " + std::to_string(settings_.hold) + " rounds";
}

}  // namespace pvekit::daemon
