// /access/users, groups, roles, acl: PVE's user.cfg through its API
// (pve-access-control API2/User.pm, Group.pm, Role.pm, ACL.pm, TokenAPI).
// Who may call each route is checked before (the schema's `permissions`);
// what remains here is PVE's filtering of lists and its per-object rules.
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "core/strings.h"
#include "sim/api.h"

namespace pvekit::sim {
namespace {

using core::Error;
using core::ErrorCategory;
using core::Json;
using core::Result;

Error failure(const std::string& message) { return Error(ErrorCategory::Api, message).with_http_status(500); }
Error not_found(const std::string& message) { return Error(ErrorCategory::NotFound, message).with_http_status(500); }

std::vector<std::string> list_param(const Ctx& c, const std::string& name) {
  std::vector<std::string> out;
  for (std::string item : core::split(c.str(name), ',', true)) {
    for (char sep : {' ', ';'}) item.erase(std::remove(item.begin(), item.end(), sep), item.end());
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// PVE's token secrets are random UUIDs (v4).
std::string new_secret() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) return "";
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

Json token_info(const ApiToken& t) {
  Json j = {{"privsep", t.privsep ? 1 : 0}, {"expire", t.expire}};
  if (!t.comment.empty()) j["comment"] = t.comment;
  return j;
}

Result<User*> existing_user(Ctx& c) {
  User* u = c.world.cluster.access.find_user(c.str("userid"));
  if (!u) return not_found("no such user ('" + c.str("userid") + "')");
  return u;
}

Result<ApiToken*> existing_token(Ctx& c, User& u) {
  for (ApiToken& t : u.tokens) {
    if (t.id == c.str("tokenid")) return &t;
  }
  return not_found("no such token '" + c.str("tokenid") + "' for user '" + u.userid + "'");
}

Result<std::vector<std::string>> group_list(Ctx& c) {
  std::vector<std::string> groups = list_param(c, "groups");
  for (const std::string& g : groups) {
    if (!c.world.cluster.access.find_group(g)) return not_found("no such group '" + g + "'");
  }
  return groups;
}

void set_user_fields(Ctx& c, User& u) {
  if (c.params.count("enable")) u.enable = param_bool(c.params, "enable");
  if (c.params.count("expire")) u.expire = param_int(c.params, "expire");
  for (auto [name, field] : {std::pair{"comment", &u.comment}, std::pair{"email", &u.email},
                             std::pair{"firstname", &u.firstname}, std::pair{"lastname", &u.lastname}}) {
    if (c.params.count(name)) *field = c.str(name);
  }
}

// A user's entry of GET /access/users.
Json user_entry(const User& u, bool full) {
  Json j = {{"userid", u.userid}, {"enable", u.enable ? 1 : 0}, {"expire", u.expire},
            {"realm-type", u.userid.substr(u.userid.rfind('@') + 1) == "pam" ? "pam" : "pve"}};
  for (auto [name, value] : {std::pair{"comment", &u.comment}, std::pair{"email", &u.email},
                             std::pair{"firstname", &u.firstname}, std::pair{"lastname", &u.lastname}}) {
    if (!value->empty()) j[name] = *value;
  }
  if (full) {
    j["groups"] = core::join(u.groups, ",");
    Json tokens = Json::array();
    for (const ApiToken& t : u.tokens) {
      Json info = token_info(t);
      info["tokenid"] = t.id;
      tokens.push_back(info);
    }
    j["tokens"] = tokens;
  }
  return j;
}

// PVE lists users the caller may administer (User.Modify or Sys.Audit on
// /access/groups, or on one of the user's groups) and always the caller.
Result<Reply> list_users(Ctx& c) {
  const std::vector<std::string> privs = {"User.Modify", "Sys.Audit"};
  const bool all = c.access.allowed("/access/groups", privs, true);
  const std::string self = subject_user(c.access.subject);
  Json out = Json::array();
  for (const User& u : c.world.cluster.access.users) {
    if (c.params.count("enabled") && param_bool(c.params, "enabled") != u.enable) continue;
    const bool visible = all || u.userid == self || std::any_of(u.groups.begin(), u.groups.end(), [&](const auto& g) {
                           return c.access.allowed("/access/groups/" + g, privs, true);
                         });
    if (visible) out.push_back(user_entry(u, param_bool(c.params, "full")));
  }
  return Reply(out);
}

Result<Reply> create_user(Ctx& c) {
  AccessControl& ac = c.world.cluster.access;
  const std::string userid = c.str("userid");
  const auto at = userid.rfind('@');
  if (at == std::string::npos || at == 0 || userid.find('!') != std::string::npos || userid.size() > 64) {
    return param_error("userid", "value '" + userid + "' does not look like a valid user name");
  }
  const std::string realm = userid.substr(at + 1);
  if (realm != "pam" && realm != "pve") return failure("create user failed: domain '" + realm + "' does not exist");
  if (ac.find_user(userid)) return failure("create user failed: user '" + userid + "' already exists");
  User u;
  u.userid = userid;
  PVEKIT_ASSIGN(u.groups, group_list(c));
  if (realm == "pve") u.password = c.str("password");
  set_user_fields(c, u);
  ac.users.push_back(std::move(u));
  c.sim.users_changed(c.world);
  return Reply(Json(nullptr));
}

Result<Reply> read_user(Ctx& c) {
  PVEKIT_ASSIGN(User * u, existing_user(c));
  Json j = user_entry(*u, false);
  j.erase("userid");
  j.erase("realm-type");
  j["groups"] = u->groups;
  Json tokens = Json::object();
  for (const ApiToken& t : u->tokens) tokens[t.id] = token_info(t);
  j["tokens"] = tokens;
  return Reply(j);
}

Result<Reply> update_user(Ctx& c) {
  PVEKIT_ASSIGN(User * u, existing_user(c));
  if (c.params.count("groups")) {
    PVEKIT_ASSIGN(std::vector<std::string> groups, group_list(c));
    if (!param_bool(c.params, "append")) u->groups.clear();
    for (const std::string& g : groups) {
      if (std::find(u->groups.begin(), u->groups.end(), g) == u->groups.end()) u->groups.push_back(g);
    }
  }
  set_user_fields(c, *u);
  c.sim.users_changed(c.world);
  return Reply(Json(nullptr));
}

Result<Reply> delete_user(Ctx& c) {
  AccessControl& ac = c.world.cluster.access;
  PVEKIT_ASSIGN(User * u, existing_user(c));
  // PVE recreates root@pam whenever it reads user.cfg; pvesim refuses
  // instead of pretending.
  if (u->userid == "root@pam") return failure("delete user failed: cannot delete 'root@pam'");
  const std::string userid = u->userid;
  std::erase_if(ac.acl, [&](const AclEntry& e) {
    return (e.kind == AclEntry::Kind::User && e.ugid == userid) ||
           (e.kind == AclEntry::Kind::Token && subject_user(e.ugid) == userid);
  });
  std::erase_if(ac.users, [&](const User& x) { return x.userid == userid; });
  c.sim.users_changed(c.world);
  return Reply(Json(nullptr));
}

Result<Reply> list_tokens(Ctx& c) {
  PVEKIT_ASSIGN(User * u, existing_user(c));
  Json out = Json::array();
  for (const ApiToken& t : u->tokens) {
    Json info = token_info(t);
    info["tokenid"] = t.id;
    out.push_back(info);
  }
  return Reply(out);
}

Result<Reply> read_token(Ctx& c) {
  PVEKIT_ASSIGN(User * u, existing_user(c));
  PVEKIT_ASSIGN(ApiToken * t, existing_token(c, *u));
  return Reply(token_info(*t));
}

// The secret is returned here, once, as PVE does; it cannot be read again.
Result<Reply> create_token(Ctx& c) {
  PVEKIT_ASSIGN(User * u, existing_user(c));
  const std::string id = c.str("tokenid");
  if (!valid_role_name(id) || !std::isalpha(static_cast<unsigned char>(id[0]))) {
    return param_error("tokenid", "value does not match the regex pattern");
  }
  for (const ApiToken& t : u->tokens) {
    if (t.id == id) return failure("Token already exists.");
  }
  ApiToken t;
  t.id = id;
  t.secret = new_secret();
  if (t.secret.empty()) return Error(ErrorCategory::System, "create token: no random bytes for the secret");
  t.comment = c.str("comment");
  t.privsep = param_bool(c.params, "privsep", true);
  t.expire = param_int(c.params, "expire", u->expire);
  Json out = {{"full-tokenid", u->userid + "!" + id}, {"info", token_info(t)}, {"value", t.secret}};
  u->tokens.push_back(std::move(t));
  c.sim.users_changed(c.world);
  return Reply(out);
}

Result<Reply> update_token(Ctx& c) {
  PVEKIT_ASSIGN(User * u, existing_user(c));
  PVEKIT_ASSIGN(ApiToken * t, existing_token(c, *u));
  if (c.params.count("privsep")) t->privsep = param_bool(c.params, "privsep");
  if (c.params.count("expire")) t->expire = param_int(c.params, "expire");
  if (c.params.count("comment")) t->comment = c.str("comment");
  for (const std::string& key : list_param(c, "delete")) {
    if (key == "comment") t->comment.clear();
    if (key == "expire") t->expire = 0;
  }
  c.sim.users_changed(c.world);
  return Reply(token_info(*t));
}

Result<Reply> delete_token(Ctx& c) {
  PVEKIT_ASSIGN(User * u, existing_user(c));
  PVEKIT_ASSIGN(ApiToken * t, existing_token(c, *u));
  const std::string full = u->userid + "!" + t->id;
  std::erase_if(c.world.cluster.access.acl,
                [&](const AclEntry& e) { return e.kind == AclEntry::Kind::Token && e.ugid == full; });
  std::erase_if(u->tokens, [&](const ApiToken& x) { return x.id == c.str("tokenid"); });
  c.sim.users_changed(c.world);
  return Reply(Json(nullptr));
}

Result<Reply> list_groups(Ctx& c) {
  Json out = Json::array();
  for (const Group& g : c.world.cluster.access.groups) {
    if (!c.access.allowed("/access/groups/" + g.id, {"User.Modify", "Sys.Audit", "Group.Allocate"}, true)) continue;
    std::vector<std::string> members;
    for (const User& u : c.world.cluster.access.users) {
      if (std::find(u.groups.begin(), u.groups.end(), g.id) != u.groups.end()) members.push_back(u.userid);
    }
    Json j = {{"groupid", g.id}, {"users", core::join(members, ",")}};
    if (!g.comment.empty()) j["comment"] = g.comment;
    out.push_back(j);
  }
  return Reply(out);
}

Result<const Group*> existing_group(Ctx& c) {
  const Group* g = c.world.cluster.access.find_group(c.str("groupid"));
  if (!g) return not_found("group '" + c.str("groupid") + "' does not exist");
  return g;
}

Result<Reply> create_group(Ctx& c) {
  AccessControl& ac = c.world.cluster.access;
  const std::string id = c.str("groupid");
  if (!valid_role_name(id)) return param_error("groupid", "group name '" + id + "' contains invalid characters");
  if (ac.find_group(id)) return failure("create group failed: group '" + id + "' already exists");
  ac.groups.push_back({id, c.str("comment")});
  return Reply(Json(nullptr));
}

Result<Reply> read_group(Ctx& c) {
  PVEKIT_ASSIGN(const Group* g, existing_group(c));
  Json members = Json::array();
  for (const User& u : c.world.cluster.access.users) {
    if (std::find(u.groups.begin(), u.groups.end(), g->id) != u.groups.end()) members.push_back(u.userid);
  }
  Json j = {{"members", members}};
  if (!g->comment.empty()) j["comment"] = g->comment;
  return Reply(j);
}

Result<Reply> update_group(Ctx& c) {
  PVEKIT_TRY(existing_group(c));
  for (Group& g : c.world.cluster.access.groups) {
    if (g.id == c.str("groupid") && c.params.count("comment")) g.comment = c.str("comment");
  }
  return Reply(Json(nullptr));
}

Result<Reply> delete_group(Ctx& c) {
  AccessControl& ac = c.world.cluster.access;
  PVEKIT_ASSIGN(const Group* g, existing_group(c));
  const std::string id = g->id;
  for (User& u : ac.users) std::erase(u.groups, id);
  std::erase_if(ac.acl, [&](const AclEntry& e) { return e.kind == AclEntry::Kind::Group && e.ugid == id; });
  std::erase_if(ac.groups, [&](const Group& x) { return x.id == id; });
  c.sim.users_changed(c.world);
  return Reply(Json(nullptr));
}

Result<Reply> list_roles(Ctx& c) {
  Json out = Json::array();
  for (const auto& [id, privs] : builtin_roles()) {
    out.push_back({{"roleid", id}, {"privs", core::join(privs, ",")}, {"special", 1}});
  }
  for (const auto& [id, privs] : c.world.cluster.access.roles) {
    out.push_back({{"roleid", id}, {"privs", core::join(privs, ",")}, {"special", 0}});
  }
  return Reply(out);
}

Result<std::vector<std::string>> priv_list(Ctx& c) {
  std::vector<std::string> privs = list_param(c, "privs");
  for (const std::string& p : privs) {
    if (!valid_privilege(p)) return param_error("privs", "invalid privilege '" + p + "'");
  }
  return privs;
}

Result<Reply> create_role(Ctx& c) {
  AccessControl& ac = c.world.cluster.access;
  const std::string id = c.str("roleid");
  if (!valid_role_name(id)) {
    return param_error("roleid", "role name '" + id.substr(0, 64) + "' contains invalid characters");
  }
  if (find_role(ac, id)) return failure("create role failed: role '" + id + "' already exists");
  PVEKIT_ASSIGN(std::vector<std::string> privs, priv_list(c));
  std::sort(privs.begin(), privs.end());
  privs.erase(std::unique(privs.begin(), privs.end()), privs.end());
  ac.roles[id] = std::move(privs);
  return Reply(Json(nullptr));
}

Result<Reply> read_role(Ctx& c) {
  const std::vector<std::string>* privs = find_role(c.world.cluster.access, c.str("roleid"));
  if (!privs) return not_found("role '" + c.str("roleid") + "' does not exist");
  Json out = Json::object();
  for (const std::string& p : *privs) out[p] = 1;
  return Reply(out);
}

Result<Reply> update_role(Ctx& c) {
  const std::string id = c.str("roleid");
  if (builtin_roles().count(id)) return failure("update role failed: cannot modify special role '" + id + "'");
  auto it = c.world.cluster.access.roles.find(id);
  if (it == c.world.cluster.access.roles.end()) return not_found("role '" + id + "' does not exist");
  PVEKIT_ASSIGN(std::vector<std::string> privs, priv_list(c));
  std::set<std::string> next(privs.begin(), privs.end());
  if (param_bool(c.params, "append")) next.insert(it->second.begin(), it->second.end());
  it->second.assign(next.begin(), next.end());
  return Reply(Json(nullptr));
}

Result<Reply> delete_role(Ctx& c) {
  AccessControl& ac = c.world.cluster.access;
  const std::string id = c.str("roleid");
  if (builtin_roles().count(id)) return failure("delete role failed: cannot delete special role '" + id + "'");
  if (!ac.roles.erase(id)) return not_found("role '" + id + "' does not exist");
  std::erase_if(ac.acl, [&](const AclEntry& e) { return e.role == id; });
  return Reply(Json(nullptr));
}

std::string_view kind_name(AclEntry::Kind kind) {
  switch (kind) {
    case AclEntry::Kind::User: return "user";
    case AclEntry::Kind::Group: return "group";
    case AclEntry::Kind::Token: return "token";
  }
  return "user";
}

// Only entries whose permissions the caller may modify.
Result<Reply> list_acl(Ctx& c) {
  Json out = Json::array();
  for (const AclEntry& e : c.world.cluster.access.acl) {
    if (!check_perm_modify(c.access, e.path).ok()) continue;
    out.push_back({{"path", e.path}, {"type", kind_name(e.kind)}, {"ugid", e.ugid}, {"roleid", e.role},
                   {"propagate", e.propagate ? 1 : 0}});
  }
  return Reply(out);
}

Result<Reply> update_acl(Ctx& c) {
  AccessControl& ac = c.world.cluster.access;
  const auto path = normalize_acl_path(c.str("path"));
  if (!path || !valid_acl_path(*path)) return param_error("path", "invalid ACL path '" + c.str("path") + "'");
  const bool remove = param_bool(c.params, "delete");
  const bool propagate = param_bool(c.params, "propagate", true);
  const std::vector<std::string> roles = list_param(c, "roles");
  // Without Permissions.Modify (perm-modify let VM.Allocate & co. through),
  // only roles whose privileges the caller holds on the path may be handed out.
  const Privileges held = permissions(ac, c.access.pools, c.access.subject, *path);
  for (const std::string& role : roles) {
    const std::vector<std::string>* privs = find_role(ac, role);
    if (!privs) return failure("role '" + role + "' does not exist");
    if (held.count("Permissions.Modify")) continue;
    for (const std::string& p : *privs) {
      if (!held.count(p)) {
        return param_error("role", "Cannot " + std::string(remove ? "remove" : "add") + " role '" + role +
                                       "' - requires 'Permissions.Modify' or superset of privileges.");
      }
    }
  }
  std::vector<std::pair<AclEntry::Kind, std::string>> members;
  for (auto [param, kind] : {std::pair{"users", AclEntry::Kind::User}, std::pair{"groups", AclEntry::Kind::Group},
                             std::pair{"tokens", AclEntry::Kind::Token}}) {
    for (const std::string& id : list_param(c, param)) {
      if (!remove && !acl_member_exists(ac, kind, id)) {
        const std::string what = kind == AclEntry::Kind::Group ? "group" : kind == AclEntry::Kind::User ? "user" : "token";
        return failure(what + " '" + id + "' does not exist");
      }
      members.emplace_back(kind, id);
    }
  }
  for (const auto& [kind, id] : members) {
    for (const std::string& role : roles) {
      std::erase_if(ac.acl, [&](const AclEntry& e) {
        return e.path == *path && e.kind == kind && e.ugid == id && e.role == role;
      });
      if (!remove) ac.acl.push_back({*path, kind, id, role, propagate});
    }
  }
  return Reply(Json(nullptr));
}

// PVE's get_effective_permissions: the top-level paths, every ACL path and
// every pool member, each with the privileges held there (empty ones left out).
Json effective_permissions(const Ctx& c, const std::string& subject) {
  const AccessControl& ac = c.world.cluster.access;
  std::set<std::string> paths = {"/", "/access", "/access/groups", "/nodes", "/pool", "/sdn", "/storage", "/vms"};
  for (const AclEntry& e : ac.acl) paths.insert(e.path);
  for (const auto& [path, pool] : c.access.pools) paths.insert(path);
  Json out = Json::object();
  for (const std::string& path : paths) {
    const Privileges privs = permissions(ac, c.access.pools, subject, path);
    if (privs.empty()) continue;
    Json j = Json::object();
    for (const auto& [p, propagate] : privs) j[p] = propagate ? 1 : 0;
    out[path] = j;
  }
  return out;
}

Result<Reply> get_permissions(Ctx& c) {
  const std::string self = c.access.subject;
  std::string target = c.str("userid", self);
  // One's own permissions and those of one's tokens; others' need Sys.Audit on /access.
  if (target != self && subject_user(target) != self) PVEKIT_TRY(c.access.require("/access", {"Sys.Audit"}));
  if (c.params.count("path")) {
    const auto path = normalize_acl_path(c.str("path"));
    if (!path) return param_error("path", "invalid path '" + c.str("path") + "'");
    Json j = Json::object();
    for (const auto& [p, propagate] : permissions(c.world.cluster.access, c.access.pools, target, *path)) {
      j[p] = propagate ? 1 : 0;
    }
    return Reply(Json{{*path, j}});
  }
  return Reply(effective_permissions(c, target));
}

}  // namespace

std::vector<Route> user_routes() {
  const ParamSpec userid = p_str("userid", true);
  const ParamSpec tokenid = p_str("tokenid", true);
  const std::vector<ParamSpec> user_fields = {p_str("comment"), p_str("email"), p_bool("enable"),
                                              p_int("expire", false, 0), p_str("firstname"), p_str("groups"),
                                              p_str("keys"), p_str("lastname")};
  auto with = [](std::vector<ParamSpec> a, const std::vector<ParamSpec>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  const std::vector<ParamSpec> token_fields = {p_str("comment"), p_int("expire", false, 0), p_bool("privsep")};
  return {
      {"GET", "/access/users", {p_bool("enabled"), p_bool("full")}, list_users},
      {"POST", "/access/users", with({userid, p_str("password")}, user_fields), create_user},
      {"GET", "/access/users/{userid}", {userid}, read_user},
      {"PUT", "/access/users/{userid}", with({userid, p_bool("append")}, user_fields), update_user},
      {"DELETE", "/access/users/{userid}", {userid}, delete_user},
      {"GET", "/access/users/{userid}/token", {userid}, list_tokens},
      {"GET", "/access/users/{userid}/token/{tokenid}", {userid, tokenid}, read_token},
      {"POST", "/access/users/{userid}/token/{tokenid}", with({userid, tokenid}, token_fields), create_token},
      {"PUT", "/access/users/{userid}/token/{tokenid}", with({userid, tokenid, p_str("delete")}, token_fields),
       update_token},
      {"DELETE", "/access/users/{userid}/token/{tokenid}", {userid, tokenid}, delete_token},
      {"GET", "/access/groups", {}, list_groups},
      {"POST", "/access/groups", {p_str("groupid", true), p_str("comment")}, create_group},
      {"GET", "/access/groups/{groupid}", {p_str("groupid", true)}, read_group},
      {"PUT", "/access/groups/{groupid}", {p_str("groupid", true), p_str("comment")}, update_group},
      {"DELETE", "/access/groups/{groupid}", {p_str("groupid", true)}, delete_group},
      {"GET", "/access/roles", {}, list_roles},
      {"POST", "/access/roles", {p_str("roleid", true), p_str("privs")}, create_role},
      {"GET", "/access/roles/{roleid}", {p_str("roleid", true)}, read_role},
      {"PUT", "/access/roles/{roleid}", {p_str("roleid", true), p_str("privs"), p_bool("append")}, update_role},
      {"DELETE", "/access/roles/{roleid}", {p_str("roleid", true)}, delete_role},
      {"GET", "/access/acl", {}, list_acl},
      {"PUT", "/access/acl",
       {p_str("path", true), p_str("roles", true), p_str("users"), p_str("groups"), p_str("tokens"),
        p_bool("propagate"), p_bool("delete")},
       update_acl},
      {"GET", "/access/permissions", {p_str("path"), p_str("userid")}, get_permissions},
  };
}

}  // namespace pvekit::sim
