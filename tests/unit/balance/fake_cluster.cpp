#include "balance/fake_cluster.h"

#include "pve/params.h"
#include "pve/upid.h"

namespace pvekit::balance::testing {

using pvekit::testing::form_value;
using pvekit::testing::pve_data;
using pvekit::testing::pve_error;
using pvekit::testing::split_url;

FakeCluster::FakeCluster() {
  transport_.route(pve::HttpMethod::Get, "/cluster/status", [this](const pve::HttpRequest&) {
    return core::Result<pve::HttpResponse>(pve_data(cluster_status()));
  });
  transport_.route(pve::HttpMethod::Get, "/cluster/resources", [this](const pve::HttpRequest& r) {
    return core::Result<pve::HttpResponse>(pve_data(resources(form_value(split_url(r.url).query, "type"))));
  });
  transport_.route(pve::HttpMethod::Get, "/cluster/tasks", [this](const pve::HttpRequest&) {
    return core::Result<pve::HttpResponse>(pve_data(task_list()));
  });
  transport_.route(pve::HttpMethod::Get, "/access/permissions", [this](const pve::HttpRequest&) {
    return core::Result<pve::HttpResponse>(pve_data(permissions));
  });
  transport_.route_data(pve::HttpMethod::Get, "/version", {{"version", "9.1.1"}, {"release", "9.1"}, {"repoid", "x"}});
  transport_.route_data(pve::HttpMethod::Get, "/cluster/ha/resources", core::Json::array());
  transport_.route_data(pve::HttpMethod::Get, "/cluster/ha/rules", core::Json::array());
  transport_.route_data(pve::HttpMethod::Get, "/pools", core::Json::array());
  pve::ClientOptions options;
  options.hosts = {"pve-test:8006"};
  options.token_id = "root@pam!test";
  options.token_secret = "00000000-0000-0000-0000-000000000000";
  options.retries = 0;
  client_ = std::move(*pve::Client::create(options, transport_, clock_));
}

void FakeCluster::add_node(const std::string& name, uint64_t maxmem, int cpus, bool online) {
  nodes_.push_back({name, maxmem, cpus, online});
  transport_.route(pve::HttpMethod::Get, "/nodes/" + name + "/status", [this, name](const pve::HttpRequest&) {
    for (const auto& n : nodes_) {
      if (n.name != name) continue;
      if (!n.online) return core::Result<pve::HttpResponse>(pve_error(595, "no route to host"));
      uint64_t used = node_memory_used(name);
      return core::Result<pve::HttpResponse>(pve_data(
          {{"cpu", 0.1}, {"memory", {{"total", n.maxmem}, {"used", used}, {"free", n.maxmem - used}}},
           {"cpuinfo", {{"cpus", n.cpus}, {"cores", n.cpus / 2}, {"sockets", 1}, {"model", "fake"}}},
           {"loadavg", {"0.10", "0.20", "0.30"}}, {"uptime", 1000}, {"pveversion", "pve-manager/9.1.1"}}));
    }
    return core::Result<pve::HttpResponse>(pve_error(500, "no such node"));
  });
}

uint64_t FakeCluster::node_memory_used(const std::string& node) const {
  uint64_t used = 2ull << 30;
  for (const auto& [vmid, g] : guests)
    if (g.node == node && g.status == "running") used += g.maxmem / 2;
  return used;
}

void FakeCluster::add_guest(uint32_t vmid, GuestEntry guest) {
  guests[vmid] = std::move(guest);
  route_guest(vmid);
}

core::Json FakeCluster::cluster_status() const {
  core::Json out = core::Json::array();
  out.push_back({{"type", "cluster"}, {"id", "cluster"}, {"name", "fake"}, {"quorate", quorate ? 1 : 0},
                 {"nodes", nodes_.size()}, {"version", 3}});
  int id = 1;
  for (const auto& n : nodes_)
    out.push_back({{"type", "node"}, {"id", "node/" + n.name}, {"name", n.name}, {"nodeid", id++},
                   {"online", n.online ? 1 : 0}, {"ip", "10.0.0.1"}, {"local", 0}});
  return out;
}

core::Json FakeCluster::resources(const std::string& filter) const {
  core::Json out = core::Json::array();
  if (filter.empty() || filter == "node") {
    for (const auto& n : nodes_) {
      uint64_t used = node_memory_used(n.name);
      out.push_back({{"id", "node/" + n.name}, {"type", "node"}, {"node", n.name},
                     {"status", n.online ? "online" : "offline"}, {"maxmem", n.maxmem}, {"mem", used},
                     {"maxcpu", n.cpus}, {"cpu", 0.1}, {"maxdisk", 100ull << 30}, {"disk", 10ull << 30}});
    }
  }
  if (filter.empty() || filter == "vm") {
    for (const auto& [vmid, g] : guests) {
      core::Json r = {{"id", g.type + "/" + std::to_string(vmid)}, {"type", g.type}, {"vmid", vmid},
                      {"node", g.node}, {"name", "guest" + std::to_string(vmid)}, {"status", g.status},
                      {"maxmem", g.maxmem}, {"mem", g.status == "running" ? g.maxmem / 2 : 0},
                      {"maxcpu", 2}, {"cpu", 0.2}, {"maxdisk", 32ull << 30}, {"disk", 0}, {"template", 0}};
      if (!g.lock.empty()) r["lock"] = g.lock;
      if (!g.hastate.empty()) r["hastate"] = g.hastate;
      if (!g.tags.empty()) r["tags"] = g.tags;
      out.push_back(r);
    }
  }
  if (filter.empty() || filter == "storage") {
    for (const auto& n : nodes_) {
      out.push_back({{"id", "storage/" + n.name + "/local-lvm"}, {"type", "storage"}, {"node", n.name},
                     {"storage", "local-lvm"}, {"status", "available"}, {"shared", 0},
                     {"content", "images,rootdir"}, {"maxdisk", 500ull << 30}, {"disk", 100ull << 30},
                     {"plugintype", "lvmthin"}});
      out.push_back({{"id", "storage/" + n.name + "/ceph"}, {"type", "storage"}, {"node", n.name},
                     {"storage", "ceph"}, {"status", "available"}, {"shared", 1},
                     {"content", "images"}, {"maxdisk", 4000ull << 30}, {"disk", 1000ull << 30},
                     {"plugintype", "rbd"}});
    }
  }
  return out;
}

void FakeCluster::route_guest(uint32_t vmid) {
  for (const auto& n : nodes_) {
    const std::string base = "/nodes/" + n.name + "/" + guests[vmid].type + "/" + std::to_string(vmid);
    transport_.route(pve::HttpMethod::Post, base + "/migrate", [this, vmid](const pve::HttpRequest& r) {
      return migrate(vmid, r);
    });
    transport_.route(pve::HttpMethod::Get, base + "/config", [this, vmid](const pve::HttpRequest&) {
      core::Json cfg = core::Json::object();
      for (const auto& [k, v] : guests[vmid].config) cfg[k] = v;
      return core::Result<pve::HttpResponse>(pve_data(cfg));
    });
  }
}

void FakeCluster::track_jobs() {
  std::map<std::string, int> per_node;
  for (const auto& [upid, t] : tasks_) {
    if (t.polls_left < 0) continue;
    ++per_node[t.source];
    ++per_node[t.target];
  }
  for (const auto& [node, n] : per_node) peak_jobs_per_node = std::max(peak_jobs_per_node, n);
}

core::Result<pve::HttpResponse> FakeCluster::migrate(uint32_t vmid, const pve::HttpRequest& request) {
  GuestEntry& g = guests[vmid];
  std::string target = form_value(request.body, "target");
  if (!g.lock.empty()) return pve_error(500, "VM is locked (" + g.lock + ")");
  started.push_back(std::to_string(vmid) + ":" + g.node + "->" + target + " " + request.body);
  auto polls = task_polls_of.find(vmid);
  return pve_data(start_task(vmid, target, polls == task_polls_of.end() ? task_polls : polls->second));
}

std::string FakeCluster::add_running_migration(uint32_t vmid, const std::string& target, int polls) {
  return start_task(vmid, target, polls);
}

core::Json FakeCluster::task_list() const {
  core::Json out = core::Json::array();
  for (const auto& [upid, t] : tasks_) {
    const char* type = guests.at(t.vmid).type == "qemu" ? "qmigrate" : "vzmigrate";
    core::Json entry = {{"upid", upid}, {"node", t.source},        {"type", type},     {"id", std::to_string(t.vmid)},
                        {"user", "root@pam!test"}, {"pid", 1}, {"starttime", 1}};
    if (t.polls_left < 0) {
      entry["endtime"] = 2;
      entry["status"] = fail_migration.count(t.vmid) ? fail_migration.at(t.vmid) : "OK";
    }
    out.push_back(entry);
  }
  return out;
}

std::string FakeCluster::start_task(uint32_t vmid, const std::string& target, int polls) {
  GuestEntry& g = guests[vmid];
  g.lock = "migrate";
  pve::Upid upid{.node = g.node, .pid = static_cast<uint32_t>(next_pid_++), .pstart = 1, .starttime = 1,
                 .type = g.type == "qemu" ? "qmigrate" : "vzmigrate", .id = std::to_string(vmid),
                 .user = "root@pam!test"};
  std::string text = upid.to_string();
  tasks_[text] = {vmid, g.node, target, polls, false};
  track_jobs();
  const std::string path = "/nodes/" + g.node + "/tasks/" + pve::encode_path_segment(text);
  transport_.route_data(pve::HttpMethod::Get, path + "/log",
                        core::Json::array({{{"n", 1},
                                            {"t", "2026-12-07 03:00:00 starting migration of " +
                                                      std::string(g.type == "qemu" ? "VM " : "CT ") +
                                                      std::to_string(vmid) + " to node '" + target +
                                                      "' (10.0.0.9)"}}}));
  transport_.route(pve::HttpMethod::Get, path + "/status", [this, text](const pve::HttpRequest&) {
    Task& t = tasks_[text];
    bool running = t.polls_left-- > 0;
    core::Json status = {{"upid", text}, {"status", running ? "running" : "stopped"},
                         {"type", "qmigrate"}, {"node", "x"}, {"pid", 1}, {"starttime", 1}};
    if (!running) {
      auto fail = fail_migration.find(t.vmid);
      if (t.polls_left == -1) {  // the first poll that sees the task end
        guests[t.vmid].lock.clear();
        if (fail == fail_migration.end()) guests[t.vmid].node = t.target;
      }
      status["exitstatus"] = fail == fail_migration.end() ? "OK" : fail->second;
    }
    return core::Result<pve::HttpResponse>(pve_data(status));
  });
  return text;
}

}  // namespace pvekit::balance::testing
