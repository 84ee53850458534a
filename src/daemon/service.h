// `proxlb daemon`: the service as a whole. Builds, per cluster of the config
// (its `clusters:` list, or the one cluster of its top-level proxmox_api),
// the client, the leadership (none, etcd or the HA master) and a loop on a
// thread of its own, so that one cluster's slow or failing rounds never
// delay another's; shares the metrics, status API, audit log and webhooks; handles SIGTERM,
// SIGINT (finish running migrations, start no new one, exit 0) and SIGHUP
// (reload the config; a bad one is refused and the old one kept); talks to
// systemd (Type=notify, watchdog).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "balance/commands.h"
#include "balance/config.h"
#include "core/result.h"

namespace pvekit::daemon {

struct ServiceOptions {
  balance::ConfigSources sources;                     // read again on SIGHUP
  std::optional<std::chrono::milliseconds> interval;  // --interval: overrides the schedule
  int rounds = 0;                                     // --rounds: stop after N rounds (0: run until stopped)
  std::string cluster;                                // --cluster: the one cluster run (SIGHUP selects it again)
};

core::Status run_service(balance::BalanceConfig config, const ServiceOptions& options);

}  // namespace pvekit::daemon
