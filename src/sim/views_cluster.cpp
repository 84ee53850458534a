// Storage, pool and HA renderings.
#include <algorithm>
#include <cstdio>
#include <ctime>

#include "core/strings.h"
#include "core/utc_time.h"
#include "sim/views.h"

namespace pvekit::sim {
namespace {

using core::Json;

int b(bool v) { return v ? 1 : 0; }

bool has(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::string digest_of(const Json& j) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016zx", std::hash<std::string>{}(j.dump()));
  return buf;
}

// Perl's scalar localtime ("Mon Dec  7 03:29:41 2026"), which
// PVE::API2::HA::Status puts in the master and lrm status texts; pvesim's
// nodes run in UTC.
std::string perl_localtime(double now) {
  return core::format_utc(static_cast<std::time_t>(now), "%a %b %e %H:%M:%S %Y");
}

}  // namespace

Json storage_config_list(const World& w, const std::string& type_filter) {
  Json out = Json::array();
  for (const Storage& s : w.cluster.storages) {
    if (!type_filter.empty() && s.type != type_filter) continue;
    Json j = {{"storage", s.id}, {"type", s.type}, {"content", core::join(s.content, ",")}, {"shared", b(s.shared)}};
    if (!s.nodes.empty()) j["nodes"] = core::join(s.nodes, ",");
    if (!s.path.empty()) j["path"] = s.path;
    if (s.type == "lvmthin") j.update({{"thinpool", "data"}, {"vgname", "pve"}});
    if (s.type == "rbd") j["pool"] = s.id;
    j["digest"] = digest_of(j);
    out.push_back(std::move(j));
  }
  return out;
}

Json node_storage_list(const World& w, const std::string& node, const std::string& content_filter, double now) {
  Json out = Json::array();
  for (const Storage& s : w.cluster.storages) {
    if (!w.cluster.storage_on_node(s, node)) continue;
    if (!content_filter.empty()) {
      bool any = false;
      for (const auto& c : core::split(content_filter, ',', true)) any = any || has(s.content, c);
      if (!any) continue;
    }
    const uint64_t used = storage_used(w, s, node, now);
    out.push_back({{"storage", s.id}, {"type", s.type}, {"content", core::join(s.content, ",")},
                   {"shared", b(s.shared)}, {"active", 1}, {"enabled", 1}, {"total", s.total}, {"used", used},
                   {"avail", s.total - used},
                   {"used_fraction", static_cast<double>(used) / static_cast<double>(std::max<uint64_t>(1, s.total))}});
  }
  return out;
}

Json storage_content(const World& w, const std::string& node, const Storage& s, const std::string& content, int vmid) {
  Json out = Json::array();
  auto want = [&](const std::string& c) { return content.empty() || has(core::split(content, ',', true), c); };
  auto it = w.cluster.volumes.find(Cluster::volume_key(s, node));
  if (it != w.cluster.volumes.end()) {
    for (const Volume& v : it->second) {
      if (!want(v.content) || (vmid && v.vmid != vmid)) continue;
      Json j = {{"volid", v.volid}, {"content", v.content}, {"format", v.format}, {"size", v.size}, {"ctime", v.ctime}};
      if (v.vmid) j["vmid"] = v.vmid;
      out.push_back(std::move(j));
    }
  }
  // Guest disks are derived from the guests, so they follow migrations.
  for (const auto& [id, g] : w.cluster.guests) {
    if (g.storage != s.id || (!s.shared && g.node != node) || (vmid && id != vmid)) continue;
    const bool ct = g.type == GuestType::Lxc;
    if (!want(ct ? "rootdir" : "images")) continue;
    const std::string name = (ct ? "subvol-" : "vm-") + std::to_string(id) + "-disk-0";
    out.push_back({{"volid", s.id + ":" + name}, {"content", ct ? "rootdir" : "images"},
                   {"format", ct ? "subvol" : "raw"}, {"size", g.maxdisk}, {"vmid", id}, {"ctime", 1730000000}});
  }
  return out;
}

Json pools_list(const World& w) {
  Json out = Json::array();
  for (const Pool& p : w.cluster.pools) {
    Json j = {{"poolid", p.id}};
    if (!p.comment.empty()) j["comment"] = p.comment;
    out.push_back(std::move(j));
  }
  return out;
}

Json pool_detail(const World& w, const Pool& p, const LiveView& live, double now, const std::string& type) {
  Json members = Json::array();
  if (type.empty() || type == "qemu" || type == "lxc") {
    for (const auto& [vmid, g] : w.cluster.guests) {
      if (g.pool != p.id || (!type.empty() && type != type_path(g.type))) continue;
      Json j = guest_list_entry(w, g, live, now, false);
      j["id"] = std::string(type_path(g.type)) + "/" + std::to_string(vmid);
      j["type"] = std::string(type_path(g.type));
      j["node"] = g.node;
      members.push_back(std::move(j));
    }
  }
  if (type.empty() || type == "storage") {
    for (const auto& sid : p.storages) {
      for (const Node& n : w.cluster.nodes) {
        const Storage* s = w.cluster.find_storage(sid);
        if (!s || !w.cluster.storage_on_node(*s, n.name)) continue;
        members.push_back({{"id", "storage/" + n.name + "/" + sid}, {"type", "storage"}, {"storage", sid},
                           {"node", n.name}, {"plugintype", s->type}, {"shared", b(s->shared)}});
      }
    }
  }
  Json j = {{"members", members}};
  if (!p.comment.empty()) j["comment"] = p.comment;
  return j;
}

Json ha_resources(const World& w, const std::string& type) {
  Json out = Json::array();
  for (const HaResource& r : w.cluster.ha_resources) {
    const std::string t = r.sid.substr(0, r.sid.find(':'));
    if (!type.empty() && t != type) continue;
    Json j = {{"sid", r.sid}, {"type", t}, {"state", r.state}, {"max_restart", r.max_restart},
              {"max_relocate", r.max_relocate}, {"failback", 1}};
    if (!r.comment.empty()) j["comment"] = r.comment;
    if (!r.group.empty()) j["group"] = r.group;
    j["digest"] = digest_of(j);
    out.push_back(std::move(j));
  }
  return out;
}

// PVE 8's GET /cluster/ha/groups (pve-ha-manager PVE::API2::HA::Groups index:
// the groups.cfg sections with their type and digest).
Json ha_groups(const World& w) {
  Json out = Json::array();
  for (const HaGroup& g : w.cluster.ha_groups) {
    Json j = {{"group", g.id}, {"type", "group"}, {"nodes", core::join(g.nodes, ",")},
              {"restricted", b(g.restricted)}, {"nofailback", b(g.nofailback)}};
    if (!g.comment.empty()) j["comment"] = g.comment;
    j["digest"] = digest_of(j);
    out.push_back(std::move(j));
  }
  return out;
}

Json ha_rules(const World& w, const std::string& type, const std::string& resource) {
  Json out = Json::array();
  int order = 0;
  for (const HaRule& r : w.cluster.ha_rules) {
    ++order;
    if (!type.empty() && r.type != type) continue;
    if (!resource.empty() && !has(r.resources, resource)) continue;
    Json j = {{"rule", r.id}, {"type", r.type}, {"resources", core::join(r.resources, ",")}, {"order", order}};
    if (r.type == "node-affinity") {
      j["nodes"] = core::join(r.nodes, ",");
      j["strict"] = b(r.strict);
    } else {
      j["affinity"] = r.affinity;
    }
    if (r.disable) j["disable"] = 1;
    if (!r.comment.empty()) j["comment"] = r.comment;
    j["digest"] = digest_of(j);
    out.push_back(std::move(j));
  }
  return out;
}

namespace {

const Node* ha_master(const World& w) {
  for (const Node& n : w.cluster.nodes) {
    if (n.online) return &n;
  }
  return nullptr;
}

std::string service_state(const World& w, const HaResource& r, const Guest* g) {
  if (!g) return "error";
  if (g->lock == "migrate") return "migrate";
  const Node* n = w.cluster.find_node(g->node);
  if (n && !n->online) return "fence";
  return r.state == "started" ? (g->status == "running" ? "started" : "starting") : r.state;
}

const Guest* ha_guest(const World& w, const HaResource& r) {
  auto vmid = core::parse_int(r.sid.substr(r.sid.find(':') + 1));
  return vmid ? w.cluster.find_guest(static_cast<int>(*vmid)) : nullptr;
}

}  // namespace

Json ha_status_current(const World& w, double now) {
  Json out = Json::array();
  const Node* master = ha_master(w);
  const std::string mname = master ? master->name : "";
  out.push_back({{"id", "quorum"}, {"type", "quorum"}, {"node", mname}, {"quorate", b(w.cluster.quorate)},
                 {"status", w.cluster.quorate ? "OK" : "No quorum on node '" + mname + "'!"}});
  // PVE::API2::HA::Status: "$node ($status, " . localtime($timestamp) . ")";
  // an online LRM without active services is "idle".
  if (master) {
    out.push_back({{"id", "master"}, {"type", "master"}, {"node", mname}, {"timestamp", static_cast<int64_t>(now)},
                   {"status", mname + " (active, " + perl_localtime(now) + ")"}});
  }
  for (const Node& n : w.cluster.nodes) {
    bool has_services = false;
    for (const HaResource& r : w.cluster.ha_resources) {
      const Guest* g = ha_guest(w, r);
      has_services = has_services || (g && g->node == n.name && r.state != "stopped" && r.state != "disabled");
    }
    const std::string state = !n.online ? "old timestamp - dead?" : has_services ? "active" : "idle";
    out.push_back({{"id", "lrm:" + n.name}, {"type", "lrm"}, {"node", n.name},
                   {"timestamp", static_cast<int64_t>(now)},
                   {"status", n.name + " (" + state + ", " + perl_localtime(now) + ")"}});
  }
  for (const HaResource& r : w.cluster.ha_resources) {
    const Guest* g = ha_guest(w, r);
    const std::string state = service_state(w, r, g);
    out.push_back({{"id", "service:" + r.sid}, {"type", "service"}, {"sid", r.sid}, {"node", g ? g->node : ""},
                   {"state", state}, {"crm_state", state}, {"request_state", r.state},
                   {"max_restart", r.max_restart}, {"max_relocate", r.max_relocate}, {"failback", 1},
                   {"status", r.sid + " (" + (g ? g->node : "") + ", " + state + ")"}});
  }
  return out;
}

Json ha_manager_status(const World& w, double now) {
  const Node* master = ha_master(w);
  Json nodes = Json::object();
  for (const Node& n : w.cluster.nodes) nodes[n.name] = n.online ? "online" : "unknown";
  Json services = Json::object();
  for (const HaResource& r : w.cluster.ha_resources) {
    const Guest* g = ha_guest(w, r);
    Json s = {{"node", g ? g->node : ""}, {"state", service_state(w, r, g)}, {"uid", digest_of({r.sid})}};
    if (g && g->status == "running") s["running"] = 1;
    services[r.sid] = std::move(s);
  }
  Json manager = {{"master_node", master ? master->name : ""}, {"node_status", nodes},
                  {"service_status", services}, {"timestamp", static_cast<int64_t>(now)}};
  return {{"manager_status", manager},
          {"quorum", {{"node", master ? master->name : ""}, {"quorate", w.cluster.quorate ? "1" : "0"}}}};
}

}  // namespace pvekit::sim

