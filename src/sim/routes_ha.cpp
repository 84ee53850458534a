// /cluster/ha/...
#include "sim/actions.h"
#include "sim/api.h"
#include "sim/views.h"

namespace pvekit::sim {
namespace {

using core::Json;
using core::Result;

Result<Reply> ha_migrate_route(Ctx& c) {
  std::string sid = c.str("sid");
  if (sid.find(':') == std::string::npos) sid = "vm:" + sid;  // PVE accepts a bare vmid for VMs
  PVEKIT_TRY(ha_migrate(c.world, sid, c.str("node"), c.now));
  return Reply(Json{{"sid", sid}, {"requested-node", c.str("node")}});
}

}  // namespace

std::vector<Route> ha_routes() {
  return {
      {"GET", "/cluster/ha/resources", {p_enum("type", {"ct", "vm"})},
       [](Ctx& c) -> Result<Reply> { return Reply(ha_resources(c.world, c.str("type"))); }},
      {"GET", "/cluster/ha/groups", {}, [](Ctx& c) -> Result<Reply> { return Reply(ha_groups(c.world)); }},
      {"GET", "/cluster/ha/rules", {p_str("resource"), p_enum("type", {"node-affinity", "resource-affinity"})},
       [](Ctx& c) -> Result<Reply> { return Reply(ha_rules(c.world, c.str("type"), c.str("resource"))); }},
      {"GET", "/cluster/ha/status/current", {},
       [](Ctx& c) -> Result<Reply> { return Reply(ha_status_current(c.world, c.now)); }},
      {"GET", "/cluster/ha/status/manager_status", {},
       [](Ctx& c) -> Result<Reply> { return Reply(ha_manager_status(c.world, c.now)); }},
      {"POST", "/cluster/ha/resources/{sid}/migrate", {p_str("sid", true), p_str("node", true)}, ha_migrate_route},
  };
}

}  // namespace pvekit::sim
