#pragma once

#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "balance/capacity.h"
#include "balance/config.h"
#include "balance/planner.h"
#include "core/result.h"
#include "pve/client.h"

// proxlb's commands: the imperative shell around the pure planner. Each takes
// a connected client and writes to `out`; main() only parses flags.
namespace pvekit::balance {

inline constexpr const char* kDefaultConfigPath = "/etc/proxlb/proxlb.yaml";

struct ConfigSources {
  // -c/--config; empty: kDefaultConfigPath when that file exists, else only
  // defaults, environment and flags.
  std::string path;
  // --set key=value overrides, in order.
  std::vector<std::pair<std::string, std::string>> overrides;
  std::map<std::string, std::string> environment;
};

// defaults < file < PROXLB_* environment < --set flags. Config errors name
// the key and where it came from. Secret files are read later, by
// pve::to_client_options.
core::Result<BalanceConfig> load_proxlb_config(const ConfigSources& sources);

struct CommandOptions {
  bool json = false;
  bool dry_run = false;  // balance
  int max_replans = 2;   // balance: fresh plans after the cluster changed under one
};

core::Status run_status(pve::Client& client, const BalanceConfig& config, const CommandOptions& options,
                        std::ostream& out);
core::Status run_plan(pve::Client& client, const BalanceConfig& config, const CommandOptions& options,
                      std::ostream& out);
// Fails (non-zero exit) when the cluster has no quorum, a migration failed,
// or the plan could not be completed.
core::Status run_balance(pve::Client& client, const BalanceConfig& config, const CommandOptions& options,
                         std::ostream& out);
// Writes the cluster as a pvesim scenario to `output` ("-": stdout; with
// --json the scenario is printed as JSON instead of YAML).
core::Status run_snapshot(pve::Client& client, const std::string& output, const CommandOptions& options,
                          std::ostream& out);
// ProxLB's command line without a subcommand (`proxlb -c FILE [-d] [-j]`):
// one balancing round as ProxLB runs it: plan, then migrate unless
// options.dry_run or balancing.enable is false. With options.json the output
// is ProxLB's JSON document (proxlb_compat_json) instead of the progress text.
core::Status run_compat_round(pve::Client& client, const BalanceConfig& config, const CommandOptions& options,
                              std::ostream& out);
core::Status run_best_node(pve::Client& client, const BalanceConfig& config, const PlacementRequest& request,
                           const CommandOptions& options, std::ostream& out);

// proxlb capacity (docs/capacity.md).
struct CapacityCommand {
  std::string timeframe = "month";  // rrddata history: week | month | year
  double threshold = 85;            // percent of capacity
  int failures = 1;                 // N+k
  WhatIf what_if;
  bool json = false;
  bool csv = false;
  std::string charts_dir;  // empty: no charts
};
// Usage errors for bad values, before anything is read from the cluster.
core::Status check_capacity_options(const CapacityCommand& command);
core::Status run_capacity(pve::Client& client, const BalanceConfig& config, const CapacityCommand& command,
                          std::ostream& out);
// The capacity report of a cluster already read (`state`): its nodes' RRD
// history over command.timeframe, then the what-if, forecast and failover
// check of the pure core. Errors: bad options (usage), a what-if that does
// not apply. Nodes without history are named in the report's notes.
core::Result<CapacityReport> capacity_report(pve::Client& client, const ClusterState& state,
                                             const BalanceConfig& config, const CapacityCommand& command);

}  // namespace pvekit::balance
