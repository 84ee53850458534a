#include "daemon/leadership.h"

#include <cmath>

#include <fmt/format.h>

#include "pve/api.h"

namespace pvekit::daemon {

HaMasterLeadership::HaMasterLeadership(pve::Client& client, std::string node, double max_age_seconds)
    : client_(client), node_(std::move(node)), max_age_seconds_(max_age_seconds) {}

core::Result<bool> HaMasterLeadership::confirm() {
  PVEKIT_ASSIGN(auto status, pve::get_ha_manager_status(client_).wrap("read the HA manager status"));
  last_master_ = status.master_node;
  if (!status.quorate || status.master_node.empty()) return false;
  double age = client_.clock().now_unix() - status.timestamp;
  if (std::fabs(age) > max_age_seconds_) {
    return core::Error(core::ErrorCategory::Conflict,
                       fmt::format("the HA manager status is {:.0f} s old (more than {:.0f} s): no master is known",
                                   age, max_age_seconds_));
  }
  return status.master_node == node_;
}

std::string HaMasterLeadership::describe() const {
  if (last_master_.empty()) return "node " + node_ + " (HA master mode, no master seen yet)";
  if (last_master_ == node_) return "node " + node_ + ", the HA master";
  return "node " + node_ + " (HA master mode; the master is " + last_master_ + ")";
}

}  // namespace pvekit::daemon
