// `proxlb status` and `proxlb plan` through a running daemon: when its status
// socket answers, they show what the daemon's last round read and planned
// (and the daemon's state) instead of reading the cluster themselves.
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "core/json.h"
#include "core/result.h"

namespace pvekit::daemon {

// GET `target` on the status socket. nullopt when no daemon answers there
// (no socket, or a stale one left by a killed daemon) or it has nothing to
// show yet (404: no round read the cluster): the caller reads the cluster
// itself. Errors: a daemon answered, but not with 200.
core::Result<std::optional<std::string>> ask_daemon(const std::string& socket, const std::string& target);

// Two lines saying where the output comes from and what the daemon is doing:
// leader, last round, hold, PVE's CRS, next round. `status` is /status's
// document, `now_unix` the time it is shown.
std::string daemon_summary(const core::Json& status, const std::string& socket, double now_unix);

enum class DaemonView { Status, Plan };

// Prints the status or plan as the daemon's last round saw it, in the
// command's own format (text, or its JSON document with a "daemon" member
// added). `cluster`: the entry of the config's clusters: list (the status
// API's ?cluster=); empty for a config of one cluster. False when no daemon
// answers on `socket`.
core::Result<bool> show_from_daemon(const std::string& socket, const std::string& cluster, DaemonView view, bool json,
                                    double now_unix, std::ostream& out);

}  // namespace pvekit::daemon
