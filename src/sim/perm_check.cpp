#include "sim/perm_check.h"

#include "core/strings.h"

namespace pvekit::sim {
namespace {

using core::Error;
using core::ErrorCategory;
using core::Json;
using core::Status;

std::string template_replace(const std::string& tmpl, const Params& params) {
  std::string out;
  size_t i = 0;
  while (i < tmpl.size()) {
    const auto open = tmpl.find('{', i);
    const auto close = open == std::string::npos ? std::string::npos : tmpl.find('}', open);
    if (close == std::string::npos) {
      out += tmpl.substr(i);
      break;
    }
    out += tmpl.substr(i, open - i);
    const std::string value = param_str(params, tmpl.substr(open + 1, close - open - 1));
    out += value.empty() ? "-" : value;
    i = close + 1;
  }
  return out;
}

std::vector<std::string> string_list(const Json& j) {
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const Json& v : j) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

Error internal(const std::string& what) {
  return Error(ErrorCategory::Internal, "invalid permission check in the API schema: " + what);
}

Error no_such_user(const std::string& userid) {
  return Error(ErrorCategory::NotFound, "no such user ('" + userid + "')");
}

// Groups on which the subject holds any of `privs` (RPCEnvironment::filter_groups).
std::vector<std::string> allowed_groups(const PermissionEnv& env, const std::vector<std::string>& privs) {
  std::vector<std::string> out;
  for (const Group& g : env.access.groups) {
    if (env.allowed("/access/groups/" + g.id, privs, true)) out.push_back(g.id);
  }
  return out;
}

Status userid_group(const Json& check, const PermissionEnv& env, const Params& params, bool noerr) {
  const std::string userid = param_str(params, "userid");
  const std::vector<std::string> privs = string_list(check.size() > 1 ? check[1] : Json());
  std::string groups_param;
  for (size_t i = 2; i + 1 < check.size(); i += 2) {
    if (check[i] == "groups_param" && check[i + 1].is_string()) groups_param = check[i + 1].get<std::string>();
  }
  const bool existing = groups_param != "create";
  const User* target = env.access.find_user(userid);
  if (existing && !target) return noerr ? permission_denied() : no_such_user(userid);
  if (env.allowed("/access/groups", privs, true)) return core::ok();
  const std::vector<std::string> groups = allowed_groups(env, privs);
  const std::string privtext = core::join(privs, "|");
  if (!groups_param.empty()) {
    const auto wanted = core::split(param_str(params, "groups"), ',', true);
    if (wanted.empty()) return permission_denied("/access/groups, " + privtext);
    for (const std::string& g : wanted) {
      if (std::find(groups.begin(), groups.end(), g) == groups.end()) {
        return permission_denied("/access/groups/" + g + ", " + privtext);
      }
    }
  }
  if (existing) {
    const bool member = std::any_of(groups.begin(), groups.end(), [&](const std::string& g) {
      return std::find(target->groups.begin(), target->groups.end(), g) != target->groups.end();
    });
    if (!member) return permission_denied();
  }
  return core::ok();
}

Status evaluate(const Json& check, const PermissionEnv& env, const Params& params, bool noerr) {
  if (!check.is_array() || check.empty() || !check[0].is_string()) return internal(check.dump());
  const std::string test = check[0].get<std::string>();
  if (test == "and") {
    for (size_t i = 1; i < check.size(); ++i) PVEKIT_TRY(evaluate(check[i], env, params, false));
    return core::ok();
  }
  if (test == "or") {
    for (size_t i = 1; i < check.size(); ++i) {
      if (evaluate(check[i], env, params, true).ok()) return core::ok();
    }
    return permission_denied();
  }
  if (test == "perm") {
    if (check.size() < 3 || !check[1].is_string()) return internal(check.dump());
    bool any = false;
    for (size_t i = 3; i + 1 < check.size(); i += 2) {
      if (check[i] == "any") any = check[i + 1] == 1;
      if (check[i] == "require_param" && check[i + 1].is_string() &&
          !params.count(check[i + 1].get<std::string>())) {
        return permission_denied();
      }
    }
    const auto path = normalize_acl_path(template_replace(check[1].get<std::string>(), params));
    if (!path) return permission_denied();
    return env.require(*path, string_list(check[2]), any);
  }
  if (test == "userid-group") return userid_group(check, env, params, noerr);
  if (test == "userid-param") {
    const std::string userid = param_str(params, "userid");
    const std::string sub = check.size() > 1 && check[1].is_string() ? check[1].get<std::string>() : "";
    if (sub == "self") {
      if (!env.access.find_user(userid)) return noerr ? permission_denied() : no_such_user(userid);
      return env.subject == userid ? core::ok() : permission_denied();
    }
    if (sub == "Realm.AllocateUser") {
      const auto at = userid.rfind('@');
      const std::string realm = at == std::string::npos ? "" : userid.substr(at + 1);
      return env.require("/access/realm/" + realm, {"Realm.AllocateUser"});
    }
    return internal(check.dump());
  }
  if (test == "perm-modify") {
    if (check.size() < 2 || !check[1].is_string()) return internal(check.dump());
    const auto path = normalize_acl_path(template_replace(check[1].get<std::string>(), params));
    if (!path) return permission_denied();
    return check_perm_modify(env, *path);
  }
  return internal("unknown test '" + test + "'");
}

}  // namespace

Error permission_denied(const std::string& what) {
  std::string message = "Permission check failed";
  if (!what.empty()) message += " (" + what + ")";
  return Error(ErrorCategory::Auth, message).with_http_status(403);
}

bool PermissionEnv::allowed(const std::string& path, const std::vector<std::string>& privs, bool any) const {
  const Privileges held = permissions(access, pools, subject, path);
  if (any) {
    return std::any_of(privs.begin(), privs.end(), [&](const std::string& p) { return held.count(p) > 0; });
  }
  return std::all_of(privs.begin(), privs.end(), [&](const std::string& p) { return held.count(p) > 0; });
}

Status PermissionEnv::require(const std::string& path, const std::vector<std::string>& privs, bool any) const {
  const Privileges held = permissions(access, pools, subject, path);
  if (any) {
    for (const std::string& p : privs) {
      if (held.count(p)) return core::ok();
    }
    return permission_denied(path + ", " + core::join(privs, "|"));
  }
  // PVE names the first privilege missing.
  for (const std::string& p : privs) {
    if (!held.count(p)) return permission_denied(path + ", " + p);
  }
  return core::ok();
}

Status check_perm_modify(const PermissionEnv& env, const std::string& path) {
  std::vector<std::string> privs = {"Permissions.Modify"};
  if (core::starts_with(path, "/storage/")) privs.push_back("Datastore.Allocate");
  else if (core::starts_with(path, "/vms/")) privs.push_back("VM.Allocate");
  else if (core::starts_with(path, "/pool/")) privs.push_back("Pool.Allocate");
  return env.require(path, privs, true);
}

Status check_api_permissions(const Json& permissions, const PermissionEnv& env, const Params& params) {
  if (permissions.is_object() && permissions.value("user", "") == "world") return core::ok();
  if (env.subject.empty()) return permission_denied("user != null");
  if (env.subject == "root@pam") return core::ok();
  if (!permissions.is_object()) return permission_denied("user != root@pam");
  if (permissions.value("user", "") == "all") return core::ok();
  if (permissions.contains("check")) return evaluate(permissions["check"], env, params, false);
  return permission_denied();
}

}  // namespace pvekit::sim