namespace pvekit::sim {

// A node's /etc/network/interfaces as PVE's installer writes it: one NIC
// (eno1) enslaved to the bridge vmbr0, which holds the node's address in a
// /24 with the gateway at .1. PVE's index leaves out the loopback.
Json node_network(const Node& node, const std::string& type) {
  const std::string prefix = node.ip.substr(0, node.ip.rfind('.'));
  Json nic = {{"iface", "eno1"}, {"type", "eth"}, {"method", "manual"}, {"method6", "manual"},
              {"families", {"inet"}}, {"active", 1}, {"exists", 1}, {"priority", 3}};
  Json bridge = {{"iface", "vmbr0"}, {"type", "bridge"}, {"method", "static"}, {"method6", "manual"},
                 {"families", {"inet"}}, {"active", 1}, {"autostart", 1}, {"priority", 4},
                 {"address", node.ip}, {"netmask", "24"}, {"cidr", node.ip + "/24"},
                 {"gateway", prefix + ".1"}, {"bridge_ports", "eno1"}, {"bridge_stp", "off"}, {"bridge_fd", "0"}};
  Json out = Json::array();
  for (Json* iface : {&nic, &bridge}) {
    const std::string t = (*iface)["type"];
    // PVE::API2::Network index: any_bridge and any_local_bridge take Linux and
    // OVS bridges, include_sdn everything, another value that exact type.
    const bool bridge_filter = type == "any_bridge" || type == "any_local_bridge";
    if (type.empty() || type == "include_sdn" || type == t || (bridge_filter && (t == "bridge" || t == "OVSBridge"))) {
      out.push_back(*iface);
    }
  }
  return out;
}

// The realms every PVE cluster has (PVE::AccessControl's default domains.cfg).
Json access_domains() {
  return Json::array({{{"realm", "pam"}, {"type", "pam"}, {"comment", "Linux PAM standard authentication"}},
                      {{"realm", "pve"}, {"type", "pve"}, {"comment", "Proxmox VE authentication server"}}});
}

}  // namespace pvekit::sim
