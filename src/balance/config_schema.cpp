// The table of proxlb's configuration keys. Kept apart from the conversion in
// config.cpp so the table reads as documentation (docs/proxlb-config.md
// mirrors it key by key). The proxmox_api keys are pve's, shared with lxcri.
#include "balance/config.h"

#include "pve/api_config.h"

namespace pvekit::balance {
namespace {

using core::Json;
using core::KeySpec;
using core::ValueType;

void add_cluster(core::ConfigSchema& s) {
  s.add({.path = "proxmox_cluster.maintenance_nodes", .type = ValueType::StringList,
         .default_value = Json::array()});
  s.add({.path = "proxmox_cluster.ignore_nodes", .type = ValueType::StringList,
         .default_value = Json::array()});
  s.add({.path = "proxmox_cluster.overprovisioning", .type = ValueType::Boolean,
         .default_value = true});
}

void add_flag(core::ConfigSchema& s, const std::string& path, bool value) {
  s.add({.path = path, .type = ValueType::Boolean, .default_value = value});
}

void add_number(core::ConfigSchema& s, const std::string& path, Json value, double min,
                double max) {
  s.add({.path = path, .type = ValueType::Number, .default_value = std::move(value), .min = min,
         .max = max});
}

void add_integer(core::ConfigSchema& s, const std::string& path, Json value, double min,
                 double max) {
  s.add({.path = path, .type = ValueType::Integer, .default_value = std::move(value), .min = min,
         .max = max});
}

void add_balancing(core::ConfigSchema& s) {
  add_flag(s, "balancing.enable", true);
  add_flag(s, "balancing.enforce_affinity", false);
  add_flag(s, "balancing.enforce_pinning", false);
  add_flag(s, "balancing.parallel", false);
  add_integer(s, "balancing.parallel_jobs", 5, 1, 100);
  add_flag(s, "balancing.live", true);
  add_flag(s, "balancing.with_local_disks", true);
  add_flag(s, "balancing.with_conntrack_state", true);
  s.add({.path = "balancing.balance_types", .type = ValueType::StringList,
         .default_value = Json::array({"vm", "ct"}), .choices = {"vm", "ct"}});
  add_integer(s, "balancing.max_job_validation", 1800, 1, 86400);
  add_number(s, "balancing.balanciness", 5.0, 0, 100);
  add_number(s, "balancing.imbalance_threshold", nullptr, 0, 100);
  add_number(s, "balancing.memory_threshold", nullptr, 0, 100);
  add_number(s, "balancing.cpu_threshold", nullptr, 0, 100);
  add_number(s, "balancing.disk_threshold", nullptr, 0, 100);
  s.add({.path = "balancing.method", .default_value = "memory", .choices = method_names()});
  s.add({.path = "balancing.mode", .default_value = "used", .choices = mode_names()});
  add_flag(s, "balancing.balance_larger_guests_first", false);
  s.add({.path = "balancing.node_resource_reserve", .type = ValueType::Object,
         .help = "{defaults|<node>: {memory: GiB, cpu: cores, disk: GiB}}"});
  add_number(s, "balancing.cpu_overcommit", 0.0, 0, 64);
  s.add({.path = "balancing.pools", .type = ValueType::Object,
         .help = "{<pool>: {type: affinity|anti-affinity, pin: [nodes], strict: bool}}"});
  // ProxLB's PSI thresholds (mode psi); checked for shape, not acted on.
  s.add({.path = "balancing.psi", .type = ValueType::Object,
         .help = "{nodes|guests: {memory|cpu|disk: {pressure_full, pressure_some, pressure_spikes}}}"});
  add_number(s, "balancing.weights.memory", nullptr, 0, 1000);
  add_number(s, "balancing.weights.cpu", nullptr, 0, 1000);
  add_number(s, "balancing.weights.disk", nullptr, 0, 1000);
  add_number(s, "balancing.migration_cost.per_gib", 0.0005, 0, 100);
  add_number(s, "balancing.migration_cost.min_gain", 0.001, 0, 100);
  add_flag(s, "balancing.history.enable", false);
  add_integer(s, "balancing.history.window_hours", 24, 1, 8760);
  add_integer(s, "balancing.history.percentile", 95, 1, 100);
  add_integer(s, "balancing.max_moves", 500, 0, 100000);
}

void add_service(core::ConfigSchema& s) {
  add_flag(s, "service.daemon", true);
  add_integer(s, "service.schedule.interval", 12, 1, 100000);
  s.add({.path = "service.schedule.format", .default_value = "hours", .choices = {"hours", "minutes"}});
  add_flag(s, "service.delay.enable", false);
  add_integer(s, "service.delay.time", 1, 0, 100000);
  s.add({.path = "service.delay.format", .default_value = "hours", .choices = {"hours", "minutes"}});
  s.add({.path = "service.log_level", .default_value = "INFO"});
  s.add({.path = "service.schedule.cron", .default_value = "",
         .help = "cron expression (minute hour day-of-month month day-of-week); replaces interval"});
  add_integer(s, "service.hold", 3, 1, 1000);
  add_number(s, "service.margin", 2.0, 0, 100);
  s.add({.path = "service.leader_election.mode", .default_value = "none", .choices = {"none", "etcd", "ha-master"}});
  s.add({.path = "service.leader_election.etcd.endpoints", .type = ValueType::StringList,
         .default_value = Json::array()});
  s.add({.path = "service.leader_election.etcd.election", .default_value = ""});
  add_integer(s, "service.leader_election.etcd.lease_ttl", 10, 2, 300);
  s.add({.path = "service.leader_election.etcd.ca_file", .default_value = "",
         .help = "PEM file of the CA that signed etcd's certificate (https endpoints; empty: the system's CAs)"});
  s.add({.path = "service.leader_election.etcd.cert_file", .default_value = "",
         .help = "PEM client certificate for etcd's --client-cert-auth (with key_file)"});
  s.add({.path = "service.leader_election.etcd.key_file", .default_value = "",
         .help = "PEM key of cert_file"});
  s.add({.path = "service.leader_election.node", .default_value = ""});
  s.add({.path = "service.pve_crs_rebalancing", .default_value = "leave-ha-guests",
         .choices = {"leave-ha-guests", "refuse"}});
  s.add({.path = "service.listen", .default_value = "127.0.0.1:9837",
         .help = "host:port of /metrics, /healthz, /readyz and /status; empty: not served"});
  s.add({.path = "service.audit_log", .default_value = "/var/log/proxlb/audit.jsonl",
         .help = "absolute path of the JSON-lines audit log, one line per migration; empty: none"});
  s.add({.path = "service.status_socket", .default_value = "/run/proxlb/status.sock",
         .help = "absolute path of the status API's unix socket; empty: not served"});
  s.add({.path = "service.status_token_file", .default_value = "",
         .help = "file with the bearer token for the status API on service.listen; empty: no token"});
  s.add({.path = "service.webhooks", .type = ValueType::List, .default_value = Json::array(),
         .help = "[{url, events, timeout, retries, headers: {name: value}, header_files: {name: path}, ca_file}]"});
  add_integer(s, "service.webhook_queue", 100, 1, 100000);
  s.add({.path = "service.dashboard.listen", .default_value = "",
         .help = "host:port of the web dashboard (e.g. 127.0.0.1:8190); empty: no dashboard"});
  s.add({.path = "service.dashboard.tls_cert_file", .default_value = "",
         .help = "PEM certificate of the dashboard's HTTPS (with tls_key_file); empty: plain HTTP"});
  s.add({.path = "service.dashboard.tls_key_file", .default_value = "", .help = "PEM key of tls_cert_file"});
  add_flag(s, "service.dashboard.allow_plain_remote", false);
  s.add({.path = "service.dashboard.token_file", .default_value = "",
         .help = "file with the token that allows the dashboard's actions; empty: read-only"});
  add_integer(s, "service.dashboard.max_streams", 16, 1, 1000);
  s.add({.path = "clusters", .type = ValueType::List, .default_value = Json::array(),
         .help = "[{name, proxmox_api, proxmox_cluster, balancing}]: several clusters from one daemon"});
}

// ProxLB's dynamic power management section: accepted so existing files load,
// not acted upon (documented as such).
void add_dpm(core::ConfigSchema& s) {
  add_flag(s, "dpm.enable", false);
  s.add({.path = "dpm.method", .default_value = "memory", .choices = method_names()});
  s.add({.path = "dpm.mode", .default_value = "static"});
  add_number(s, "dpm.cluster_min_free_resources", 60, 0, 100);
  add_integer(s, "dpm.cluster_min_nodes", 1, 1, 1000);
}

// ProxLB 2.x's solver section (its CP-SAT planner in shadow or active mode):
// accepted so existing files load, not acted on (proxlb has its own planner).
void add_solver(core::ConfigSchema& s) {
  add_flag(s, "solver.enable", false);
  s.add({.path = "solver.mode", .default_value = "shadow", .choices = {"shadow", "active"}});
  s.add({.path = "solver.log_dir", .default_value = "/var/log/proxlb/solver"});
  add_flag(s, "solver.use_reservations", true);
  add_number(s, "solver.balanciness", nullptr, 0, 100);
  s.add({.path = "solver.method", .default_value = nullptr,
         .choices = {"memory", "cpu", "disk", "memory_smart", "cpu_smart", "io_smart", "global_smart"}});
  add_integer(s, "solver.timeout_seconds", 30, 1, 86400);
}

core::ConfigSchema build_schema() {
  core::ConfigSchema s;
  pve::add_api_keys(s);
  add_cluster(s);
  add_balancing(s);
  add_service(s);
  add_dpm(s);
  add_solver(s);
  return s;
}

}  // namespace

const core::ConfigSchema& proxlb_schema() {
  static const core::ConfigSchema schema = build_schema();
  return schema;
}

}  // namespace pvekit::balance
