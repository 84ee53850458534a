#include "pve/types.h"

#include <algorithm>

#include "core/strings.h"
#include "pve/json_fields.h"
#include "pve/tags.h"

namespace pvekit::pve {

namespace f = fields;
using core::Error;
using core::ErrorCategory;
using core::Json;

namespace {

Error shape_error(const char* what, const char* expected, const Json& data) {
  return Error(ErrorCategory::Parse, std::string(what) + ": expected " + expected + ", got " +
                                         core::json_type_name(data));
}

// Applies `parse_one` to every object of an array; non-objects are skipped
// (PVE never sends them; a stray entry should not hide the rest).
template <typename T, typename F>
core::Result<std::vector<T>> parse_list(const Json& data, const char* what, F parse_one) {
  if (data.is_null()) return std::vector<T>{};
  if (!data.is_array()) return shape_error(what, "an array", data);
  std::vector<T> out;
  out.reserve(data.size());
  for (const auto& item : data) {
    if (item.is_object()) out.push_back(parse_one(item));
  }
  return out;
}

core::Status expect_object(const Json& data, const char* what) {
  if (!data.is_object()) return shape_error(what, "an object", data);
  return core::ok();
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  for (auto& part : core::split(text, ',', true)) {
    auto t = std::string(core::trim(part));
    if (!t.empty()) out.push_back(std::move(t));
  }
  return out;
}

// Fields that may be lists in JSON or comma-separated strings.
std::vector<std::string> list_field(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) return {};
  if (it->is_array()) {
    std::vector<std::string> out;
    for (const auto& v : *it) out.push_back(f::scalar_text(v));
    return out;
  }
  return split_list(f::string_or(obj, key));
}

}  // namespace

std::string_view to_string(GuestType type) { return type == GuestType::Qemu ? "qemu" : "lxc"; }

core::Result<Version> parse_version(const Json& data) {
  PVEKIT_TRY(expect_object(data, "version"));
  return Version{.version = f::string_or(data, "version"),
                 .release = f::string_or(data, "release"),
                 .repoid = f::string_or(data, "repoid"),
                 .console = f::string_or(data, "console")};
}

size_t ClusterStatus::online_count() const {
  return static_cast<size_t>(std::count_if(nodes.begin(), nodes.end(), [](const auto& n) { return n.online; }));
}

core::Result<ClusterStatus> parse_cluster_status(const Json& data) {
  if (!data.is_array()) return shape_error("cluster status", "an array", data);
  ClusterStatus out;
  for (const auto& item : data) {
    std::string type = f::string_or(item, "type");
    if (type == "cluster") {
      out.clustered = true;
      out.name = f::string_or(item, "name");
      out.quorate = f::bool_or(item, "quorate");
      out.nodes_configured = f::int_or(item, "nodes");
      out.config_version = f::int_or(item, "version");
    } else if (type == "node") {
      out.nodes.push_back(ClusterNode{.name = f::string_or(item, "name"),
                                      .id = f::string_or(item, "id"),
                                      .nodeid = f::int_or(item, "nodeid"),
                                      .ip = f::string_or(item, "ip"),
                                      .online = f::bool_or(item, "online"),
                                      .local = f::bool_or(item, "local"),
                                      .level = f::string_or(item, "level")});
    }
  }
  if (!out.clustered) out.nodes_configured = static_cast<int64_t>(out.nodes.size());
  return out;
}

ClusterResource parse_cluster_resource(const Json& item) {
  ClusterResource r;
  r.id = f::string_or(item, "id");
  r.type = f::string_or(item, "type");
  r.node = f::string_or(item, "node");
  r.vmid = f::int_or(item, "vmid");
  r.name = f::string_or(item, "name");
  r.status = f::string_or(item, "status");
  r.maxmem = f::uint_or(item, "maxmem");
  r.mem = f::uint_or(item, "mem");
  r.memhost = f::uint_or(item, "memhost");
  r.maxcpu = f::number_or(item, "maxcpu");
  r.cpu = f::number_or(item, "cpu");
  r.maxdisk = f::uint_or(item, "maxdisk");
  r.disk = f::uint_or(item, "disk");
  r.netin = f::uint_or(item, "netin");
  r.netout = f::uint_or(item, "netout");
  r.diskread = f::uint_or(item, "diskread");
  r.diskwrite = f::uint_or(item, "diskwrite");
  r.uptime = f::uint_or(item, "uptime");
  r.tags = parse_tags(f::string_or(item, "tags"));
  r.template_ = f::bool_or(item, "template");
  r.lock = f::string_or(item, "lock");
  r.hastate = f::string_or(item, "hastate");
  r.pool = f::string_or(item, "pool");
  r.storage = f::string_or(item, "storage");
  r.content = f::string_or(item, "content");
  r.shared = f::bool_or(item, "shared");
  r.plugintype = f::string_or(item, "plugintype");
  r.level = f::string_or(item, "level");
  r.cgroup_mode = f::string_or(item, "cgroup-mode");
  return r;
}

