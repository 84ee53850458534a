// Who may act. Several proxlb daemons may watch one cluster; before every
// round, wave and migration the daemon asks its Leadership, and an answer
// other than a plain yes (an error included) means: start nothing.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"
#include "pve/client.h"

namespace pvekit::daemon {

class Leadership {
 public:
  virtual ~Leadership() = default;
  virtual core::Result<bool> confirm() = 0;
  // "leader in etcd election proxlb/lab", for logs and status.
  virtual std::string describe() const = 0;
};

// A single daemon (service.leader_election.mode: none): always the one.
class SoleDaemon final : public Leadership {
 public:
  core::Result<bool> confirm() override { return true; }
  std::string describe() const override { return "the only daemon (no leader election)"; }
};

// One daemon per Proxmox node without etcd (mode ha-master): only the daemon
// on the node that is the HA stack's CRM master acts, as read from
// /cluster/ha/status/manager_status. It relies on PVE's own master election,
// so it is only as exclusive as that status is fresh: during a CRM fail-over
// two daemons may each see themselves as master for one check. The status is
// refused when older than `max_age_seconds` or when the cluster has no
// quorum.
class HaMasterLeadership final : public Leadership {
 public:
  HaMasterLeadership(pve::Client& client, std::string node, double max_age_seconds = 60);
  core::Result<bool> confirm() override;
  std::string describe() const override;

 private:
  pve::Client& client_;
  std::string node_;
  double max_age_seconds_;
  std::string last_master_;
};

}  // namespace pvekit::daemon
