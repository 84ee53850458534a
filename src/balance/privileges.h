#pragma once

#include <string>
#include <vector>

#include "core/json.h"
#include "core/result.h"

// The privileges proxlb needs on a PVE cluster and whether an answer of
// GET /access/permissions holds them. PVE refuses (403) a call without
// Sys.Audit, VM.Migrate or Sys.Console, but hides instead of refusing what a
// token may not audit (guests without VM.Audit, storages without
// Datastore.Audit, pools without Pool.Audit): proxlb would plan on part of the
// cluster. So every run checks them all first (docs/proxlb-config.md, "Least
// privileges").
namespace pvekit::balance {

enum class PrivilegeUse {
  Read,     // status, plan, a dry run: the cluster is only read
  Balance,  // balance, the daemon: guests are migrated too
};

struct RequiredPrivilege {
  std::string privilege;  // "VM.Audit"
  std::string path;       // "/vms"
  bool propagated;        // needed on the objects below `path` too
  std::string why;        // what proxlb misses without it
};

// What `use` needs. The audit privileges are needed on the top-level paths,
// propagated: proxlb plans on the whole cluster (ignore_nodes only keeps
// guests off nodes, their guests still count), so an ACL on one pool or one
// guest is not enough.
std::vector<RequiredPrivilege> required_privileges(PrivilegeUse use);

// Those of required_privileges(use) that `permissions` (PVE's answer: path ->
// {privilege: 1 when propagated, 0 when not}) does not grant (propagated
// where required).
// Parse error when `permissions` is not such an object.
core::Result<std::vector<RequiredPrivilege>> missing_privileges(const core::Json& permissions, PrivilegeUse use);

// ok, or an Auth error naming every missing privilege, its path and what
// proxlb would miss, e.g. "the API token lacks VM.Audit on /vms (propagated):
// proxlb would see only part of the guests; ...". `who` is "the API token" or
// "user root@pam".
core::Status require_privileges(const core::Json& permissions, PrivilegeUse use, const std::string& who);

}  // namespace pvekit::balance
