// /version, /cluster/*, /storage, /pools.
#include <algorithm>

#include "pve/upid.h"
#include "core/strings.h"
#include "sim/api.h"
#include "sim/datacenter.h"
#include "sim/views.h"

namespace pvekit::sim {
namespace {

using core::Error;
using core::ErrorCategory;
using core::Json;
using core::Result;

Result<Reply> next_id(Ctx& c) {
  if (c.params.count("vmid")) {
    const int vmid = c.vmid();
    if (c.world.cluster.find_guest(vmid)) {
      return Error(ErrorCategory::Conflict, "Parameter verification failed.")
          .with_http_status(400)
          .with_detail("vmid", "VM " + std::to_string(vmid) + " already exists");
    }
    return Reply(Json(std::to_string(vmid)));
  }
  int id = 100;
  while (c.world.cluster.guests.count(id)) ++id;
  // PVE returns the id as a string ("renderer": integer) in practice.
  return Reply(Json(std::to_string(id)));
}

Result<Reply> cluster_tasks(Ctx& c) {
  Json out = Json::array();
  for (const Task* t : c.world.tasks.list()) {
    if (out.size() >= 2000) break;
    if (!task_visible(c.access, *t)) continue;
    out.push_back(TaskList::list_entry(*t));
  }
  return Reply(out);
}

Result<Reply> pool(Ctx& c) {
  const auto& pools = c.world.cluster.pools;
  auto it = std::find_if(pools.begin(), pools.end(), [&](const Pool& p) { return p.id == c.str("poolid"); });
  if (it == pools.end()) {
    return Error(ErrorCategory::NotFound, "pool '" + c.str("poolid") + "' does not exist").with_http_status(500);
  }
  return Reply(pool_detail(c.world, *it, *c.sim.live(c.world), c.now, c.str("type")));
}

Result<Reply> pools(Ctx& c) {
  if (c.params.count("poolid")) {
    Json list = Json::array();
    auto r = pool(c);
    if (!r.ok()) return r;
    Json j = r->data;
    j["poolid"] = c.str("poolid");
    list.push_back(j);
    return Reply(list);
  }
  return Reply(visible_entries(c.access, pools_list(c.world)));
}

// PUT /cluster/options (PVE::API2::Cluster set_options): the given options
// replace those in datacenter.cfg, `delete` removes some; property strings
// are checked key by key as PVE::JSONSchema does.
Result<Reply> set_options(Ctx& c) {
  Error invalid(ErrorCategory::Api, "Parameter verification failed.");
  invalid.with_http_status(400);
  for (const auto& [option, value] : c.params) {
    if (auto problem = check_datacenter_option(option, value)) invalid.with_detail(option, *problem);
  }
  if (!invalid.details().empty()) return invalid;
  auto& cfg = c.world.cluster.datacenter;
  for (const auto& [option, value] : c.params) {
    if (option != "delete") cfg[option] = value;
  }
  for (const std::string& option : core::split(c.str("delete"), ',', true)) cfg.erase(std::string(core::trim(option)));
  return Reply(Json(nullptr));
}

}  // namespace

std::vector<Route> cluster_routes() {
  return {
      {"GET", "/version", {}, [](Ctx&) -> Result<Reply> { return Reply(version_info()); }},
      {"GET", "/cluster/status", {}, [](Ctx& c) -> Result<Reply> { return Reply(cluster_status(c.world)); }},
      {"GET", "/cluster/resources", {p_enum("type", {"vm", "storage", "node", "sdn"})},
       [](Ctx& c) -> Result<Reply> {
         if (sees_everything(c.access)) return Reply(c.sim.resources_json(c.world, c.str("type")));
         auto live = c.sim.live(c.world);
         return Reply(visible_entries(c.access, cluster_resources(c.world, *live, c.str("type"), live->time)));
       }},
      {"GET", "/cluster/options", {},
       [](Ctx& c) -> Result<Reply> { return Reply(datacenter_options_json(c.world.cluster.datacenter)); }},
      {"PUT", "/cluster/options", datacenter_option_params(), set_options},
      {"GET", "/cluster/nextid", {p_int("vmid", false, 100, 999999999)}, next_id},
      {"GET", "/cluster/tasks", {}, cluster_tasks},
      {"GET", "/storage",
       {p_enum("type", {"btrfs", "cephfs", "cifs", "dir", "esxi", "iscsi", "iscsidirect", "lvm", "lvmthin", "nfs",
                        "pbs", "rbd", "zfs", "zfspool"})},
       [](Ctx& c) -> Result<Reply> { return Reply(visible_entries(c.access, storage_config_list(c.world, c.str("type")))); }},
      {"GET", "/pools", {p_str("poolid"), p_enum("type", {"qemu", "lxc", "storage"})}, pools},
      {"GET", "/pools/{poolid}", {p_str("poolid", true), p_enum("type", {"qemu", "lxc", "storage"})}, pool},
  };
}

}  // namespace pvekit::sim