core::Result<std::vector<ClusterResource>> parse_cluster_resources(const Json& data) {
  return parse_list<ClusterResource>(data, "cluster resources", parse_cluster_resource);
}

core::Result<std::vector<NodeSummary>> parse_nodes(const Json& data) {
  return parse_list<NodeSummary>(data, "nodes", [](const Json& item) {
    return NodeSummary{.node = f::string_or(item, "node"),
                       .status = f::string_or(item, "status"),
                       .cpu = f::number_or(item, "cpu"),
                       .maxcpu = f::number_or(item, "maxcpu"),
                       .mem = f::uint_or(item, "mem"),
                       .maxmem = f::uint_or(item, "maxmem"),
                       .disk = f::uint_or(item, "disk"),
                       .maxdisk = f::uint_or(item, "maxdisk"),
                       .uptime = f::uint_or(item, "uptime"),
                       .level = f::string_or(item, "level"),
                       .ssl_fingerprint = f::string_or(item, "ssl_fingerprint")};
  });
}

core::Result<NodeStatus> parse_node_status(const Json& data) {
  PVEKIT_TRY(expect_object(data, "node status"));
  NodeStatus s;
  s.cpu = f::number_or(data, "cpu");
  s.wait = f::number_or(data, "wait");
  s.uptime = f::uint_or(data, "uptime");
  if (auto it = data.find("loadavg"); it != data.end() && it->is_array()) {
    for (const auto& v : *it) {
      Json wrapper = {{"v", v}};
      s.loadavg.push_back(f::number_or(wrapper, "v"));
    }
  }
  const Json empty = Json::object();
  auto sub = [&](const char* key) -> const Json& {
    auto it = data.find(key);
    return it != data.end() && it->is_object() ? *it : empty;
  };
  for (auto [key, mem] : {std::pair{"memory", &s.memory}, std::pair{"swap", &s.swap}}) {
    const Json& m = sub(key);
    *mem = {f::uint_or(m, "total"), f::uint_or(m, "used"), f::uint_or(m, "free"),
            f::uint_or(m, "available")};
  }
  const Json& fs = sub("rootfs");
  s.rootfs = {f::uint_or(fs, "total"), f::uint_or(fs, "used"), f::uint_or(fs, "free"),
              f::uint_or(fs, "avail")};
  const Json& ci = sub("cpuinfo");
  s.cpuinfo = {f::int_or(ci, "cpus"), f::int_or(ci, "cores"), f::int_or(ci, "sockets"),
               f::string_or(ci, "model"), f::number_or(ci, "mhz")};
  s.pveversion = f::string_or(data, "pveversion");
  s.kernel_release = f::string_or(sub("current-kernel"), "release");
  s.boot_mode = f::string_or(sub("boot-info"), "mode");
  return s;
}

