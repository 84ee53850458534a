#include "sim/scenario.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <set>

#include "core/files.h"
#include "core/strings.h"
#include "pve/tags.h"
#include "sim/datacenter.h"
#include "sim/permissions.h"

namespace pvekit::sim {
namespace {

using core::Error;
using core::ErrorCategory;
using core::Json;
using core::Result;
using core::Status;

constexpr uint64_t kGiB = 1024ull * 1024 * 1024;

Error config_error(const std::string& path, const std::string& what) {
  return Error(ErrorCategory::Config, path + ": " + what);
}

std::string key_path(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

Status check_keys(const Json& obj, const std::string& path, const std::set<std::string>& allowed) {
  if (!obj.is_object()) return config_error(path, "expected a mapping, got " + core::json_type_name(obj));
  for (const auto& [key, value] : obj.items()) {
    if (!allowed.count(key)) return config_error(key_path(path, key), "unknown key");
  }
  return core::ok();
}

Result<std::string> get_str(const Json& obj, const std::string& path, const std::string& key,
                            std::string fallback) {
  if (!obj.contains(key)) return fallback;
  const Json& v = obj[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  return config_error(key_path(path, key), "expected a string, got " + core::json_type_name(v));
}

Result<std::string> require_str(const Json& obj, const std::string& path, const std::string& key) {
  if (!obj.contains(key)) return config_error(key_path(path, key), "required key is missing");
  return get_str(obj, path, key, "");
}

Result<double> get_num(const Json& obj, const std::string& path, const std::string& key, double fallback) {
  if (!obj.contains(key)) return fallback;
  if (!obj[key].is_number()) {
    return config_error(key_path(path, key), "expected a number, got " + core::json_type_name(obj[key]));
  }
  return obj[key].get<double>();
}

Result<int64_t> get_int(const Json& obj, const std::string& path, const std::string& key, int64_t fallback) {
  if (!obj.contains(key)) return fallback;
  if (!obj[key].is_number_integer()) {
    return config_error(key_path(path, key), "expected an integer, got " + core::json_type_name(obj[key]));
  }
  return obj[key].get<int64_t>();
}

Result<bool> get_bool(const Json& obj, const std::string& path, const std::string& key, bool fallback) {
  if (!obj.contains(key)) return fallback;
  const Json& v = obj[key];
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer() && (v == 0 || v == 1)) return v.get<int>() == 1;
  return config_error(key_path(path, key), "expected a boolean, got " + core::json_type_name(v));
}

// Integers are bytes; strings carry a unit ("8G", "512M").
Result<uint64_t> get_size(const Json& obj, const std::string& path, const std::string& key, uint64_t fallback) {
  if (!obj.contains(key)) return fallback;
  const Json& v = obj[key];
  if (v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0)) return v.get<uint64_t>();
  if (v.is_string()) {
    if (auto size = core::parse_size(v.get<std::string>())) return *size;
  }
  return config_error(key_path(path, key), "expected a size like 8G or a byte count, got " + v.dump());
}

// A list of strings, or one string separated by ',' ';' or spaces.
Result<std::vector<std::string>> get_list(const Json& obj, const std::string& path, const std::string& key) {
  std::vector<std::string> out;
  if (!obj.contains(key)) return out;
  const Json& v = obj[key];
  if (v.is_string()) {
    std::string text = v.get<std::string>();
    std::replace(text.begin(), text.end(), ';', ',');
    std::replace(text.begin(), text.end(), ' ', ',');
    return core::split(text, ',', true);
  }
  if (!v.is_array()) return config_error(key_path(path, key), "expected a list, got " + core::json_type_name(v));
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) {
      return config_error(key_path(path, key) + "[" + std::to_string(i) + "]", "expected a string");
    }
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

Result<Node> parse_node(const Json& j, const std::string& path, int index, double now) {
  PVEKIT_TRY(check_keys(j, path, {"name", "cpus", "memory", "rootfs", "swap", "online", "base_cpu", "base_memory",
                                  "ip", "cpu_model", "uptime"}));
  Node n;
  PVEKIT_ASSIGN(n.name, require_str(j, path, "name"));
  PVEKIT_ASSIGN(int64_t cpus, get_int(j, path, "cpus", 8));
  if (cpus < 1) return config_error(path + ".cpus", "must be at least 1");
  n.cpus = static_cast<int>(cpus);
  PVEKIT_ASSIGN(n.memory, get_size(j, path, "memory", 32 * kGiB));
  PVEKIT_ASSIGN(n.rootfs, get_size(j, path, "rootfs", 100 * kGiB));
  PVEKIT_ASSIGN(n.swap, get_size(j, path, "swap", 8 * kGiB));
  PVEKIT_ASSIGN(n.online, get_bool(j, path, "online", true));
  PVEKIT_ASSIGN(n.base_cpu, get_num(j, path, "base_cpu", 0.02));
  PVEKIT_ASSIGN(n.base_mem, get_size(j, path, "base_memory", 2 * kGiB));
  PVEKIT_ASSIGN(n.ip, get_str(j, path, "ip", "10.0.0." + std::to_string(10 + index)));
  PVEKIT_ASSIGN(n.cpu_model, get_str(j, path, "cpu_model", n.cpu_model));
  PVEKIT_ASSIGN(double uptime, get_num(j, path, "uptime", 86400.0 * (20 + index)));
  n.nodeid = index + 1;
  n.boot_time = now - uptime;
  return n;
}

Result<Storage> parse_storage(const Json& j, const std::string& path) {
  PVEKIT_TRY(check_keys(j, path, {"id", "type", "content", "shared", "nodes", "size", "path"}));
  Storage s;
  PVEKIT_ASSIGN(s.id, require_str(j, path, "id"));
  PVEKIT_ASSIGN(s.type, get_str(j, path, "type", "dir"));
  PVEKIT_ASSIGN(s.content, get_list(j, path, "content"));
  if (s.content.empty()) s.content = {"images", "rootdir"};
  PVEKIT_ASSIGN(s.shared, get_bool(j, path, "shared", false));
  PVEKIT_ASSIGN(s.nodes, get_list(j, path, "nodes"));
  PVEKIT_ASSIGN(s.total, get_size(j, path, "size", 1024 * kGiB));
  PVEKIT_ASSIGN(s.path, get_str(j, path, "path", s.type == "dir" ? "/var/lib/vz" : ""));
  return s;
}

Result<LoadProfile> parse_load(const Json& j, const std::string& path, double now) {
  LoadProfile p;
  p.trend_origin = now;
  if (j.is_null()) return p;
  PVEKIT_TRY(check_keys(j, path, {"cpu", "cpu_amp", "mem", "mem_amp", "noise", "peak_hour", "net", "io", "cpu_trend",
                                  "mem_trend", "cpu_weekly_amp", "mem_weekly_amp", "weekly_peak_day", "disk",
                                  "disk_trend"}));
  PVEKIT_ASSIGN(p.cpu_trend, get_num(j, path, "cpu_trend", p.cpu_trend));
  PVEKIT_ASSIGN(p.mem_trend, get_num(j, path, "mem_trend", p.mem_trend));
  PVEKIT_ASSIGN(p.cpu_weekly_amp, get_num(j, path, "cpu_weekly_amp", p.cpu_weekly_amp));
  PVEKIT_ASSIGN(p.mem_weekly_amp, get_num(j, path, "mem_weekly_amp", p.mem_weekly_amp));
  PVEKIT_ASSIGN(p.weekly_peak_day, get_num(j, path, "weekly_peak_day", p.weekly_peak_day));
  PVEKIT_ASSIGN(p.disk, get_num(j, path, "disk", p.disk));
  PVEKIT_ASSIGN(p.disk_trend, get_num(j, path, "disk_trend", p.disk_trend));
  if (!(p.disk >= 0 && p.disk <= 1)) return config_error(path + ".disk", "must be within 0..1 (fraction of the disk)");
  for (auto [key, v, limit] : {std::tuple{"cpu_trend", p.cpu_trend, 1.0}, {"mem_trend", p.mem_trend, 1.0},
                               {"cpu_weekly_amp", p.cpu_weekly_amp, 1.0}, {"mem_weekly_amp", p.mem_weekly_amp, 1.0},
                               {"disk_trend", p.disk_trend, 1.0}}) {
    if (!std::isfinite(v) || std::abs(v) > limit) return config_error(path + "." + key, "must be within -1..1");
  }
  if (!(p.weekly_peak_day >= 0 && p.weekly_peak_day < 7))
    return config_error(path + ".weekly_peak_day", "must be 0 (Monday) up to 7");
  PVEKIT_ASSIGN(p.cpu, get_num(j, path, "cpu", p.cpu));
  PVEKIT_ASSIGN(p.cpu_amp, get_num(j, path, "cpu_amp", p.cpu_amp));
  PVEKIT_ASSIGN(p.mem, get_num(j, path, "mem", p.mem));
  PVEKIT_ASSIGN(p.mem_amp, get_num(j, path, "mem_amp", p.mem_amp));
  PVEKIT_ASSIGN(p.noise, get_num(j, path, "noise", p.noise));
  PVEKIT_ASSIGN(p.peak_hour, get_num(j, path, "peak_hour", p.peak_hour));
  PVEKIT_ASSIGN(p.net, get_num(j, path, "net", p.net));
  PVEKIT_ASSIGN(p.io, get_num(j, path, "io", p.io));
  return p;
}

Result<Guest> parse_guest(const Json& j, const std::string& path, double now) {
  PVEKIT_TRY(check_keys(j, path, {"vmid", "type", "name", "node", "status", "cores", "memory", "swap", "disk",
                                  "storage", "tags", "pool", "template", "lock", "load", "config", "uptime"}));
  Guest g;
  PVEKIT_ASSIGN(int64_t vmid, get_int(j, path, "vmid", 0));
  if (vmid < 100 || vmid > 999999999) return config_error(path + ".vmid", "required, 100..999999999");
  g.vmid = static_cast<int>(vmid);
  PVEKIT_ASSIGN(std::string type, get_str(j, path, "type", "qemu"));
  if (type != "qemu" && type != "lxc") return config_error(path + ".type", "must be qemu or lxc, got '" + type + "'");
  g.type = type == "qemu" ? GuestType::Qemu : GuestType::Lxc;
  PVEKIT_ASSIGN(g.name, get_str(j, path, "name", (type == "qemu" ? "vm" : "ct") + std::to_string(vmid)));
  PVEKIT_ASSIGN(g.node, require_str(j, path, "node"));
  PVEKIT_ASSIGN(g.status, get_str(j, path, "status", "running"));
  if (g.status != "running" && g.status != "stopped") {
    return config_error(path + ".status", "must be running or stopped, got '" + g.status + "'");
  }
  PVEKIT_ASSIGN(int64_t cores, get_int(j, path, "cores", 2));
  g.cpus = static_cast<int>(std::max<int64_t>(1, cores));
  PVEKIT_ASSIGN(g.maxmem, get_size(j, path, "memory", 2 * kGiB));
  PVEKIT_ASSIGN(g.swap, get_size(j, path, "swap", g.type == GuestType::Lxc ? 512ull << 20 : 0));
  PVEKIT_ASSIGN(g.maxdisk, get_size(j, path, "disk", 16 * kGiB));
  PVEKIT_ASSIGN(g.storage, get_str(j, path, "storage", ""));
  PVEKIT_ASSIGN(auto tags, get_list(j, path, "tags"));
  g.tags = pve::join_tags(pve::parse_tags(core::join(tags, ";")));
  PVEKIT_ASSIGN(g.pool, get_str(j, path, "pool", ""));
  PVEKIT_ASSIGN(g.is_template, get_bool(j, path, "template", false));
  PVEKIT_ASSIGN(g.lock, get_str(j, path, "lock", ""));
  PVEKIT_ASSIGN(g.load, parse_load(j.value("load", Json()), path + ".load", now));
  PVEKIT_ASSIGN(double uptime, get_num(j, path, "uptime", 3600.0 * (24 + vmid % 200)));
  g.started_at = now - uptime;
  if (j.contains("config")) {
    if (!j["config"].is_object()) return config_error(path + ".config", "expected a mapping");
    for (const auto& [k, v] : j["config"].items()) g.config[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  return g;
}

Result<HaRule> parse_rule(const Json& j, const std::string& path) {
  PVEKIT_TRY(check_keys(j, path, {"rule", "type", "resources", "nodes", "affinity", "strict", "disable", "comment"}));
  HaRule r;
  PVEKIT_ASSIGN(r.id, require_str(j, path, "rule"));
  PVEKIT_ASSIGN(r.type, require_str(j, path, "type"));
  if (r.type != "node-affinity" && r.type != "resource-affinity") {
    return config_error(path + ".type", "must be node-affinity or resource-affinity, got '" + r.type + "'");
  }
  PVEKIT_ASSIGN(r.resources, get_list(j, path, "resources"));
  PVEKIT_ASSIGN(r.nodes, get_list(j, path, "nodes"));
  PVEKIT_ASSIGN(r.affinity, get_str(j, path, "affinity", r.type == "resource-affinity" ? "positive" : ""));
  PVEKIT_ASSIGN(r.strict, get_bool(j, path, "strict", false));
  PVEKIT_ASSIGN(r.disable, get_bool(j, path, "disable", false));
  PVEKIT_ASSIGN(r.comment, get_str(j, path, "comment", ""));
  return r;
}

Result<User> parse_user(const Json& j, const std::string& path) {
  PVEKIT_TRY(check_keys(j, path, {"userid", "password", "tokens", "groups", "enable", "expire", "comment", "email",
                                  "firstname", "lastname"}));
  User u;
  PVEKIT_ASSIGN(u.userid, require_str(j, path, "userid"));
  if (u.userid.find('@') == std::string::npos || u.userid.find('!') != std::string::npos) {
    return config_error(path + ".userid", "must look like user@realm");
  }
  PVEKIT_ASSIGN(u.password, get_str(j, path, "password", ""));
  PVEKIT_ASSIGN(u.groups, get_list(j, path, "groups"));
  PVEKIT_ASSIGN(u.enable, get_bool(j, path, "enable", true));
  PVEKIT_ASSIGN(u.expire, get_int(j, path, "expire", 0));
  PVEKIT_ASSIGN(u.comment, get_str(j, path, "comment", ""));
  PVEKIT_ASSIGN(u.email, get_str(j, path, "email", ""));
  PVEKIT_ASSIGN(u.firstname, get_str(j, path, "firstname", ""));
  PVEKIT_ASSIGN(u.lastname, get_str(j, path, "lastname", ""));
  const Json tokens = j.value("tokens", Json::array());
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string tp = path + ".tokens[" + std::to_string(i) + "]";
    PVEKIT_TRY(check_keys(tokens[i], tp, {"id", "secret", "comment", "privsep", "expire"}));
    ApiToken t;
    PVEKIT_ASSIGN(t.id, require_str(tokens[i], tp, "id"));
    if (!valid_role_name(t.id)) return config_error(tp + ".id", "invalid token name '" + t.id + "'");
    PVEKIT_ASSIGN(t.secret, require_str(tokens[i], tp, "secret"));
    PVEKIT_ASSIGN(t.comment, get_str(tokens[i], tp, "comment", ""));
    PVEKIT_ASSIGN(t.privsep, get_bool(tokens[i], tp, "privsep", false));
    PVEKIT_ASSIGN(t.expire, get_int(tokens[i], tp, "expire", 0));
    u.tokens.push_back(std::move(t));
  }
  return u;
}

Result<std::pair<std::string, std::vector<std::string>>> parse_role(const Json& j, const std::string& path) {
  PVEKIT_TRY(check_keys(j, path, {"id", "privs"}));
  PVEKIT_ASSIGN(std::string id, require_str(j, path, "id"));
  if (!valid_role_name(id)) return config_error(path + ".id", "invalid role name '" + id + "'");
  if (builtin_roles().count(id)) return config_error(path + ".id", "cannot redefine the built-in role '" + id + "'");
  PVEKIT_ASSIGN(std::vector<std::string> privs, get_list(j, path, "privs"));
  for (const std::string& p : privs) {
    if (!valid_privilege(p)) return config_error(path + ".privs", "invalid privilege '" + p + "'");
  }
  std::sort(privs.begin(), privs.end());
  privs.erase(std::unique(privs.begin(), privs.end()), privs.end());
  return std::pair{id, privs};
}

// acl[]: {path, roles, users, groups, tokens, propagate} as `pveum acl modify` takes them.
Status parse_acl(const Json& doc, AccessControl& ac) {
  const Json list = doc.value("acl", Json::array());
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = "acl[" + std::to_string(i) + "]";
    const Json& j = list[i];
    PVEKIT_TRY(check_keys(j, path, {"path", "roles", "users", "groups", "tokens", "propagate"}));
    PVEKIT_ASSIGN(std::string raw, require_str(j, path, "path"));
    const auto acl_path = normalize_acl_path(raw);
    if (!acl_path || !valid_acl_path(*acl_path)) return config_error(path + ".path", "invalid ACL path '" + raw + "'");
    PVEKIT_ASSIGN(std::vector<std::string> roles, get_list(j, path, "roles"));
    if (roles.empty()) return config_error(path + ".roles", "at least one role is required");
    for (const std::string& r : roles) {
      if (!find_role(ac, r)) return config_error(path + ".roles", "role '" + r + "' does not exist");
    }
    PVEKIT_ASSIGN(bool propagate, get_bool(j, path, "propagate", true));
    size_t members = 0;
    for (auto [key, kind] : {std::pair{"users", AclEntry::Kind::User}, std::pair{"groups", AclEntry::Kind::Group},
                             std::pair{"tokens", AclEntry::Kind::Token}}) {
      PVEKIT_ASSIGN(std::vector<std::string> ids, get_list(j, path, key));
      for (const std::string& id : ids) {
        if (!acl_member_exists(ac, kind, id)) return config_error(key_path(path, key), "unknown member '" + id + "'");
        for (const std::string& r : roles) ac.acl.push_back({*acl_path, kind, id, r, propagate});
        ++members;
      }
    }
    if (members == 0) return config_error(path, "names no users, groups or tokens");
  }
  return core::ok();
}

Status parse_volumes(const Json& list, Cluster& c) {
  for (size_t i = 0; i < list.size(); ++i) {
    std::string path = "volumes[" + std::to_string(i) + "]";
    const Json& j = list[i];
    PVEKIT_TRY(check_keys(j, path, {"storage", "node", "volid", "content", "format", "size"}));
    PVEKIT_ASSIGN(std::string sid, require_str(j, path, "storage"));
    const Storage* s = c.find_storage(sid);
    if (!s) return config_error(path + ".storage", "unknown storage '" + sid + "'");
    Volume v;
    PVEKIT_ASSIGN(v.volid, require_str(j, path, "volid"));
    if (!core::starts_with(v.volid, sid + ":")) v.volid = sid + ":" + v.volid;
    PVEKIT_ASSIGN(v.content, get_str(j, path, "content", "vztmpl"));
    PVEKIT_ASSIGN(v.format, get_str(j, path, "format", v.content == "iso" ? "iso" : "tzst"));
    PVEKIT_ASSIGN(v.size, get_size(j, path, "size", 128ull << 20));
    PVEKIT_ASSIGN(std::string node, get_str(j, path, "node", ""));
    if (s->shared) {
      c.volumes[s->id].push_back(v);
    } else {
      for (const Node& n : c.nodes) {
        if ((node.empty() || node == n.name) && c.storage_on_node(*s, n.name)) {
          c.volumes[Cluster::volume_key(*s, n.name)].push_back(v);
        }
      }
    }
  }
  return core::ok();
}

template <typename T, typename F>
Status parse_list(const Json& doc, const std::string& key, std::vector<T>& out, F parse) {
  if (!doc.contains(key)) return core::ok();
  if (!doc[key].is_array()) return config_error(key, "expected a list");
  for (size_t i = 0; i < doc[key].size(); ++i) {
    PVEKIT_ASSIGN(T item, parse(doc[key][i], key + "[" + std::to_string(i) + "]"));
    out.push_back(std::move(item));
  }
  return core::ok();
}

Status check_references(const Cluster& c) {
  std::set<std::string> names;
  for (const Node& n : c.nodes) {
    if (!names.insert(n.name).second) return config_error("nodes", "duplicate node name '" + n.name + "'");
  }
  for (const auto& [vmid, g] : c.guests) {
    std::string path = "guests (vmid " + std::to_string(vmid) + ")";
    if (!c.find_node(g.node)) return config_error(path + ".node", "unknown node '" + g.node + "'");
    if (!g.storage.empty() && !c.find_storage(g.storage)) {
      return config_error(path + ".storage", "unknown storage '" + g.storage + "'");
    }
    if (!g.pool.empty() && std::none_of(c.pools.begin(), c.pools.end(), [&](const Pool& p) { return p.id == g.pool; })) {
      return config_error(path + ".pool", "unknown pool '" + g.pool + "'");
    }
  }
  for (const HaResource& r : c.ha_resources) {
    auto colon = r.sid.find(':');
    auto vmid = core::parse_int(colon == std::string::npos ? r.sid : r.sid.substr(colon + 1));
    const Guest* g = vmid ? c.find_guest(static_cast<int>(*vmid)) : nullptr;
    if (!g) return config_error("ha.resources (" + r.sid + ")", "no such guest");
  }
  return core::ok();
}

Status parse_ha(const Json& doc, Cluster& c) {
  if (!doc.contains("ha")) return core::ok();
  const Json& ha = doc["ha"];
  PVEKIT_TRY(check_keys(ha, "ha", {"resources", "rules", "groups"}));
  PVEKIT_TRY(parse_list(ha, "groups", c.ha_groups, [](const Json& j, const std::string& p) -> Result<HaGroup> {
    PVEKIT_TRY(check_keys(j, "ha." + p, {"group", "nodes", "restricted", "nofailback", "comment"}));
    HaGroup g;
    PVEKIT_ASSIGN(g.id, require_str(j, "ha." + p, "group"));
    PVEKIT_ASSIGN(g.nodes, get_list(j, "ha." + p, "nodes"));
    if (g.nodes.empty()) return config_error("ha." + p + ".nodes", "at least one node is required");
    PVEKIT_ASSIGN(g.restricted, get_bool(j, "ha." + p, "restricted", false));
    PVEKIT_ASSIGN(g.nofailback, get_bool(j, "ha." + p, "nofailback", false));
    PVEKIT_ASSIGN(g.comment, get_str(j, "ha." + p, "comment", ""));
    return g;
  }));
  PVEKIT_TRY(parse_list(ha, "resources", c.ha_resources, [&c](const Json& j, const std::string& p) -> Result<HaResource> {
    PVEKIT_TRY(check_keys(j, "ha." + p, {"sid", "state", "max_restart", "max_relocate", "comment", "group"}));
    HaResource r;
    PVEKIT_ASSIGN(r.sid, require_str(j, "ha." + p, "sid"));
    if (r.sid.find(':') == std::string::npos) r.sid = "vm:" + r.sid;
    PVEKIT_ASSIGN(r.state, get_str(j, "ha." + p, "state", "started"));
    PVEKIT_ASSIGN(int64_t restart, get_int(j, "ha." + p, "max_restart", 1));
    PVEKIT_ASSIGN(int64_t relocate, get_int(j, "ha." + p, "max_relocate", 1));
    r.max_restart = static_cast<int>(restart);
    r.max_relocate = static_cast<int>(relocate);
    PVEKIT_ASSIGN(r.comment, get_str(j, "ha." + p, "comment", ""));
    PVEKIT_ASSIGN(r.group, get_str(j, "ha." + p, "group", ""));
    const auto& groups = c.ha_groups;
    if (!r.group.empty() &&
        std::none_of(groups.begin(), groups.end(), [&](const HaGroup& g) { return g.id == r.group; })) {
      return config_error("ha." + p + ".group", "unknown HA group '" + r.group + "'");
    }
    return r;
  }));
  return parse_list(ha, "rules", c.ha_rules, [](const Json& j, const std::string& p) { return parse_rule(j, "ha." + p); });
}

// datacenter.cfg options, checked as PUT /cluster/options checks them.
Status parse_datacenter(const Json& doc, Cluster& c) {
  if (!doc.contains("datacenter")) return core::ok();
  const Json& dc = doc["datacenter"];
  if (!dc.is_object()) return config_error("datacenter", "expected a mapping, got " + core::json_type_name(dc));
  const std::vector<ParamSpec> specs = datacenter_option_params();
  for (const auto& [option, value] : dc.items()) {
    const std::string path = "datacenter." + option;
    auto spec = std::find_if(specs.begin(), specs.end(), [&](const ParamSpec& s) { return s.name == option; });
    if (spec == specs.end() || option == "delete") return config_error(path, "unknown key");
    std::string text;
    if (value.is_string()) text = value.get<std::string>();
    else if (value.is_boolean()) text = value.get<bool>() ? "1" : "0";
    else if (value.is_number()) text = value.dump();
    else return config_error(path, "expected a string, number or boolean, got " + core::json_type_name(value));
    if (auto problem = check_param(*spec, text)) return config_error(path, *problem);
    if (auto problem = check_datacenter_option(option, text)) return config_error(path, *problem);
    c.datacenter[option] = text;
  }
  return core::ok();
}

Status parse_access(const Json& doc, AccessControl& ac) {
  PVEKIT_TRY(parse_list(doc, "users", ac.users, parse_user));
  if (ac.users.empty()) ac.users.push_back(default_root_user());
  PVEKIT_TRY(parse_list(doc, "groups", ac.groups, [](const Json& j, const std::string& p) -> Result<Group> {
    PVEKIT_TRY(check_keys(j, p, {"id", "comment"}));
    Group g;
    PVEKIT_ASSIGN(g.id, require_str(j, p, "id"));
    if (!valid_role_name(g.id)) return config_error(p + ".id", "invalid group name '" + g.id + "'");
    PVEKIT_ASSIGN(g.comment, get_str(j, p, "comment", ""));
    return g;
  }));
  for (size_t i = 0; i < ac.users.size(); ++i) {
    for (const std::string& g : ac.users[i].groups) {
      if (!ac.find_group(g)) return config_error("users[" + std::to_string(i) + "].groups", "unknown group '" + g + "'");
    }
  }
  std::vector<std::pair<std::string, std::vector<std::string>>> roles;
  PVEKIT_TRY(parse_list(doc, "roles", roles, parse_role));
  for (auto& [id, privs] : roles) ac.roles[id] = std::move(privs);
  return parse_acl(doc, ac);
}

}  // namespace

User default_root_user() {
  User root;
  root.userid = "root@pam";
  root.password = kDefaultPassword;
  root.tokens.push_back({"pvekit", kDefaultTokenSecret, "pvekit default token", false, 0});
  return root;
}

Result<Cluster> cluster_from_json(const Json& doc, double now) {
  PVEKIT_TRY(check_keys(doc, "",
                        {"cluster", "nodes", "storages", "guests", "volumes", "ha", "pools", "users", "groups",
                                     "roles", "acl", "datacenter"}));
  Cluster c;
  if (doc.contains("cluster")) {
    PVEKIT_TRY(check_keys(doc["cluster"], "cluster", {"name", "seed"}));
    PVEKIT_ASSIGN(c.name, get_str(doc["cluster"], "cluster", "name", c.name));
    PVEKIT_ASSIGN(int64_t seed, get_int(doc["cluster"], "cluster", "seed", 1));
    c.seed = static_cast<uint64_t>(seed);
  }
  int index = 0;
  PVEKIT_TRY(parse_list(doc, "nodes", c.nodes, [&](const Json& j, const std::string& p) { return parse_node(j, p, index++, now); }));
  if (c.nodes.empty()) return config_error("nodes", "at least one node is required");
  PVEKIT_TRY(parse_list(doc, "storages", c.storages, parse_storage));
  PVEKIT_TRY(parse_list(doc, "pools", c.pools, [](const Json& j, const std::string& p) -> Result<Pool> {
    PVEKIT_TRY(check_keys(j, p, {"id", "comment", "storages"}));
    Pool pool;
    PVEKIT_ASSIGN(pool.id, require_str(j, p, "id"));
    PVEKIT_ASSIGN(pool.comment, get_str(j, p, "comment", ""));
    PVEKIT_ASSIGN(pool.storages, get_list(j, p, "storages"));
    return pool;
  }));
  std::vector<Guest> guests;
  PVEKIT_TRY(parse_list(doc, "guests", guests, [&](const Json& j, const std::string& p) { return parse_guest(j, p, now); }));
  for (Guest& g : guests) {
    if (c.guests.count(g.vmid)) return config_error("guests", "duplicate vmid " + std::to_string(g.vmid));
    c.guests.emplace(g.vmid, std::move(g));
  }
  PVEKIT_TRY(parse_ha(doc, c));
  PVEKIT_TRY(parse_datacenter(doc, c));
  PVEKIT_TRY(parse_access(doc, c.access));
  if (doc.contains("volumes")) PVEKIT_TRY(parse_volumes(doc["volumes"], c));
  PVEKIT_TRY(check_references(c));
  return c;
}

Result<Cluster> load_scenario_file(const std::string& path, double now) {
  PVEKIT_ASSIGN(std::string text, core::read_file(path));
  PVEKIT_ASSIGN(Json doc, core::parse_yaml(text, path));
  return cluster_from_json(doc, now).wrap("scenario " + path);
}

}  // namespace pvekit::sim
