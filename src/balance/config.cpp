#include "balance/config.h"

#include <algorithm>
#include <cmath>

#include "core/json.h"
#include "core/strings.h"

namespace pvekit::balance {
namespace {

using core::Error;
using core::ErrorCategory;
using core::config_key_error;
using core::Json;
using core::LayeredConfig;
using core::Result;
using core::Status;

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// A reserve entry: {memory: GiB, cpu: cores, disk: GiB}; GiB as ProxLB.
Result<Reserve> parse_reserve(const std::string& key, const Json& entry) {
  if (!entry.is_object()) return config_key_error(key, "expected a mapping of memory/cpu/disk");
  Reserve r;
  for (const auto& [name, value] : entry.items()) {
    if (!value.is_number() || value.get<double>() < 0)
      return config_key_error(key + "." + name, "expected a non-negative number");
    double v = value.get<double>();
    if (name == "memory") r.memory = static_cast<uint64_t>(v * static_cast<double>(kGiB));
    else if (name == "disk") r.disk = static_cast<uint64_t>(v * static_cast<double>(kGiB));
    else if (name == "cpu") r.cpus = v;
    else return config_key_error(key + "." + name, "unknown resource (memory, cpu, disk)");
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
  if (!entry.is_object()) return config_key_error(key, "expected a mapping with 'type', 'pin' and 'strict'");
  PoolRule rule;
  for (const auto& [name, value] : entry.items()) {
    if (name == "type") {
      std::string t = value.is_string() ? value.get<std::string>() : "";
      if (t == "affinity") rule.type = GroupType::Affinity;
      else if (t == "anti-affinity" || t == "anti_affinity") rule.type = GroupType::AntiAffinity;
      else return config_key_error(key + ".type", "expected 'affinity' or 'anti-affinity'");
    } else if (name == "pin") {
      if (value.is_string()) rule.pin.push_back(value.get<std::string>());
      else if (value.is_array() && std::all_of(value.begin(), value.end(),
                                               [](const Json& v) { return v.is_string(); }))
        rule.pin = value.get<std::vector<std::string>>();
      else return config_key_error(key + ".pin", "expected a node name or a list of node names");
    } else if (name == "strict") {
      if (!value.is_boolean()) return config_key_error(key + ".strict", "expected true or false");
      rule.strict = value.get<bool>();
    } else {
      return config_key_error(key + "." + name, "unknown key (type, pin, strict)");
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

// ProxLB's balancing.psi: {nodes|guests: {memory|cpu|disk: {pressure_full,
// pressure_some, pressure_spikes: number}}}. Only its shape is checked: proxlb
// does not use these thresholds (a warning says so).
Status check_psi(const Json& doc) {
  if (doc.is_null()) return core::ok();
  static const std::vector<std::string> scopes = {"nodes", "guests"}, resources = {"memory", "cpu", "disk"},
                                        fields = {"pressure_full", "pressure_some", "pressure_spikes"};
  for (const auto& [scope, by_resource] : doc.items()) {
    std::string k = "balancing.psi." + scope;
    if (!contains(scopes, scope)) return config_key_error(k, "unknown key (nodes, guests)");
    if (!by_resource.is_object()) return config_key_error(k, "expected a mapping of memory/cpu/disk");
    for (const auto& [resource, pressure] : by_resource.items()) {
      std::string kr = k + "." + resource;
      if (!contains(resources, resource)) return config_key_error(kr, "unknown resource (memory, cpu, disk)");
      if (!pressure.is_object())
        return config_key_error(kr, "expected a mapping of pressure_full/pressure_some/pressure_spikes");
      for (const auto& [field, value] : pressure.items()) {
        if (!contains(fields, field))
          return config_key_error(kr + "." + field, "unknown key (pressure_full, pressure_some, pressure_spikes)");
        if (!value.is_number() || value.get<double>() < 0)
          return config_key_error(kr + "." + field, "expected a non-negative number");
      }
    }
  }
  return core::ok();
}

// Keys ProxLB knows that proxlb accepts but does not act on, by section, with
// the reason. Only keys set in a layer (file, environment, --set) warn.
struct IgnoredSection {
  const char* prefix;
  const char* reason;
};
constexpr IgnoredSection kIgnored[] = {
    {"service.daemon", "a bare `proxlb -c FILE` runs one round; the service is `proxlb daemon` (proxlb.service), "
                       "which reads service.schedule and service.delay"},
    {"dpm.", "proxlb has no dynamic power management (it never shuts nodes down)"},
    {"solver.", "proxlb always plans with its own search"},
    {"balancing.psi", "ProxLB's PSI thresholds are not used; proxlb's psi mode weighs usage by node pressure"},
};

std::vector<std::string> ignored_key_warnings(const LayeredConfig& c) {
  std::vector<std::string> warnings;
  std::map<std::string, std::vector<std::string>> by_reason;
  std::vector<std::string> order;
  for (const auto& spec : proxlb_schema().keys()) {
    if (!c.has(spec.path) || c.source_of(spec.path) == "default") continue;
    for (const auto& section : kIgnored) {
      if (spec.path.rfind(section.prefix, 0) != 0) continue;
      if (!by_reason.count(section.reason)) order.push_back(section.reason);
      by_reason[section.reason].push_back(spec.path);
      break;
    }
  }
  for (const auto& reason : order)
    warnings.push_back("not acted on: " + core::join(by_reason[reason], ", ") + " (" + reason + ")");
  return warnings;
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
    return config_key_error("balancing.weights", "at least one weight must be positive");
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
  b.imbalance_threshold = optional_number(c, "balancing.imbalance_threshold");
  PVEKIT_TRY(check_psi(c.get("balancing.psi")));
  b.memory_threshold = optional_number(c, "balancing.memory_threshold");
  b.cpu_threshold = optional_number(c, "balancing.cpu_threshold");
  b.disk_threshold = optional_number(c, "balancing.disk_threshold");
  // The schema admits only names of the tables.
  std::string method = c.get_string("balancing.method");
  for (const auto& [value, name] : kMethodNames)
    if (name == method) b.method = value;
  std::string mode = c.get_string("balancing.mode");
  for (const auto& [value, name] : kModeNames)
    if (name == mode) b.mode = value;
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

// A path the daemon creates: empty (off) or absolute, without NUL bytes,
// control characters or `..` segments, at most `max_bytes` long.
Status check_local_path(const std::string& key, const std::string& path, size_t max_bytes) {
  if (path.empty()) return core::ok();
  if (path.front() != '/') return config_key_error(key, "'" + path + "' must be an absolute path (or empty: off)");
  if (path.size() > max_bytes)
    return config_key_error(key, "is " + std::to_string(path.size()) + " bytes long; at most " +
                                     std::to_string(max_bytes));
  for (unsigned char ch : path) {
    if (ch < 0x20 || ch == 0x7f) return config_key_error(key, "contains a control character");
  }
  for (const auto& segment : core::split(path, '/')) {
    if (segment == "..") return config_key_error(key, "'" + path + "' must not contain '..'");
  }
  if (path.back() == '/') return config_key_error(key, "'" + path + "' names a directory, not a file");
  return core::ok();
}

// RFC 9110's token characters: what a header name may be made of.
bool is_token(std::string_view name) {
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char ch) {
    return std::isalnum(ch) || kSpecials.find(static_cast<char>(ch)) != std::string_view::npos;
  });
}

// A map of header name -> string (headers, header_files); names are checked
// here, values by the caller. Names the header, never its value.
Result<std::vector<std::pair<std::string, std::string>>> parse_header_map(const std::string& key, const Json& doc) {
  std::vector<std::pair<std::string, std::string>> out;
  if (doc.is_null()) return out;
  if (!doc.is_object()) return config_key_error(key, "expected a mapping of header name to value");
  for (const auto& [name, value] : doc.items()) {
    if (!is_token(name) || name.size() > 256)
      return config_key_error(key, "header name " + Json(name).dump() + " is not an HTTP token (letters, digits, !#$%&'*+-.^_`|~)");
    static const std::vector<std::string> reserved = {"content-type", "content-length", "host", "transfer-encoding"};
    if (contains(reserved, core::to_lower(name)))
      return config_key_error(key + "." + name, "is set by proxlb itself");
    if (!value.is_string() && !value.is_number())
      return config_key_error(key + "." + name, "expected a string");
    std::string text = value.is_string() ? value.get<std::string>() : value.dump();
    if (text.size() > 8192) return config_key_error(key + "." + name, "is longer than 8192 bytes");
    for (unsigned char ch : text) {
      if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
        return config_key_error(key + "." + name, "contains a control character (CR, LF, ...)");
    }
    out.emplace_back(name, std::move(text));
  }
  return out;
}

Result<WebhookConfig> parse_webhook(const std::string& key, const Json& entry) {
  if (!entry.is_object()) return config_key_error(key, "expected a mapping with url, events, ...");
  WebhookConfig hook;
  auto integer = [&](const std::string& name, const Json& value, int min, int max) -> Result<int> {
    if (!value.is_number_integer() || value.get<int64_t>() < min || value.get<int64_t>() > max)
      return config_key_error(key + "." + name,
                              "expected an integer from " + std::to_string(min) + " to " + std::to_string(max));
    return static_cast<int>(value.get<int64_t>());
  };
  for (const auto& [name, value] : entry.items()) {
    if (name == "url") {
      if (!value.is_string()) return config_key_error(key + ".url", "expected a string");
      hook.url = value.get<std::string>();
    } else if (name == "events") {
      if (!value.is_array() || value.empty())
        return config_key_error(key + ".events", "expected a non-empty list of events");
      hook.events.clear();
      for (const auto& event : value) {
        std::string e = event.is_string() ? event.get<std::string>() : event.dump();
        if (std::find(kWebhookEvents.begin(), kWebhookEvents.end(), e) == kWebhookEvents.end())
          return config_key_error(key + ".events", Json(e).dump() + " is not one of: " +
                                                       core::join(std::vector<std::string>(kWebhookEvents.begin(),
                                                                                           kWebhookEvents.end()),
                                                                  ", "));
        if (!contains(hook.events, e)) hook.events.push_back(e);
      }
    } else if (name == "timeout") {
      PVEKIT_ASSIGN(hook.timeout, integer(name, value, 1, 60));
    } else if (name == "retries") {
      PVEKIT_ASSIGN(hook.retries, integer(name, value, 0, 10));
    } else if (name == "headers") {
      PVEKIT_ASSIGN(hook.headers, parse_header_map(key + ".headers", value));
    } else if (name == "header_files") {
      PVEKIT_ASSIGN(hook.header_files, parse_header_map(key + ".header_files", value));
      for (const auto& [header, path] : hook.header_files)
        PVEKIT_TRY(check_local_path(key + ".header_files." + header, path, 4096));
    } else if (name == "ca_file") {
      if (!value.is_string()) return config_key_error(key + ".ca_file", "expected a string");
      hook.ca_file = value.get<std::string>();
      PVEKIT_TRY(check_local_path(key + ".ca_file", hook.ca_file, 4096));
    } else {
      return config_key_error(key + "." + name,
                              "unknown key (url, events, timeout, retries, headers, header_files, ca_file)");
    }
  }
  const bool https = core::starts_with(hook.url, "https://");
  if (!https && !core::starts_with(hook.url, "http://"))
    return config_key_error(key + ".url", "must start with http:// or https://");
  std::string_view rest = std::string_view(hook.url).substr(https ? 8 : 7);
  if (rest.empty() || rest.front() == '/' || hook.url.size() > 2048 ||
      std::any_of(hook.url.begin(), hook.url.end(), [](unsigned char ch) { return ch <= 0x20 || ch == 0x7f; }))
    return config_key_error(key + ".url", "is not a URL with a host (and no spaces or control characters)");
  if (!https && !hook.ca_file.empty()) return config_key_error(key + ".ca_file", "is set but the url is not https://");
  for (const auto& [header, path] : hook.header_files) {
    for (const auto& inline_header : hook.headers) {
      if (core::to_lower(inline_header.first) == core::to_lower(header))
        return config_key_error(key + ".header_files." + header, "is also in headers");
    }
  }
  return hook;
}

Result<std::vector<WebhookConfig>> parse_webhooks(const Json& list) {
  std::vector<WebhookConfig> hooks;
  for (size_t i = 0; i < list.size(); ++i) {
    PVEKIT_ASSIGN(auto hook, parse_webhook("service.webhooks[" + std::to_string(i) + "]", list[i]));
    hooks.push_back(std::move(hook));
  }
  return hooks;
}

// A listen address whose host is a loopback name or address: 127.0.0.0/8,
// ::1, localhost.
bool loopback_listen(const std::string& listen) {
  std::string host = listen.substr(0, listen.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return core::is_loopback_host(host);
}

Result<DashboardConfig> read_dashboard(const LayeredConfig& c) {
  DashboardConfig d;
  d.listen = c.get_string("service.dashboard.listen");
  d.tls_cert_file = c.get_string("service.dashboard.tls_cert_file");
  d.tls_key_file = c.get_string("service.dashboard.tls_key_file");
  d.allow_plain_remote = c.get_bool("service.dashboard.allow_plain_remote");
  d.token_file = c.get_string("service.dashboard.token_file");
  d.max_streams = static_cast<int>(c.get_int("service.dashboard.max_streams"));
  PVEKIT_TRY(check_local_path("service.dashboard.tls_cert_file", d.tls_cert_file, 4096));
  PVEKIT_TRY(check_local_path("service.dashboard.tls_key_file", d.tls_key_file, 4096));
  PVEKIT_TRY(check_local_path("service.dashboard.token_file", d.token_file, 4096));
  if (d.tls_cert_file.empty() != d.tls_key_file.empty()) {
    return config_key_error(d.tls_cert_file.empty() ? "service.dashboard.tls_cert_file" : "service.dashboard.tls_key_file",
                            "tls_cert_file and tls_key_file go together");
  }
  if (!d.listen.empty() && d.listen.find(':') == std::string::npos) {
    return config_key_error("service.dashboard.listen", "'" + d.listen + "' is not host:port");
  }
  if (!d.listen.empty() && !loopback_listen(d.listen) && d.tls_cert_file.empty() && !d.allow_plain_remote) {
    return config_key_error("service.dashboard.listen",
                            "'" + d.listen +
                                "' is not a loopback address: set tls_cert_file and tls_key_file (HTTPS), or "
                                "allow_plain_remote: true to serve plain HTTP beyond this host");
  }
  return d;
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
    return config_key_error("service.log_level", "'" + c.get_string("service.log_level") +
                                                 "' is not one of: DEBUG, INFO, WARNING, ERROR, CRITICAL");
  s.log_level = level;
  s.schedule_cron = c.get_string("service.schedule.cron");
  s.hold = static_cast<int>(c.get_int("service.hold"));
  s.margin = c.get_number("service.margin");
  auto& le = s.leader_election;
  le.mode = c.get_string("service.leader_election.mode");
  le.etcd_endpoints = c.get_list("service.leader_election.etcd.endpoints");
  le.etcd_election = c.get_string("service.leader_election.etcd.election");
  le.etcd_lease_ttl = static_cast<int>(c.get_int("service.leader_election.etcd.lease_ttl"));
  le.etcd_ca_file = c.get_string("service.leader_election.etcd.ca_file");
  le.etcd_cert_file = c.get_string("service.leader_election.etcd.cert_file");
  le.etcd_key_file = c.get_string("service.leader_election.etcd.key_file");
  le.node = c.get_string("service.leader_election.node");
  s.listen = c.get_string("service.listen");
  s.pve_crs_rebalancing = c.get_string("service.pve_crs_rebalancing");
  s.audit_log = c.get_string("service.audit_log");
  s.audit_log_set = c.source_of("service.audit_log") != "default";
  s.status_socket = c.get_string("service.status_socket");
  s.status_token_file = c.get_string("service.status_token_file");
  PVEKIT_TRY(check_local_path("service.status_token_file", s.status_token_file, 4096));
  PVEKIT_TRY(check_local_path("service.audit_log", s.audit_log, 4096));
  // sun_path holds 108 bytes with the terminating NUL.
  PVEKIT_TRY(check_local_path("service.status_socket", s.status_socket, 107));
  PVEKIT_ASSIGN(s.dashboard, read_dashboard(c));
  PVEKIT_ASSIGN(s.webhooks, parse_webhooks(c.get("service.webhooks")));
  s.webhook_queue = static_cast<int>(c.get_int("service.webhook_queue"));
  if (le.mode == "etcd" && le.etcd_endpoints.empty()) {
    return config_key_error("service.leader_election.etcd.endpoints",
                            "leader_election mode etcd needs at least one endpoint (http://host:2379)");
  }
  for (const auto& e : le.etcd_endpoints) {
    if (!core::starts_with(e, "http://") && !core::starts_with(e, "https://"))
      return config_key_error("service.leader_election.etcd.endpoints",
                              "'" + e + "' must start with http:// or https://");
  }
  if (le.etcd_cert_file.empty() != le.etcd_key_file.empty()) {
    return config_key_error(le.etcd_cert_file.empty() ? "service.leader_election.etcd.cert_file"
                                                      : "service.leader_election.etcd.key_file",
                            "cert_file and key_file go together (etcd's client certificate and its key)");
  }
  bool any_https = std::any_of(le.etcd_endpoints.begin(), le.etcd_endpoints.end(),
                               [](const std::string& e) { return core::starts_with(e, "https://"); });
  if (!any_https && (!le.etcd_ca_file.empty() || !le.etcd_cert_file.empty())) {
    return config_key_error(le.etcd_ca_file.empty() ? "service.leader_election.etcd.cert_file"
                                                    : "service.leader_election.etcd.ca_file",
                            "TLS files are set but no etcd endpoint is https://");
  }
  return s;
}

Status check_nodes(const ClusterConfig& cl, const BalancingConfig& b) {
  for (const auto& n : cl.maintenance_nodes) {
    if (contains(cl.ignore_nodes, n))
      return config_key_error("proxmox_cluster.maintenance_nodes",
                          "node '" + n + "' is also in ignore_nodes (evacuate or ignore, not both)");
  }
  if (!b.balance_vms && !b.balance_cts)
    return config_key_error("balancing.balance_types", "must contain vm, ct or both");
  return core::ok();
}

}  // namespace

std::string_view to_string(Method method) {
  for (const auto& [value, name] : kMethodNames)
    if (value == method) return name;
  return "memory";
}

std::string_view to_string(Mode mode) {
  for (const auto& [value, name] : kModeNames)
    if (value == mode) return name;
  return "used";
}

std::vector<std::string> method_names() {
  std::vector<std::string> out;
  for (const auto& entry : kMethodNames) out.emplace_back(entry.second);
  return out;
}

std::vector<std::string> mode_names() {
  std::vector<std::string> out;
  for (const auto& entry : kModeNames) out.emplace_back(entry.second);
  return out;
}

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

namespace {

Result<BalanceConfig> one_cluster(const LayeredConfig& layers) {
  BalanceConfig cfg;
  PVEKIT_ASSIGN(cfg.proxmox_api, pve::read_api_config(layers));
  PVEKIT_TRY(pve::check_api_config(cfg.proxmox_api));
  cfg.proxmox_cluster.maintenance_nodes = layers.get_list("proxmox_cluster.maintenance_nodes");
  cfg.proxmox_cluster.ignore_nodes = layers.get_list("proxmox_cluster.ignore_nodes");
  cfg.proxmox_cluster.overprovisioning = layers.get_bool("proxmox_cluster.overprovisioning");
  PVEKIT_ASSIGN(cfg.balancing, read_balancing(layers));
  PVEKIT_ASSIGN(cfg.service, read_service(layers));
  PVEKIT_TRY(check_nodes(cfg.proxmox_cluster, cfg.balancing));
  cfg.warnings = ignored_key_warnings(layers);
  return cfg;
}

// The sections an entry of `clusters:` may have besides its name: what is
// per cluster. The service section (schedule, leader election, endpoints,
// audit log, webhooks) is the daemon's, so global.
constexpr const char* kClusterSections[] = {"proxmox_api", "proxmox_cluster", "balancing"};

// Each entry is the top-level config with the entry's own sections merged
// over it: top-level balancing keys are the defaults of every cluster.
Result<std::vector<BalanceConfig>> read_clusters(const LayeredConfig& layers) {
  const Json& list = layers.get("clusters");
  for (const auto& spec : proxlb_schema().keys()) {
    if (spec.path.rfind(std::string(pve::kApiSection) + ".", 0) == 0 && layers.has(spec.path) &&
        layers.source_of(spec.path) != "default") {
      return config_key_error(spec.path, "is set at the top level (" + layers.source_of(spec.path) +
                                             ") and clusters: is set too; give each cluster its own proxmox_api");
    }
  }
  std::vector<BalanceConfig> clusters;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string key = "clusters[" + std::to_string(i) + "]";
    const Json& entry = list[i];
    if (!entry.is_object()) return config_key_error(key, "expected a mapping with name, proxmox_api, ...");
    if (!entry.contains("name") || !entry["name"].is_string() ||
        !valid_cluster_name(entry["name"].get<std::string>())) {
      return config_key_error(key + ".name", "expected 1-63 letters, digits, '-', '_' or '.', starting with a "
                                             "letter or digit");
    }
    const std::string name = entry["name"].get<std::string>();
    for (const auto& other : clusters) {
      if (other.name == name) return config_key_error(key + ".name", "'" + name + "' names two clusters");
    }
    Json sections = Json::object();
    for (const auto& [section, value] : entry.items()) {
      if (section == "name") continue;
      if (std::find(std::begin(kClusterSections), std::end(kClusterSections), section) == std::end(kClusterSections)) {
        return config_key_error(key + "." + section, "unknown key (name, proxmox_api, proxmox_cluster, balancing; "
                                                     "the service section is global)");
      }
      sections[section] = value;
    }
    sections["clusters"] = Json::array();
    LayeredConfig merged = layers;
    const std::string source = key + " (" + name + ")";
    PVEKIT_TRY(merged.merge_document(sections, source));
    PVEKIT_ASSIGN(BalanceConfig cluster, one_cluster(merged).wrap(source));
    cluster.name = name;
    clusters.push_back(std::move(cluster));
  }
  return clusters;
}

}  // namespace

bool valid_cluster_name(std::string_view name) {
  if (name.empty() || name.size() > 63 || !std::isalnum(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char ch) {
    return std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.';
  });
}

Result<BalanceConfig> to_balance_config(const LayeredConfig& layers) {
  if (layers.get("clusters").empty()) return one_cluster(layers);
  PVEKIT_ASSIGN(auto clusters, read_clusters(layers));
  BalanceConfig cfg;
  // The top level keeps what is global (the service section) for the daemon.
  cfg.service = clusters.front().service;
  if (cfg.service.leader_election.mode == "ha-master" && clusters.size() > 1) {
    return config_key_error("service.leader_election.mode",
                            "ha-master needs one daemon on each node of one cluster; with several clusters use "
                            "etcd (one election per cluster) or none");
  }
  for (const auto& cluster : clusters) {
    for (const auto& warning : cluster.warnings) {
      if (!contains(cfg.warnings, warning)) cfg.warnings.push_back(warning);
    }
  }
  cfg.clusters = std::move(clusters);
  return cfg;
}

std::vector<BalanceConfig> clusters_of(const BalanceConfig& config) {
  if (config.clusters.empty()) return {config};
  return config.clusters;
}

Result<BalanceConfig> select_cluster(const BalanceConfig& config, const std::string& name) {
  if (config.clusters.empty()) {
    if (name.empty()) return config;
    return Error(ErrorCategory::Usage, "--cluster " + name + ": the config has no clusters: list (one cluster, "
                                       "from its top-level proxmox_api)");
  }
  std::vector<std::string> names;
  for (const auto& cluster : config.clusters) {
    if (cluster.name == name || (name.empty() && config.clusters.size() == 1)) return cluster;
    names.push_back(cluster.name);
  }
  if (name.empty()) {
    return Error(ErrorCategory::Usage,
                 "the config has " + std::to_string(names.size()) + " clusters (" + core::join(names, ", ") +
                     "): pick one with --cluster NAME");
  }
  return Error(ErrorCategory::Usage, "--cluster " + name + ": no such cluster in the config (" +
                                         core::join(names, ", ") + ")");
}

Result<BalanceConfig> load_config(const std::string& yaml_text, const std::string& source,
                                  const std::map<std::string, std::string>& env) {
  core::LayeredConfig layers(proxlb_schema());
  PVEKIT_ASSIGN(Json doc, core::parse_yaml(yaml_text, source));
  PVEKIT_TRY(layers.merge_document(doc, source));
  PVEKIT_TRY(layers.merge_environment(env, kEnvPrefix, {"PROXLB_CONFIG"}));
  return to_balance_config(layers).wrap(source);
}

void apply_cluster_config(const BalanceConfig& config, ClusterState& state) {
  for (auto& node : state.nodes) {
    node.reserve = config.reserve_for(node.name);
    if (contains(config.proxmox_cluster.maintenance_nodes, node.name)) node.maintenance = true;
    if (contains(config.proxmox_cluster.ignore_nodes, node.name)) node.ignored = true;
  }
}

}  // namespace pvekit::balance
