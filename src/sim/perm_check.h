#pragma once

#include <string>
#include <vector>

#include "core/json.h"
#include "core/result.h"
#include "sim/params.h"
#include "sim/permissions.h"

// PVE's evaluation of an API method's `permissions` (the schema's
// {check, user, description} object), as PVE::RPCEnvironment's
// check_api2_permissions and exec_api2_perm_check do it, without I/O.
namespace pvekit::sim {

// Who asks, and the access data to judge by.
struct PermissionEnv {
  const AccessControl& access;
  const PoolMembers& pools;
  std::string subject;  // "user@realm" or "user@realm!token"

  // PVE's check/check_any with noerr: whether `subject` holds all (or, with
  // `any`, one) of `privs` on `path`.
  bool allowed(const std::string& path, const std::vector<std::string>& privs, bool any = false) const;
  // The same, failing with PVE's 403 "Permission check failed (<path>, <privs>)".
  core::Status require(const std::string& path, const std::vector<std::string>& privs, bool any = false) const;
};

// HTTP 403 "Permission check failed" plus " (<what>)" when given
// (PVE::Exception::raise_perm_exc).
core::Error permission_denied(const std::string& what = "");

// `permissions` is null when the schema lists none (root@pam only, as in
// PVE). `user: "world"` passes anyone, `user: "all"` any authenticated
// user (the handler then filters, as the description says); otherwise the
// `check` expression: perm (with "any" and "require_param" options), and,
// or, userid-param (self, Realm.AllocateUser), userid-group (with
// groups_param create/update) and perm-modify. Path templates take request
// parameters ("{vmid}"; a missing one becomes "-", as PVE's
// template_replace does).
core::Status check_api_permissions(const core::Json& permissions, const PermissionEnv& env, const Params& params);

// PVE::RPCEnvironment::check_perm_modify: Permissions.Modify on the path, or
// the allocate privilege of the object (/vms/<id>: VM.Allocate,
// /storage/<id>: Datastore.Allocate, /pool/<id>: Pool.Allocate).
core::Status check_perm_modify(const PermissionEnv& env, const std::string& path);

}  // namespace pvekit::sim
