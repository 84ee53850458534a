// proxlb: balances guests across the nodes of a Proxmox VE cluster.
#include <iostream>

#include <CLI/CLI.hpp>

#include "balance/commands.h"
#include "core/clock.h"
#include "core/files.h"
#include "core/log.h"
#include "core/strings.h"
#include "daemon/service.h"
#include "daemon/status_client.h"
#include "pve/api_config.h"
#include "pve/client.h"
#include "pvekit/version.h"

namespace {

using namespace pvekit;

struct Flags {
  balance::ConfigSources sources;
  std::vector<std::string> sets;
  balance::CommandOptions command;
  core::LogOptions log{.level = "warn", .program = "proxlb"};
  std::string log_format = "text";
  std::string memory = "1G", disk = "0";
  std::string snapshot_output;
  balance::PlacementRequest placement;
  bool best_node = false;  // ProxLB's -b
  balance::CapacityCommand capacity;
  std::string guest_memory = "4G", guest_disk = "0";
  double interval_seconds = 0;  // daemon --interval
  int rounds = 0;               // daemon --rounds
  bool no_daemon = false;       // status, plan: read the cluster even when a daemon runs
  std::string cluster;          // --cluster: one entry of the config's clusters: list
};

core::Status parse_overrides(Flags& f) {
  for (const auto& s : f.sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      return core::Error(core::ErrorCategory::Usage, "--set '" + s + "': expected KEY=VALUE");
    f.sources.overrides.emplace_back(s.substr(0, eq), s.substr(eq + 1));
  }
  return core::ok();
}

core::Status parse_placement(Flags& f) {
  auto memory = core::parse_size(f.memory), disk = core::parse_size(f.disk);
  if (!memory) return core::Error(core::ErrorCategory::Usage, "--memory '" + f.memory + "' is not a size like 4G");
  if (!disk) return core::Error(core::ErrorCategory::Usage, "--disk '" + f.disk + "' is not a size like 32G");
  f.placement.memory = *memory;
  f.placement.disk = *disk;
  return core::ok();
}

// `command` is the subcommand, or empty for ProxLB's command line: a bare
// `proxlb -c FILE [-d] [-j]` runs one balancing round, `-b` prints the best
// node for a new guest.
core::Status parse_capacity(Flags& f) {
  auto memory = core::parse_size(f.guest_memory), disk = core::parse_size(f.guest_disk);
  if (!memory) return core::Error(core::ErrorCategory::Usage, "--guest-memory '" + f.guest_memory + "' is not a size like 4G");
  if (!disk) return core::Error(core::ErrorCategory::Usage, "--guest-disk '" + f.guest_disk + "' is not a size like 32G");
  f.capacity.what_if.guest_memory = *memory;
  f.capacity.what_if.guest_disk = *disk;
  f.capacity.json = f.command.json;
  return balance::check_capacity_options(f.capacity);
}

core::Status run(const std::string& command, Flags& f) {
  PVEKIT_TRY(parse_overrides(f));
  if (command == "capacity") PVEKIT_TRY(parse_capacity(f));
  if (f.best_node && !command.empty())
    return core::Error(core::ErrorCategory::Usage,
                       "-b/--best-node is ProxLB's form of the best-node subcommand; use one or the other");
  if (command == "best-node" || f.best_node) PVEKIT_TRY(parse_placement(f));
  PVEKIT_ASSIGN(f.log.format, core::parse_log_format(f.log_format));
  PVEKIT_TRY(core::init_logging(f.log));
  f.sources.environment = core::LayeredConfig::process_environment();
  if (f.sources.path.empty() && f.sources.environment.count("PROXLB_CONFIG"))
    f.sources.path = f.sources.environment["PROXLB_CONFIG"];
  PVEKIT_ASSIGN(auto loaded, balance::load_proxlb_config(f.sources));
  for (const auto& w : loaded.warnings) spdlog::warn("config: {}", w);
  if (command == "daemon" || command == "start") {
    daemon::ServiceOptions service{.sources = f.sources, .rounds = f.rounds, .cluster = f.cluster};
    if (f.interval_seconds > 0)
      service.interval = std::chrono::milliseconds(static_cast<int64_t>(f.interval_seconds * 1000));
    if (!f.cluster.empty()) {
      PVEKIT_ASSIGN(loaded, balance::select_cluster(loaded, f.cluster));
    }
    return daemon::run_service(std::move(loaded), service);
  }
  PVEKIT_ASSIGN(auto config, balance::select_cluster(loaded, f.cluster));
  core::SystemClock clock;
  if ((command == "status" || command == "plan") && !f.no_daemon) {
    PVEKIT_ASSIGN(bool shown, daemon::show_from_daemon(
                                  config.service.status_socket, config.name,
                                  command == "status" ? daemon::DaemonView::Status : daemon::DaemonView::Plan,
                                  f.command.json, clock.now_unix(), std::cout));
    if (shown) return core::ok();
  }
  PVEKIT_ASSIGN(auto options, pve::to_client_options(config.proxmox_api, core::read_file));
  PVEKIT_ASSIGN(auto transport, pve::make_transport(options));
  PVEKIT_ASSIGN(auto client, pve::Client::create(options, *transport, clock));
  if (command == "status") return balance::run_status(*client, config, f.command, std::cout);
  if (command == "plan") return balance::run_plan(*client, config, f.command, std::cout);
  if (command == "balance") return balance::run_balance(*client, config, f.command, std::cout);
  if (command == "capacity") return balance::run_capacity(*client, config, f.capacity, std::cout);
  if (command == "snapshot") return balance::run_snapshot(*client, f.snapshot_output, f.command, std::cout);
  if (command == "best-node" || f.best_node)
    return balance::run_best_node(*client, config, f.placement, f.command, std::cout);
  return balance::run_compat_round(*client, config, f.command, std::cout);
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  CLI::App app{"proxlb: balance guests across the nodes of a Proxmox VE cluster.\n"
               "Configuration: defaults < YAML file (-c, $PROXLB_CONFIG or " +
               std::string(balance::kDefaultConfigPath) + ") < PROXLB_* environment < --set.\n"
               "Without a subcommand proxlb works as ProxLB: `proxlb -c FILE` runs one balancing round\n"
               "(plan, then migrate unless -d or balancing.enable: false); -j prints ProxLB's JSON\n"
               "document of the round, -b the best node for a new guest, -v the version."};
  app.set_version_flag("-v,--version", std::string("proxlb version: ") + pvekit::kVersion +
                                           " (pvekit; ProxLB-compatible command line)");
  app.require_subcommand(0, 1);
  app.add_option("-c,--config", f.sources.path, "YAML config file (ProxLB's layout)");
  app.add_option("--cluster", f.cluster,
                 "The cluster of the config's clusters: list to work on (needed when it lists several; "
                 "the daemon then runs only that one)");
  app.add_option("--set", f.sets, "Override a config key, e.g. --set balancing.balanciness=3")->take_all();
  app.add_flag("-j,--json", f.command.json,
               "Print JSON: with a subcommand proxlb's own document, without one ProxLB's document of the round");
  app.add_flag("-d,--dry-run", f.command.dry_run, "Plan the round and print it, start no migration (as ProxLB)");
  app.add_flag("-b,--best-node", f.best_node,
               "Print the best node for a new guest (size: --memory 1G default, as best-node) and exit (as ProxLB)");
  app.add_option("--log-level", f.log.level, "trace, debug, info, warn, error, critical, off")->capture_default_str();
  app.add_option("--log-format", f.log_format, "text or json")->capture_default_str();
  app.add_option("--log-file", f.log.file, "Append logs to this file instead of stderr");

  auto* status_command = app.add_subcommand(
      "status", "Nodes with load bars, running/all guests, spread, imbalance and rule state; when a daemon runs "
                "(service.status_socket answers), as its last round read them, with the daemon's state");
  auto* plan_command = app.add_subcommand("plan", "The migrations that would even out the cluster, with before/after per "
                                          "node; when a daemon runs, its last plan");
  for (auto* sub : {status_command, plan_command}) {
    sub->add_flag("--no-daemon", f.no_daemon, "Read the cluster directly even when a proxlb daemon runs");
  }
  auto* balance = app.add_subcommand("balance",
                                     "Plan and run the migrations, with live progress; migrations already "
                                     "running count as on their way to their target");
  balance->add_flag("--dry-run", f.command.dry_run, "Print the plan and start nothing");
  auto* snapshot = app.add_subcommand("snapshot", "Write the cluster as a pvesim scenario, to rehearse on a twin");
  snapshot->add_option("-o,--output", f.snapshot_output, "Scenario file to write ('-' for stdout)")->required();
  for (const char* name : {"daemon", "start"}) {
    auto* d = app.add_subcommand(name, std::string(name) == "daemon"
                                           ? "Run as a service: rounds on service.schedule, balancing only after "
                                             "service.hold rounds of imbalance, leader election, metrics"
                                           : "The daemon under GoProxLB's name for it");
    d->add_option("--interval", f.interval_seconds,
                  "Seconds between rounds, overriding service.schedule (for trials and tests)")
        ->check(CLI::PositiveNumber);
    d->add_option("--rounds", f.rounds, "Stop after this many rounds (0: run until SIGTERM)")
        ->check(CLI::NonNegativeNumber);
  }
  auto* capacity = app.add_subcommand(
      "capacity", "Capacity per node and cluster, N+k failover check, forecast of when a threshold is crossed, what-if");
  capacity->add_option("--timeframe", f.capacity.timeframe, "rrddata history to read: week, month or year")
      ->capture_default_str();
  capacity->add_option("--threshold", f.capacity.threshold, "Percent of capacity the forecast and headroom use")
      ->capture_default_str();
  capacity->add_option("--failures", f.capacity.failures, "Nodes that fail at once in the failover check (N+k)")
      ->capture_default_str();
  capacity->add_option("--add-guests", f.capacity.what_if.add_guests, "What-if: add this many guests");
  capacity->add_option("--guest-memory", f.guest_memory, "What-if: memory of each added guest")->capture_default_str();
  capacity->add_option("--guest-cores", f.capacity.what_if.guest_cores, "What-if: vCPUs of each added guest")
      ->capture_default_str();
  capacity->add_option("--guest-disk", f.guest_disk, "What-if: local disk of each added guest")->capture_default_str();
  capacity->add_option("--remove-node", f.capacity.what_if.remove_nodes,
                       "What-if: remove this node (its running guests restart elsewhere); repeatable");
  capacity->add_option("--add-node-like", f.capacity.what_if.add_node_like,
                       "What-if: add an empty node like this one; repeatable");
  capacity->add_flag("--csv", f.capacity.csv, "Print the per-resource table as CSV");
  capacity->add_option("--charts", f.capacity.charts_dir, "Write SVG charts of history and forecast to this directory");
  auto* best = app.add_subcommand("best-node", "The node where a new guest of this size should go");
  best->add_option("--memory", f.memory, "Memory of the new guest, e.g. 4G")->capture_default_str();
  best->add_option("--cpus", f.placement.cpus, "vCPUs of the new guest");
  best->add_option("--disk", f.disk, "Local disk of the new guest, e.g. 32G")->capture_default_str();
  best->add_option("--tag", f.placement.tags, "Tags of the new guest (plb_pin_*, plb_anti_affinity_*, ...)");
  best->add_option("--pool", f.placement.pool, "Resource pool of the new guest");

  CLI11_PARSE(app, argc, argv);
  auto subcommands = app.get_subcommands();
  auto status = run(subcommands.empty() ? std::string() : subcommands.front()->get_name(), f);
  if (!status.ok()) {
    std::cerr << "error: " << status.error().to_string() << "\n";
    return 1;
  }
  return 0;
}
