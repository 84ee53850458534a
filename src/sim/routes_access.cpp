// /access: tickets and permissions.
#include "sim/api.h"
#include "sim/views.h"

namespace pvekit::sim {
namespace {

using core::Json;

// Every simulated user is an administrator: all privileges, propagated.
const std::vector<std::string>& all_privileges() {
  static const std::vector<std::string> privs = {
      "Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate", "Datastore.Audit",
      "Group.Allocate", "Mapping.Audit", "Mapping.Modify", "Mapping.Use", "Permissions.Modify", "Pool.Allocate",
      "Pool.Audit", "Realm.Allocate", "Realm.AllocateUser", "SDN.Allocate", "SDN.Audit", "SDN.Use", "Sys.Audit",
      "Sys.Console", "Sys.Incoming", "Sys.Modify", "Sys.PowerMgmt", "Sys.Syslog", "User.Modify", "VM.Allocate",
      "VM.Audit", "VM.Backup", "VM.Clone", "VM.Config.CDROM", "VM.Config.CPU", "VM.Config.Cloudinit",
      "VM.Config.Disk", "VM.Config.HWType", "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options",
      "VM.Console", "VM.GuestAgent.Audit", "VM.GuestAgent.FileRead", "VM.GuestAgent.FileSystemMgmt",
      "VM.GuestAgent.FileWrite", "VM.GuestAgent.Unrestricted", "VM.Migrate", "VM.PowerMgmt", "VM.Replicate",
      "VM.Snapshot", "VM.Snapshot.Rollback"};
  return privs;
}

Json privilege_map() {
  Json m = Json::object();
  for (const auto& p : all_privileges()) m[p] = 1;
  return m;
}

Json capabilities() {
  Json cap = Json::object();
  for (const char* area : {"vms", "storage", "access", "nodes", "sdn", "dc", "mapping"}) cap[area] = privilege_map();
  return cap;
}

core::Result<Reply> create_ticket(Ctx& c) {
  PVEKIT_ASSIGN(Login login, c.sim.auth().login(c.str("username"), c.str("password"), c.str("realm"), c.now));
  return Reply(Json{{"username", login.username}, {"ticket", login.ticket},
                    {"CSRFPreventionToken", login.csrf_token}, {"clustername", c.world.cluster.name},
                    {"cap", capabilities()}});
}

core::Result<Reply> permissions(Ctx& c) {
  const std::string path = c.str("path");
  Json out = Json::object();
  for (const char* p : {"/", "/access", "/nodes", "/pool", "/sdn", "/storage", "/vms", "/mapping"}) {
    if (path.empty() || path == p) out[p] = privilege_map();
  }
  if (!path.empty() && out.empty()) out[path] = privilege_map();
  return Reply(out);
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
      {"GET", "/access/permissions", {p_str("path"), p_str("userid")}, permissions},
  };
}

}  // namespace pvekit::sim