core::Result<std::vector<Guest>> parse_guests(const Json& data, GuestType type) {
  return parse_list<Guest>(data, "guests", [type](const Json& item) {
    Guest g;
    g.type = type;
    g.vmid = f::int_or(item, "vmid");
    g.name = f::string_or(item, "name");
    g.status = f::string_or(item, "status");
    g.cpu = f::number_or(item, "cpu");
    g.cpus = f::number_or(item, "cpus");
    g.mem = f::uint_or(item, "mem");
    g.maxmem = f::uint_or(item, "maxmem");
    g.disk = f::uint_or(item, "disk");
    g.maxdisk = f::uint_or(item, "maxdisk");
    g.netin = f::uint_or(item, "netin");
    g.netout = f::uint_or(item, "netout");
    g.diskread = f::uint_or(item, "diskread");
    g.diskwrite = f::uint_or(item, "diskwrite");
    g.uptime = f::uint_or(item, "uptime");
    g.tags = parse_tags(f::string_or(item, "tags"));
    g.template_ = f::bool_or(item, "template");
    g.lock = f::string_or(item, "lock");
    for (const auto& [key, value] : item.items()) {
      if (!core::starts_with(key, "pressure")) continue;
      if (auto v = f::number(item, key)) g.pressure[key] = *v;
    }
    return g;
  });
}

// ---- guest config ------------------------------------------------------------

core::Result<GuestConfig> parse_guest_config(const Json& data) {
  PVEKIT_TRY(expect_object(data, "guest config"));
  GuestConfig c;
  for (const auto& [key, value] : data.items()) c.values[key] = f::scalar_text(value);
  return c;
}

