#include "balance/config.h"

#include <algorithm>
#include <cmath>

#include "core/json.h"
#include "core/strings.h"

namespace pvekit::balance {
namespace {

using core::Error;
using core::ErrorCategory;
using core::Json;
using core::LayeredConfig;
using core::Result;
using core::Status;

Error config_error(const std::string& key, const std::string& why) {
  return Error(ErrorCategory::Config, "key '" + key + "': " + why);
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// A reserve entry: {memory: GiB, cpu: cores, disk: GiB}; GiB as ProxLB.
Result<Reserve> parse_reserve(const std::string& key, const Json& entry) {
  if (!entry.is_object()) return config_error(key, "expected a mapping of memory/cpu/disk");
  Reserve r;
  for (const auto& [name, value] : entry.items()) {
    if (!value.is_number() || value.get<double>() < 0)
      return config_error(key + "." + name, "expected a non-negative number");
    double v = value.get<double>();
    if (name == "memory") r.memory = static_cast<uint64_t>(v * static_cast<double>(kGiB));
    else if (name == "disk") r.disk = static_cast<uint64_t>(v * static_cast<double>(kGiB));
    else if (name == "cpu") r.cpus = v;
    else return config_error(key + "." + name, "unknown resource (memory, cpu, disk)");
  }
  return r;
}

Status parse_reserves(const Json& doc, BalancingConfig& out) {
  if (doc.is_null()) return core::ok();
  for (const auto& [node, entry] : doc.items()) {
    PVEKIT_ASSIGN(Reserve r, parse_reserve("balancing.node_resource_reserve." + node, entry));
    if (node == "defaults") out.default_reserve = r;
    else out.node_reserve[node] = r;
  }
  return core::ok();
}

Result<PoolRule> parse_pool(const std::string& key, const Json& entry) {
  if (!entry.is_object()) return config_error(key, "expected a mapping with 'type' and 'pin'");
  PoolRule rule;
  for (const auto& [name, value] : entry.items()) {
    if (name == "type") {
      std::string t = value.is_string() ? value.get<std::string>() : "";
      if (t == "affinity") rule.type = GroupType::Affinity;
      else if (t == "anti-affinity" || t == "anti_affinity") rule.type = GroupType::AntiAffinity;
      else return config_error(key + ".type", "expected 'affinity' or 'anti-affinity'");
    } else if (name == "pin") {
      if (value.is_string()) rule.pin.push_back(value.get<std::string>());
      else if (value.is_array() && std::all_of(value.begin(), value.end(),
                                               [](const Json& v) { return v.is_string(); }))
        rule.pin = value.get<std::vector<std::string>>();
      else return config_error(key + ".pin", "expected a node name or a list of node names");
    } else {
      return config_error(key + "." + name, "unknown key (type, pin)");
    }
  }
  return rule;
}

Status parse_pools(const Json& doc, BalancingConfig& out) {
  if (doc.is_null()) return core::ok();
  for (const auto& [pool, entry] : doc.items()) {
    PVEKIT_ASSIGN(out.pools[pool], parse_pool("balancing.pools." + pool, entry));
  }
  return core::ok();
}

Result<std::vector<ApiHost>> parse_hosts(const std::vector<std::string>& list) {
  if (list.empty()) return config_error("proxmox_api.hosts", "at least one host is required");
  std::vector<ApiHost> hosts;
  for (const auto& text : list) {
    auto host = parse_api_host(text);
    if (!host) return config_error("proxmox_api.hosts", host.error().message());
    hosts.push_back(*host);
  }
  return hosts;
}

Result<ApiConfig> read_api(const LayeredConfig& c) {
  ApiConfig a;
  PVEKIT_ASSIGN(a.hosts, parse_hosts(c.get_list("proxmox_api.hosts")));
  a.user = c.get_string("proxmox_api.user");
  a.pass = c.get_string("proxmox_api.pass");
  a.pass_file = c.get_string("proxmox_api.pass_file");
  a.token_id = c.get_string("proxmox_api.token_id");
  a.token_secret = c.get_string("proxmox_api.token_secret");
  a.token_secret_file = c.get_string("proxmox_api.token_secret_file");
  a.ssl_verification = c.get_bool("proxmox_api.ssl_verification");
  a.ssl_fingerprint = c.get_list("proxmox_api.ssl_fingerprint");
  a.ca_file = c.get_string("proxmox_api.ca_file");
  if (!a.ssl_fingerprint.empty() && !a.ca_file.empty())
    return config_error("proxmox_api.ssl_fingerprint", "set either ssl_fingerprint or ca_file, not both");
  if (!a.ssl_verification && (!a.ssl_fingerprint.empty() || !a.ca_file.empty()))
    return config_error("proxmox_api.ssl_verification",
                        "is false, which turns verification off, but ssl_fingerprint or ca_file is set");
  a.timeout = static_cast<int>(c.get_int("proxmox_api.timeout"));
  a.retries = static_cast<int>(c.get_int("proxmox_api.retries"));
  a.wait_time = static_cast<int>(c.get_int("proxmox_api.wait_time"));
  return a;
}

// Cross-field rules of the credentials: exactly one way to authenticate.
Status check_credentials(const ApiConfig& a) {
  if (a.user.empty() || a.user.find('@') == std::string::npos)
    return config_error("proxmox_api.user", "expected user@realm");
  bool password = !a.pass.empty() || !a.pass_file.empty();
  bool secret = !a.token_secret.empty() || !a.token_secret_file.empty();
  if (!a.pass.empty() && !a.pass_file.empty())
    return config_error("proxmox_api.pass", "set either pass or pass_file, not both");
  if (!a.token_secret.empty() && !a.token_secret_file.empty())
    return config_error("proxmox_api.token_secret",
                        "set either token_secret or token_secret_file, not both");
  if (password && (secret || !a.token_id.empty()))
    return config_error("proxmox_api.pass", "use either a password or an API token, not both");
  if (!a.token_id.empty() && !secret)
    return config_error("proxmox_api.token_id", "token_id is set but token_secret is missing");
  if (secret && a.token_id.empty())
    return config_error("proxmox_api.token_secret", "token_secret is set but token_id is missing");
  if (!password && !secret)
    return config_error("proxmox_api", "no credentials: set pass (or pass_file) or token_id + token_secret");
  return core::ok();
}

std::optional<double> optional_number(const LayeredConfig& c, const std::string& key) {
  if (!c.has(key)) return std::nullopt;
  return c.get_number(key);
}

Weights method_weights(Method m) {
  switch (m) {
    case Method::Memory: return {1.0, 0.0, 0.0};
    case Method::Cpu: return {0.0, 1.0, 0.0};
    case Method::Disk: return {0.0, 0.0, 1.0};
  }
  return {};
}

Status read_weights(const LayeredConfig& c, BalancingConfig& b) {
  b.weights = method_weights(b.method);
  bool any = c.has("balancing.weights.memory") || c.has("balancing.weights.cpu") ||
             c.has("balancing.weights.disk");
  if (!any) return core::ok();
  b.weights = {c.get_number("balancing.weights.memory"), c.get_number("balancing.weights.cpu"),
               c.get_number("balancing.weights.disk")};
  if (b.weights.memory + b.weights.cpu + b.weights.disk <= 0)
    return config_error("balancing.weights", "at least one weight must be positive");
  return core::ok();
}

void read_flags(const LayeredConfig& c, BalancingConfig& b) {
  b.enable = c.get_bool("balancing.enable");
  b.enforce_affinity = c.get_bool("balancing.enforce_affinity");
  b.enforce_pinning = c.get_bool("balancing.enforce_pinning");
  b.parallel = c.get_bool("balancing.parallel");
  b.parallel_jobs = static_cast<int>(c.get_int("balancing.parallel_jobs"));
  b.live = c.get_bool("balancing.live");
  b.with_local_disks = c.get_bool("balancing.with_local_disks");
  b.with_conntrack_state = c.get_bool("balancing.with_conntrack_state");
  auto types = c.get_list("balancing.balance_types");
  b.balance_vms = contains(types, "vm");
  b.balance_cts = contains(types, "ct");
  b.max_job_validation = static_cast<int>(c.get_int("balancing.max_job_validation"));
  b.balance_larger_guests_first = c.get_bool("balancing.balance_larger_guests_first");
  b.max_moves = static_cast<int>(c.get_int("balancing.max_moves"));
}

Result<BalancingConfig> read_balancing(const LayeredConfig& c) {
  BalancingConfig b;
  read_flags(c, b);
  b.balanciness = c.get_number("balancing.balanciness");
  b.memory_threshold = optional_number(c, "balancing.memory_threshold");
  b.cpu_threshold = optional_number(c, "balancing.cpu_threshold");
  b.disk_threshold = optional_number(c, "balancing.disk_threshold");
  std::string method = c.get_string("balancing.method");
  b.method = method == "cpu" ? Method::Cpu : method == "disk" ? Method::Disk : Method::Memory;
  std::string mode = c.get_string("balancing.mode");
  b.mode = mode == "assigned" ? Mode::Assigned : mode == "psi" ? Mode::Psi : Mode::Used;
  b.cpu_overcommit = c.get_number("balancing.cpu_overcommit");
  PVEKIT_TRY(parse_reserves(c.get("balancing.node_resource_reserve"), b));
  PVEKIT_TRY(parse_pools(c.get("balancing.pools"), b));
  PVEKIT_TRY(read_weights(c, b));
  b.migration_cost = {c.get_number("balancing.migration_cost.per_gib"),
                      c.get_number("balancing.migration_cost.min_gain")};
  b.history = {c.get_bool("balancing.history.enable"),
               static_cast<int>(c.get_int("balancing.history.window_hours")),
               static_cast<int>(c.get_int("balancing.history.percentile"))};
  return b;
}

Result<ServiceConfig> read_service(const LayeredConfig& c) {
  ServiceConfig s;
  s.daemon = c.get_bool("service.daemon");
  s.schedule_interval = static_cast<int>(c.get_int("service.schedule.interval"));
  s.schedule_format = c.get_string("service.schedule.format");
  s.delay_enable = c.get_bool("service.delay.enable");
  s.delay_time = static_cast<int>(c.get_int("service.delay.time"));
  s.delay_format = c.get_string("service.delay.format");
  // ProxLB writes INFO; accept any case, store upper-case.
  std::string level = c.get_string("service.log_level");
  std::transform(level.begin(), level.end(), level.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  static const std::vector<std::string> levels = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};
  if (!contains(levels, level))
    return config_error("service.log_level", "'" + c.get_string("service.log_level") +
                                                 "' is not one of: DEBUG, INFO, WARNING, ERROR, CRITICAL");
  s.log_level = level;
  return s;
}

Status check_nodes(const ClusterConfig& cl, const BalancingConfig& b) {
  for (const auto& n : cl.maintenance_nodes) {
    if (contains(cl.ignore_nodes, n))
      return config_error("proxmox_cluster.maintenance_nodes",
                          "node '" + n + "' is also in ignore_nodes (evacuate or ignore, not both)");
  }
  if (!b.balance_vms && !b.balance_cts)
    return config_error("balancing.balance_types", "must contain vm, ct or both");
  return core::ok();
}

}  // namespace

int64_t ServiceConfig::schedule_seconds() const {
  return static_cast<int64_t>(schedule_interval) * (schedule_format == "minutes" ? 60 : 3600);
}

int64_t ServiceConfig::delay_seconds() const {
  if (!delay_enable) return 0;
  return static_cast<int64_t>(delay_time) * (delay_format == "minutes" ? 60 : 3600);
}

Reserve BalanceConfig::reserve_for(const std::string& node) const {
  auto it = balancing.node_reserve.find(node);
  return it == balancing.node_reserve.end() ? balancing.default_reserve : it->second;
}

Result<ApiHost> parse_api_host(const std::string& text) {
  std::string t(core::trim(text));
  if (t.empty()) return Error(ErrorCategory::Config, "empty host");
  ApiHost h;
  std::string port;
  bool has_port = false;
  if (t.front() == '[') {
    auto close = t.find(']');
    if (close == std::string::npos) return Error(ErrorCategory::Config, "unclosed '[' in '" + t + "'");
    h.host = t.substr(1, close - 1);
    std::string rest = t.substr(close + 1);
    if (!rest.empty() && rest.front() != ':')
      return Error(ErrorCategory::Config, "unexpected text after ']' in '" + t + "'");
    has_port = !rest.empty();
    if (has_port) port = rest.substr(1);
  } else if (std::count(t.begin(), t.end(), ':') == 1) {
    h.host = t.substr(0, t.find(':'));
    port = t.substr(t.find(':') + 1);
    has_port = true;
  } else {
    h.host = t;  // a name, IPv4, or a bare IPv6 address (several ':')
  }
  if (h.host.empty()) return Error(ErrorCategory::Config, "empty host name in '" + t + "'");
  if (has_port) {
    auto p = core::parse_int(port);
    if (!p || *p < 1 || *p > 65535) return Error(ErrorCategory::Config, "bad port in '" + t + "'");
    h.port = static_cast<uint16_t>(*p);
  }
  return h;
}

Result<BalanceConfig> to_balance_config(const LayeredConfig& layers) {
  BalanceConfig cfg;
  PVEKIT_ASSIGN(cfg.proxmox_api, read_api(layers));
  PVEKIT_TRY(check_credentials(cfg.proxmox_api));
  cfg.proxmox_cluster.maintenance_nodes = layers.get_list("proxmox_cluster.maintenance_nodes");
  cfg.proxmox_cluster.ignore_nodes = layers.get_list("proxmox_cluster.ignore_nodes");
  cfg.proxmox_cluster.overprovisioning = layers.get_bool("proxmox_cluster.overprovisioning");
  PVEKIT_ASSIGN(cfg.balancing, read_balancing(layers));
  PVEKIT_ASSIGN(cfg.service, read_service(layers));
  PVEKIT_TRY(check_nodes(cfg.proxmox_cluster, cfg.balancing));
  return cfg;
}

Result<BalanceConfig> load_config(const std::string& yaml_text, const std::string& source,
                                  const std::map<std::string, std::string>& env) {
  core::LayeredConfig layers(proxlb_schema());
  PVEKIT_ASSIGN(Json doc, core::parse_yaml(yaml_text, source));
  PVEKIT_TRY(layers.merge_document(doc, source));
  PVEKIT_TRY(layers.merge_environment(env, kEnvPrefix, {"PROXLB_CONFIG"}));
  return to_balance_config(layers).wrap(source);
}

std::vector<std::string> secret_files(const BalanceConfig& config) {
  std::vector<std::string> files;
  if (!config.proxmox_api.pass_file.empty()) files.push_back(config.proxmox_api.pass_file);
  if (!config.proxmox_api.token_secret_file.empty())
    files.push_back(config.proxmox_api.token_secret_file);
  return files;
}

namespace {

Status resolve_one(const std::string& key, const std::string& path, std::string& value,
                   const std::map<std::string, std::string>& contents) {
  if (path.empty()) return core::ok();
  auto it = contents.find(path);
  if (it == contents.end()) return config_error(key, "secret file '" + path + "' was not read");
  std::string text = it->second;
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!text.empty() && text.back() == '\r') text.pop_back();
  if (text.empty()) return config_error(key, "secret file '" + path + "' is empty");
  value = std::move(text);
  return core::ok();
}

}  // namespace

Status resolve_secrets(BalanceConfig& config, const std::map<std::string, std::string>& contents) {
  auto& a = config.proxmox_api;
  if (!a.pass.empty() && !a.pass_file.empty())
    return config_error("proxmox_api.pass", "set either pass or pass_file, not both");
  if (!a.token_secret.empty() && !a.token_secret_file.empty())
    return config_error("proxmox_api.token_secret",
                        "set either token_secret or token_secret_file, not both");
  PVEKIT_TRY(resolve_one("proxmox_api.pass_file", a.pass_file, a.pass, contents));
  PVEKIT_TRY(resolve_one("proxmox_api.token_secret_file", a.token_secret_file, a.token_secret,
                         contents));
  a.pass_file.clear();
  a.token_secret_file.clear();
  return core::ok();
}

void apply_cluster_config(const BalanceConfig& config, ClusterState& state) {
  for (auto& node : state.nodes) {
    node.reserve = config.reserve_for(node.name);
    if (contains(config.proxmox_cluster.maintenance_nodes, node.name)) node.maintenance = true;
    if (contains(config.proxmox_cluster.ignore_nodes, node.name)) node.ignored = true;
  }
}

}  // namespace pvekit::balance
