#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "balance/model.h"
#include "core/config.h"
#include "core/result.h"
#include "pve/api_config.h"

namespace pvekit::balance {

// proxlb's configuration. Keys follow ProxLB's YAML where they mean the same
// thing (docs/proxlb-config.md documents every key). Loading is layered with
// core::LayeredConfig: defaults < file < environment (PROXLB_*) < flags.

enum class Method { Memory, Cpu, Disk };
enum class Mode { Used, Assigned, Psi };

// The one table of their names in the config file and in reports.
inline constexpr std::array<std::pair<Method, std::string_view>, 3> kMethodNames{
    {{Method::Memory, "memory"}, {Method::Cpu, "cpu"}, {Method::Disk, "disk"}}};
inline constexpr std::array<std::pair<Mode, std::string_view>, 3> kModeNames{
    {{Mode::Used, "used"}, {Mode::Assigned, "assigned"}, {Mode::Psi, "psi"}}};
std::string_view to_string(Method method);
std::string_view to_string(Mode mode);
// The config schema's choices (balancing.method, balancing.mode, dpm.method).
std::vector<std::string> method_names();
std::vector<std::string> mode_names();
enum class GroupType { Affinity, AntiAffinity };

struct ClusterConfig {
  std::vector<std::string> maintenance_nodes;
  std::vector<std::string> ignore_nodes;
  bool overprovisioning = true;  // false: assigned memory must fit physically
};

// balancing.pools.<name>: guests of a PVE pool form a group.
struct PoolRule {
  GroupType type = GroupType::Affinity;
  std::vector<std::string> pin;  // allowed nodes; empty: any
  // ProxLB's `strict`: false adds the least used node of the snapshot (ProxLB's
  // "most free node") to `pin`, so the pins are preferred, not required, and
  // no conflict is reported when none of them can take guests.
  bool strict = true;
};

// Weights of the resources in the imbalance (normalised by their sum).
struct Weights {
  double memory = 1.0;
  double cpu = 0.0;
  double disk = 0.0;
};

// A move must gain at least min_gain + per_gib * GiB copied imbalance
// points (imbalance is in percent, see score.h).
struct MigrationCost {
  double per_gib = 0.0005;
  double min_gain = 0.001;
};

struct HistoryConfig {
  bool enable = false;
  int window_hours = 24;
  int percentile = 95;  // 1..100
};

struct BalancingConfig {
  bool enable = true;
  bool enforce_affinity = false;
  bool enforce_pinning = false;
  bool parallel = false;
  int parallel_jobs = 5;  // per node, when parallel
  bool live = true;
  bool with_local_disks = true;
  bool with_conntrack_state = true;
  bool balance_vms = true;  // balance_types contains "vm"
  bool balance_cts = true;  // balance_types contains "ct"
  int max_job_validation = 1800;  // seconds
  // As ProxLB: balanced when the most and the least used node differ by at
  // most this many percentage points (LoadModel::spread(), in the method and
  // mode of balancing).
  double balanciness = 5.0;
  // Optional second test on the coefficient-of-variation imbalance
  // (LoadModel::imbalance(), percent): unset, only balanciness decides.
  std::optional<double> imbalance_threshold;
  std::optional<double> memory_threshold;  // percent of a node; above it: rebalance
  std::optional<double> cpu_threshold;
  std::optional<double> disk_threshold;
  Method method = Method::Memory;
  Mode mode = Mode::Used;
  bool balance_larger_guests_first = false;
  Reserve default_reserve;
  std::map<std::string, Reserve> node_reserve;  // per node, overrides defaults
  double cpu_overcommit = 0.0;  // max vCPUs per core on a node; 0: unlimited
  std::map<std::string, PoolRule> pools;
  Weights weights;  // derived from method unless balancing.weights is set
  MigrationCost migration_cost;
  HistoryConfig history;
  int max_moves = 500;  // bound on planned moves per run
};

// Who acts when several daemons watch one cluster (service.leader_election).
struct LeaderElectionConfig {
  std::string mode = "none";  // none (a single daemon) | etcd | ha-master
  std::vector<std::string> etcd_endpoints;
  std::string etcd_election;  // empty: "proxlb/" + the first proxmox_api host
  int etcd_lease_ttl = 10;    // seconds
  // https endpoints: the CA that signed etcd's certificate (empty: the
  // system's), and a client certificate for etcd's --client-cert-auth.
  std::string etcd_ca_file;
  std::string etcd_cert_file;
  std::string etcd_key_file;
  std::string node;           // ha-master: this daemon's node; empty: the host name
};

// The events a webhook can ask for (service.webhooks[].events);
// docs/proxlb-config.md documents each one's body.
inline constexpr std::array<std::string_view, 5> kWebhookEvents{
    "plan_executed", "migration_failed", "migration_succeeded", "leader_changed", "round_failed"};

// service.webhooks[]: a JSON POST to `url` for each of `events`.
struct WebhookConfig {
  std::string url;  // http:// or https://; may hold a secret (a Slack path): logged as scheme://host only
  std::vector<std::string> events{"plan_executed", "migration_failed", "leader_changed"};
  int timeout = 5;  // seconds, per attempt
  int retries = 3;  // attempts after the first
  std::vector<std::pair<std::string, std::string>> headers;  // name, value
  // name -> file whose content (trimmed) is the value: secrets such as an
  // Authorization token, read at start and on SIGHUP, never logged.
  std::vector<std::pair<std::string, std::string>> header_files;
  std::string ca_file;  // https: the CA of the receiver's certificate; empty: the system's
};

// service.dashboard: the web dashboard the daemon serves (docs/dashboard.md).
struct DashboardConfig {
  // host:port; empty: no dashboard. A host that is not loopback needs TLS
  // (cert_file and key_file) or allow_plain_remote.
  std::string listen;
  std::string tls_cert_file;  // PEM certificate (chain) of the dashboard's HTTPS
  std::string tls_key_file;   // PEM key of tls_cert_file
  bool allow_plain_remote = false;
  // A file holding the token that allows actions (plan now, balance now);
  // empty: the dashboard is read-only.
  std::string token_file;
  int max_streams = 16;  // live progress streams open at once
};

struct ServiceConfig {
  bool daemon = true;
  int schedule_interval = 12;
  std::string schedule_format = "hours";  // hours | minutes
  std::string schedule_cron;              // a cron expression; when set, it replaces the interval
  bool delay_enable = false;
  int delay_time = 1;
  std::string delay_format = "hours";
  std::string log_level = "INFO";  // DEBUG INFO WARNING ERROR CRITICAL
  // Hysteresis of the daemon: balance only after `hold` consecutive rounds
  // that need it, and only for a plan that narrows the spread by `margin`
  // points.
  int hold = 3;
  double margin = 2.0;
  LeaderElectionConfig leader_election;
  // host:port of the daemon's /metrics, /healthz, /readyz and /status;
  // empty: not served.
  std::string listen = "127.0.0.1:9837";
  // When PVE's own CRS rebalances HA guests (crs: ha-auto-rebalance=1):
  // "leave-ha-guests" to it, or "refuse" to act at all.
  std::string pve_crs_rebalancing = "leave-ha-guests";
  // One JSON line per migration; empty: none. The daemon always writes it;
  // a one-shot `proxlb balance` only when the key is set (audit_log_set).
  std::string audit_log = "/var/log/proxlb/audit.jsonl";
  bool audit_log_set = false;
  // The status API's unix socket (mode 0660), read by `proxlb status` and
  // `proxlb plan`; empty: not served.
  std::string status_socket = "/run/proxlb/status.sock";
  // A file holding the bearer token that opens the status API on `listen`
  // (TCP); empty: over TCP only /status, as before the status API.
  std::string status_token_file;
  DashboardConfig dashboard;
  std::vector<WebhookConfig> webhooks;
  // Deliveries waiting (or between retries) at most, per webhook; beyond,
  // its oldest is dropped.
  int webhook_queue = 100;