std::optional<std::string> GuestConfig::get(const std::string& key) const {
  auto it = values.find(key);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

std::optional<int64_t> GuestConfig::get_int(const std::string& key) const {
  auto v = get(key);
  if (!v) return std::nullopt;
  return core::parse_int(core::trim(*v));
}

bool GuestConfig::get_bool(const std::string& key, bool fallback) const {
  auto v = get(key);
  if (!v) return fallback;
  return core::parse_bool(core::trim(*v)).value_or(fallback);
}

int64_t GuestConfig::memory_mib() const { return get_int("memory").value_or(0); }

int64_t GuestConfig::cpus() const {
  int64_t cores = get_int("cores").value_or(0);
  if (values.count("sockets") != 0) return cores * get_int("sockets").value_or(1);
  return cores;
}

std::string GuestConfig::name() const {
  if (auto n = get("name")) return *n;
  return get("hostname").value_or("");
}

std::vector<std::string> GuestConfig::tags() const { return parse_tags(get("tags").value_or("")); }

std::vector<std::string> GuestConfig::indexed_keys(const std::string& prefix) const {
  std::vector<std::pair<int64_t, std::string>> found;
  for (const auto& [key, value] : values) {
    if (!core::starts_with(key, prefix) || key.size() == prefix.size()) continue;
    auto index = core::parse_int(std::string_view(key).substr(prefix.size()));
    if (index && *index >= 0) found.emplace_back(*index, key);
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [i, key] : found) out.push_back(std::move(key));
  return out;
}

std::map<std::string, std::string> GuestConfig::split_property_string(const std::string& text,
                                                                     const std::string& default_key) {
  std::map<std::string, std::string> out;
  for (const auto& part : core::split(text, ',', true)) {
    auto eq = part.find('=');
    if (eq == std::string::npos) {
      out[default_key] = std::string(core::trim(part));
    } else {
      out[std::string(core::trim(part.substr(0, eq)))] = std::string(core::trim(part.substr(eq + 1)));
    }
  }
  return out;
}

// ---- rrd and tasks ---------------------------------------------------------------

std::string_view to_string(Timeframe timeframe) {
  switch (timeframe) {
    case Timeframe::Hour: return "hour";
    case Timeframe::Day: return "day";
    case Timeframe::Week: return "week";
    case Timeframe::Month: return "month";
    case Timeframe::Year: return "year";
  }
  return "hour";
}

std::string_view to_string(Consolidation cf) { return cf == Consolidation::Max ? "MAX" : "AVERAGE"; }

core::Result<std::vector<RrdRow>> parse_rrddata(const Json& data) {
  return parse_list<RrdRow>(data, "rrddata", [](const Json& item) {
    RrdRow row;
    for (const auto& [key, value] : item.items()) {
      // Missing samples arrive absent or as null/"NaN": leave them out.
      if (auto v = f::number(item, key)) row[key] = *v;
    }
    return row;
  });
}

bool TaskStatus::succeeded() const {
  return status == "stopped" && (exitstatus == "OK" || core::starts_with(exitstatus, "WARNINGS"));
}

core::Result<TaskStatus> parse_task_status(const Json& data) {
  PVEKIT_TRY(expect_object(data, "task status"));
  return TaskStatus{.upid = f::string_or(data, "upid"),
                    .node = f::string_or(data, "node"),
                    .status = f::string_or(data, "status"),
                    .exitstatus = f::string_or(data, "exitstatus"),
                    .type = f::string_or(data, "type"),
                    .id = f::string_or(data, "id"),
                    .user = f::string_or(data, "user"),
                    .pid = f::int_or(data, "pid"),
                    .starttime = f::int_or(data, "starttime")};
}

core::Result<std::vector<TaskStatus>> parse_task_list(const Json& data) {
  return parse_list<TaskStatus>(data, "task list", [](const Json& item) {
    const bool running = !item.contains("endtime");
    return TaskStatus{.upid = f::string_or(item, "upid"),
                      .node = f::string_or(item, "node"),
                      .status = running ? "running" : "stopped",
                      .exitstatus = running ? "" : f::string_or(item, "status"),
                      .type = f::string_or(item, "type"),
                      .id = f::string_or(item, "id"),
                      .user = f::string_or(item, "user"),
                      .pid = f::int_or(item, "pid"),
                      .starttime = f::int_or(item, "starttime")};
  });
}

core::Result<std::vector<TaskLogLine>> parse_task_log(const Json& data) {
  return parse_list<TaskLogLine>(data, "task log", [](const Json& item) {
    return TaskLogLine{.n = f::int_or(item, "n"), .t = f::string_or(item, "t")};
  });
}

core::Result<std::vector<Snapshot>> parse_snapshots(const Json& data) {
  return parse_list<Snapshot>(data, "snapshots", [](const Json& item) {
    return Snapshot{.name = f::string_or(item, "name"),
                    .description = f::string_or(item, "description"),
                    .parent = f::string_or(item, "parent"),
                    .snaptime = f::int_or(item, "snaptime")};
  });
}

// ---- storage -------------------------------------------------------------------------

core::Result<std::vector<StorageConfig>> parse_storage_configs(const Json& data) {
  return parse_list<StorageConfig>(data, "storage", [](const Json& item) {
    return StorageConfig{.storage = f::string_or(item, "storage"),
                         .type = f::string_or(item, "type"),
                         .content = list_field(item, "content"),
                         .nodes = list_field(item, "nodes"),
                         .path = f::string_or(item, "path"),
                         .shared = f::bool_or(item, "shared"),
                         .disable = f::bool_or(item, "disable")};
  });
}

core::Result<std::vector<NodeStorage>> parse_node_storages(const Json& data) {
  return parse_list<NodeStorage>(data, "node storage", [](const Json& item) {
    return NodeStorage{.storage = f::string_or(item, "storage"),
                       .type = f::string_or(item, "type"),
                       .content = list_field(item, "content"),
                       .active = f::bool_or(item, "active"),
                       .enabled = f::bool_or(item, "enabled"),
                       .shared = f::bool_or(item, "shared"),
                       .total = f::uint_or(item, "total"),
                       .used = f::uint_or(item, "used"),
                       .avail = f::uint_or(item, "avail"),
                       .used_fraction = f::number_or(item, "used_fraction")};
  });
}

core::Result<std::vector<StorageContent>> parse_storage_content(const Json& data) {
  return parse_list<StorageContent>(data, "storage content", [](const Json& item) {
    return StorageContent{.volid = f::string_or(item, "volid"),
                          .content = f::string_or(item, "content"),
                          .format = f::string_or(item, "format"),
                          .size = f::uint_or(item, "size"),
                          .used = f::uint_or(item, "used"),
                          .vmid = f::int_or(item, "vmid"),
                          .ctime = f::int_or(item, "ctime"),
                          .notes = f::string_or(item, "notes"),
                          .parent = f::string_or(item, "parent"),
                          .protected_ = f::bool_or(item, "protected")};
  });
}

// ---- HA and pools -------------------------------------------------------------------------

core::Result<std::vector<HaResource>> parse_ha_resources(const Json& data) {
  return parse_list<HaResource>(data, "HA resources", [](const Json& item) {
    std::string sid = f::string_or(item, "sid");
    std::string type = f::string_or(item, "type");
    if (type.empty()) type = sid.substr(0, sid.find(':'));
    return HaResource{.sid = sid,
                      .type = type,
                      .state = f::string_or(item, "state", "started"),
                      .group = f::string_or(item, "group"),
                      .max_restart = f::int_or(item, "max_restart", 1),
                      .max_relocate = f::int_or(item, "max_relocate", 1),
                      .failback = f::bool_or(item, "failback", true),
                      .comment = f::string_or(item, "comment")};
  });
}

core::Result<std::vector<HaRule>> parse_ha_rules(const Json& data) {
  return parse_list<HaRule>(data, "HA rules", [](const Json& item) {
    HaRule r;
    r.rule = f::string_or(item, "rule");
    r.type = f::string_or(item, "type");
    r.resources = list_field(item, "resources");
    for (const auto& entry : list_field(item, "nodes")) {
      auto colon = entry.find(':');
      HaRule::NodePriority np{.node = entry.substr(0, colon)};
      if (colon != std::string::npos)
        np.priority = core::parse_int(std::string_view(entry).substr(colon + 1)).value_or(0);
      r.nodes.push_back(std::move(np));
    }
    r.affinity = f::string_or(item, "affinity");
    r.strict = f::bool_or(item, "strict");
    r.disable = f::bool_or(item, "disable");
    r.comment = f::string_or(item, "comment");
    return r;
  });
}

core::Result<CrsOptions> parse_crs_options(const Json& data) {
  PVEKIT_TRY(expect_object(data, "cluster options"));
  CrsOptions o;
  auto crs = data.find("crs");
  if (crs == data.end() || !crs->is_object()) return o;  // unset: PVE's defaults
  o.ha = f::string_or(*crs, "ha", "basic");
  o.auto_rebalance = f::bool_or(*crs, "ha-auto-rebalance");
  o.rebalance_on_start = f::bool_or(*crs, "ha-rebalance-on-start");
  return o;
}

core::Result<HaManagerStatus> parse_ha_manager_status(const Json& data) {
  PVEKIT_TRY(expect_object(data, "HA manager status"));
  HaManagerStatus s;
  s.raw = data;
  const Json empty = Json::object();
  auto ms_it = data.find("manager_status");
  const Json& ms = ms_it != data.end() && ms_it->is_object() ? *ms_it : empty;
  s.master_node = f::string_or(ms, "master_node");
  s.timestamp = f::number_or(ms, "timestamp");
  if (auto q = data.find("quorum"); q != data.end()) s.quorate = f::bool_or(*q, "quorate");
  if (auto ns = ms.find("node_status"); ns != ms.end() && ns->is_object()) {
    for (const auto& [node, state] : ns->items()) s.node_status[node] = f::scalar_text(state);
  }
  if (auto ss = ms.find("service_status"); ss != ms.end() && ss->is_object()) {
    for (const auto& [sid, svc] : ss->items()) {
      s.services[sid] = HaManagerStatus::Service{.node = f::string_or(svc, "node"),
                                                 .state = f::string_or(svc, "state"),
                                                 .target = f::string_or(svc, "target")};
    }
  }
  return s;
}

core::Result<HaMigrateResult> parse_ha_migrate_result(const Json& data) {
  HaMigrateResult r;
  if (data.is_null()) return r;  // PVE before 9 answers null
  PVEKIT_TRY(expect_object(data, "HA migrate answer"));
  r.sid = f::string_or(data, "sid");
  r.requested_node = f::string_or(data, "requested-node");
  if (auto b = data.find("blocking-resources"); b != data.end() && b->is_array()) {
    for (const auto& item : *b)
      r.blocking_resources.push_back({f::string_or(item, "sid"), f::string_or(item, "cause")});
  }
  r.comigrated_resources = list_field(data, "comigrated-resources");
  return r;
}

core::Result<std::vector<Pool>> parse_pools(const Json& data) {
  return parse_list<Pool>(data, "pools", [](const Json& item) {
    Pool p{.poolid = f::string_or(item, "poolid"), .comment = f::string_or(item, "comment")};
    if (auto m = item.find("members"); m != item.end() && m->is_array()) {
      for (const auto& member : *m) {
        if (member.is_object()) p.members.push_back(parse_cluster_resource(member));
      }
    }
    return p;
  });
}

}  // namespace pvekit::pve
