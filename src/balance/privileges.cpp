#include "balance/privileges.h"

#include <fmt/format.h>

namespace pvekit::balance {

std::vector<RequiredPrivilege> required_privileges(PrivilegeUse use) {
  std::vector<RequiredPrivilege> needed = {
      {"Sys.Audit", "/", true, "the cluster status, HA and node status cannot be read"},
      {"VM.Audit", "/vms", true, "proxlb would see only part of the guests"},
      {"Datastore.Audit", "/storage", true, "proxlb would see only part of the storages"},
      {"Pool.Audit", "/pool", true, "proxlb would see only part of the pools"},
  };
  if (use == PrivilegeUse::Balance) {
    needed.push_back({"VM.Migrate", "/vms", true, "guests cannot be migrated"});
    // PVE checks POST /cluster/ha/resources/{sid}/migrate against / itself.
    needed.push_back({"Sys.Console", "/", false, "HA-managed guests cannot be moved"});
  }
  return needed;
}

core::Result<std::vector<RequiredPrivilege>> missing_privileges(const core::Json& permissions, PrivilegeUse use) {
  if (!permissions.is_object()) {
    return core::Error(core::ErrorCategory::Parse, "GET /access/permissions: expected an object of paths, got " +
                                                       std::string(permissions.type_name()));
  }
  std::vector<RequiredPrivilege> missing;
  for (RequiredPrivilege& need : required_privileges(use)) {
    bool held = false;
    if (auto path = permissions.find(need.path); path != permissions.end()) {
      if (!path->is_object()) {
        return core::Error(core::ErrorCategory::Parse,
                           "GET /access/permissions: the privileges of " + need.path + " are not an object");
      }
      if (auto flag = path->find(need.privilege); flag != path->end()) {
        if (!flag->is_number_integer() && !flag->is_boolean()) {
          return core::Error(core::ErrorCategory::Parse, "GET /access/permissions: " + need.privilege + " on " +
                                                             need.path + " is not 0 or 1");
        }
        held = !need.propagated || (flag->is_boolean() ? flag->get<bool>() : flag->get<int64_t>() != 0);
      }
    }
    if (!held) missing.push_back(std::move(need));
  }
  return missing;
}

core::Status require_privileges(const core::Json& permissions, PrivilegeUse use, const std::string& who) {
  PVEKIT_ASSIGN(auto missing, missing_privileges(permissions, use));
  if (missing.empty()) return core::ok();
  std::string text;
  for (const auto& m : missing) {
    text += fmt::format("{}{} lacks {} on {}{}: {}", text.empty() ? "" : "; ", who, m.privilege, m.path,
                        m.propagated ? " (propagated)" : "", m.why);
  }
  return core::Error(core::ErrorCategory::Auth,
                     text + "; grant the role of docs/proxlb-config.md (\"Least privileges\") on /");
}

}  // namespace pvekit::balance