  int64_t schedule_seconds() const;
  int64_t delay_seconds() const;
};

struct BalanceConfig {
  // The cluster's name as an entry of a `clusters:` list gives it: the
  // `cluster` label of the daemon's metrics, the status API's ?cluster=, the
  // audit log and the webhooks. Empty for a config with a top-level
  // proxmox_api (the daemon then labels with PVE's own cluster name).
  std::string name;
  // Checked at load time (hosts and credentials); *_file secrets are read by
  // pve::to_client_options when the client is made.
  pve::ApiConfig proxmox_api;
  ClusterConfig proxmox_cluster;
  BalancingConfig balancing;
  ServiceConfig service;
  // Keys set in a layer that proxlb accepts (ProxLB knows them) but does not
  // act on, one sentence each naming the key; the commands log them.
  std::vector<std::string> warnings;
  // The `clusters:` list: one whole config per entry (its name, proxmox_api,
  // proxmox_cluster and balancing over the top-level ones; the service
  // section is the top-level one). Empty: one cluster, this config.
  std::vector<BalanceConfig> clusters;

  // The reserve of a node: its own entry, else the defaults.
  Reserve reserve_for(const std::string& node) const;
};

// The schema of every proxlb key (built once; lives for the program).
const core::ConfigSchema& proxlb_schema();

inline constexpr const char* kEnvPrefix = "PROXLB_";

// Converts merged layers into the typed config, checking values the schema
// cannot (hosts, reserves, pools, weights) and cross-field rules. Errors are
// Config errors naming the key.
core::Result<BalanceConfig> to_balance_config(const core::LayeredConfig& layers);

// Pure convenience: YAML text (`source` names it) + environment -> config.
core::Result<BalanceConfig> load_config(const std::string& yaml_text, const std::string& source,
                                        const std::map<std::string, std::string>& env);

// A cluster name in `clusters:`: 1-63 letters, digits, '-', '_' or '.',
// starting with a letter or digit (it goes into metric labels, URLs, etcd
// keys and log lines).
bool valid_cluster_name(std::string_view name);

// The clusters a config balances: each entry of `clusters`, or the config
// itself when it has none.
std::vector<BalanceConfig> clusters_of(const BalanceConfig& config);

// The one cluster a command works on (--cluster NAME): the entry of that
// name; with no name, the only cluster. Errors list the names to choose from.
core::Result<BalanceConfig> select_cluster(const BalanceConfig& config, const std::string& name);

// Copies the configured reserves onto the snapshot's nodes and marks the
// configured maintenance / ignored nodes.
void apply_cluster_config(const BalanceConfig& config, ClusterState& state);

}  // namespace pvekit::balance
