// /access: tickets.
#include <regex>

#include "sim/api.h"
#include "sim/views.h"

namespace pvekit::sim {
namespace {

using core::Json;

// PVE::RPCEnvironment::compute_api_permission: the `cap` of a login, the
// privileges the GUI shows per area, gathered from the top-level paths and
// every ACL path.
Json capabilities(const World& world, const std::string& userid) {
  static const std::vector<std::pair<std::string, std::regex>> areas = {
      {"vms", std::regex(R"(^(VM\.|Permissions\.Modify))")},
      {"access", std::regex(R"(^((User|Group)\.|Permissions\.Modify))")},
      {"storage", std::regex(R"(^(Datastore\.|Permissions\.Modify))")},
      {"nodes", std::regex(R"(^(Sys\.|Permissions\.Modify))")},
      {"sdn", std::regex(R"(^(SDN\.|Permissions\.Modify))")},
      {"dc", std::regex(R"(^(Sys\.Audit|Sys\.Modify|SDN\.))")},
      {"mapping", std::regex(R"(^(Mapping\.|Permissions.Modify))")},
  };
  const AccessControl& ac = world.cluster.access;
  const PoolMembers pools = pool_members(world.cluster);
  std::vector<std::string> paths = {"/", "/nodes", "/access/groups", "/vms", "/storage", "/sdn", "/mapping"};
  for (const AclEntry& e : ac.acl) paths.push_back(e.path);
  Json cap = Json::object();
  for (const auto& [area, re] : areas) cap[area] = Json::object();
  for (const std::string& path : paths) {
    const auto slash = path.find('/', 1);
    const std::string top = path == "/" ? "dc" : path.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
    for (const auto& [priv, propagate] : permissions(ac, pools, userid, path)) {
      if (top == "pool") {
        if (priv.rfind("VM.", 0) == 0 || priv == "Permissions.Modify") cap["vms"][priv] = 1;
        if (priv.rfind("Datastore.", 0) == 0 || priv == "Permissions.Modify") cap["storage"][priv] = 1;
        continue;
      }
      for (const auto& [area, re] : areas) {
        if (area == top && std::regex_search(priv, re)) cap[area][priv] = 1;
      }
    }
  }
  return cap;
}

core::Result<Reply> create_ticket(Ctx& c) {
  PVEKIT_ASSIGN(Login login, c.sim.auth().login(c.str("username"), c.str("password"), c.str("realm"), c.now));
  return Reply(Json{{"username", login.username}, {"ticket", login.ticket},
                    {"CSRFPreventionToken", login.csrf_token}, {"clustername", c.world.cluster.name},
                    {"cap", capabilities(c.world, login.username)}});
}

}  // namespace

std::vector<Route> access_routes() {
  return {
      {"POST", "/access/ticket",
       {p_str("username", true), p_str("password", true), p_str("realm"), p_str("otp"), p_str("path"),
        p_str("privs"), p_bool("new-format"), p_str("tfa-challenge")},
       create_ticket, true},
      {"GET", "/access/ticket", {}, [](Ctx&) -> core::Result<Reply> { return Reply(Json(nullptr)); }},
      // Public in PVE too (permissions: user => 'world'): the login box lists the realms.
      {"GET", "/access/domains", {}, [](Ctx&) -> core::Result<Reply> { return Reply(access_domains()); }, true},
  };
}

}  // namespace pvekit::sim
