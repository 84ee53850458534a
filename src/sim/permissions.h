#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/model.h"

// PVE's privilege model without I/O: built-in roles, ACL paths, role
// resolution along a path and the effective privileges of a user or API
// token, as pve-access-control computes them (PVE::AccessControl::roles,
// PVE::RPCEnvironment::permissions). The privilege lists are those of
// Proxmox VE 9.1 (pve-access-control 9.x $privgroups); privileges added after
// 9.1 (Sys.ACME.*, VM.Config.Nesting, ...) are not known to its API schema
// and are left out.
namespace pvekit::sim {

// privilege -> propagate flag (informational, as in PVE: a present key means
// the privilege is held on the path).
using Privileges = std::map<std::string, bool>;

// Every valid privilege name, sorted.
const std::vector<std::string>& all_privileges();
bool valid_privilege(std::string_view name);
// The built-in ("special") roles: Administrator, NoAccess, PVEAdmin,
// PVEAuditor, PVE<Group>Admin/User, PVETemplateUser. Sorted privilege lists.
const std::map<std::string, std::vector<std::string>>& builtin_roles();
// The privileges of a built-in or custom role; nullptr when it does not exist.
const std::vector<std::string>* find_role(const AccessControl& ac, const std::string& role);
// PVE's role name rule (pve-roleid): [A-Za-z0-9.-_]+, at most 64 characters.
bool valid_role_name(std::string_view name);

// PVE::AccessControl::normalize_path: collapse '/', drop a trailing one,
// add a leading one; nullopt for an empty path and for characters outside
// [[:alnum:].-_/]. "." and ".." stay: valid_acl_path refuses them.
std::optional<std::string> normalize_acl_path(std::string_view path);
// PVE::AccessControl::check_path: whether an ACL may be set on `path`.
bool valid_acl_path(const std::string& path);

// "/vms/<vmid>" and "/storage/<id>" -> pool, for roles inherited from
// /pool/<pool> (PVE gives pool members the pool's roles, not propagated).
using PoolMembers = std::map<std::string, std::string>;

// The effective privileges of `subject` ("user@realm" or
// "user@realm!token") on a normalised `path`. root@pam has every privilege.
// A privsep token has its own ACLs' privileges that its user also has; a
// token without privsep has its user's. Unknown users and tokens, and
// disabled users, have none. NoAccess on the path wins over everything.
Privileges permissions(const AccessControl& ac, const PoolMembers& pools, const std::string& subject,
                       const std::string& path);

// Whether the user, group or token ("user@realm!name") an ACL entry names exists.
bool acl_member_exists(const AccessControl& ac, AclEntry::Kind kind, const std::string& id);

// The user part of a subject ("alice@pve!t1" -> "alice@pve").
std::string subject_user(const std::string& subject);

}  // namespace pvekit::sim
