#include "sim/permissions.h"

#include <algorithm>
#include <regex>
#include <set>

#include "core/strings.h"

namespace pvekit::sim {
namespace {

// pve-access-control's $privgroups (PVE 9.1): per category the privileges
// only root should hold, those of an administrator, of a user, of an auditor.
struct PrivGroup {
  const char* category;
  std::vector<std::string> root, admin, user, audit;
};

const std::vector<PrivGroup>& priv_groups() {
  static const std::vector<PrivGroup> groups = {
      {"VM",
       {},
       {"VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network", "VM.Config.HWType",
        "VM.Config.Options", "VM.Allocate", "VM.Clone", "VM.GuestAgent.Unrestricted", "VM.Migrate", "VM.Replicate",
        "VM.Snapshot", "VM.Snapshot.Rollback"},
       {"VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console", "VM.Backup", "VM.GuestAgent.FileRead",
        "VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite", "VM.PowerMgmt"},
       {"VM.Audit", "VM.GuestAgent.Audit"}},
      {"Sys", {"Sys.PowerMgmt", "Sys.Modify", "Sys.Incoming", "Sys.AccessNetwork"}, {"Sys.Console", "Sys.Syslog"}, {},
       {"Sys.Audit"}},
      {"Datastore", {}, {"Datastore.Allocate", "Datastore.AllocateTemplate"}, {"Datastore.AllocateSpace"},
       {"Datastore.Audit"}},
      {"SDN", {}, {"SDN.Allocate", "SDN.Audit"}, {"SDN.Use"}, {"SDN.Audit"}},
      {"User", {"Realm.Allocate"}, {"User.Modify", "Group.Allocate", "Realm.AllocateUser"}, {}, {}},
      {"Pool", {}, {"Pool.Allocate"}, {"Pool.Audit"}, {"Pool.Audit"}},
      {"Mapping", {}, {"Mapping.Modify"}, {"Mapping.Use"}, {"Mapping.Audit"}},
  };
  return groups;
}

std::vector<std::string> sorted(const std::set<std::string>& s) { return {s.begin(), s.end()}; }

// PVE::AccessControl::create_roles.
std::map<std::string, std::vector<std::string>> make_builtin_roles() {
  std::map<std::string, std::set<std::string>> roles;
  std::set<std::string> valid = {"Permissions.Modify"};  // in no group: Administrator only
  roles["NoAccess"];
  for (const PrivGroup& g : priv_groups()) {
    const std::string cat = g.category;
    for (const auto* list : {&g.root, &g.admin, &g.user, &g.audit}) valid.insert(list->begin(), list->end());
    for (const auto* list : {&g.admin, &g.user, &g.audit}) {
      roles["PVE" + cat + "Admin"].insert(list->begin(), list->end());
      roles["PVEAdmin"].insert(list->begin(), list->end());
    }
    if (!g.user.empty()) {
      for (const auto* list : {&g.user, &g.audit}) roles["PVE" + cat + "User"].insert(list->begin(), list->end());
    }
    roles["PVEAuditor"].insert(g.audit.begin(), g.audit.end());
  }
  // Only Administrator, root@pam and PVEMappingAdmin may modify mappings.
  roles["PVEAdmin"].erase("Mapping.Modify");
  roles["PVETemplateUser"] = {"VM.Clone", "VM.Audit"};
  roles["Administrator"] = valid;
  std::map<std::string, std::vector<std::string>> out;
  for (auto& [name, privs] : roles) out[name] = sorted(privs);
  return out;
}

struct Subject {
  std::string user;
  std::string token;  // "" for a user
};

Subject split_subject(const std::string& subject) {
  const auto bang = subject.find('!');
  if (bang == std::string::npos) return {subject, ""};
  return {subject.substr(0, bang), subject.substr(bang + 1)};
}

const ApiToken* find_token(const AccessControl& ac, const Subject& s) {
  const User* u = ac.find_user(s.user);
  if (!u) return nullptr;
  for (const ApiToken& t : u->tokens) {
    if (t.id == s.token) return &t;
  }
  return nullptr;
}

bool in_group(const AccessControl& ac, const std::string& userid, const std::string& group) {
  const User* u = ac.find_user(userid);
  return u && std::find(u->groups.begin(), u->groups.end(), group) != u->groups.end();
}

// The prefixes of a normalised path, root first: "/vms/100" -> "/", "/vms", "/vms/100".
std::vector<std::string> prefixes(const std::string& path) {
  std::vector<std::string> out = {"/"};
  std::string cur;
  for (const std::string& part : core::split(path, '/', true)) {
    cur += "/" + part;
    out.push_back(cur);
  }
  return out;
}

using Roles = std::map<std::string, bool>;  // role -> propagate

// PVE::AccessControl::roles for a user or a privsep token: walking from "/"
// to `path`, the most specific level with an applicable entry replaces what
// came before; at one level token entries win over user entries, which win
// over group entries. Entries above the path count only when propagated.
Roles acl_roles(const AccessControl& ac, const std::string& subject, const std::string& path) {
  const Subject s = split_subject(subject);
  Roles roles;
  const auto levels = prefixes(path);
  for (size_t i = 0; i < levels.size(); ++i) {
    const bool final = i + 1 == levels.size();
    Roles tokens, users, groups;
    for (const AclEntry& e : ac.acl) {
      if (e.path != levels[i] || !(final || e.propagate)) continue;
      if (e.kind == AclEntry::Kind::Token && e.ugid == subject) tokens[e.role] = e.propagate;
      if (e.kind == AclEntry::Kind::User && s.token.empty() && e.ugid == subject) users[e.role] = e.propagate;
      if (e.kind == AclEntry::Kind::Group && s.token.empty() && in_group(ac, subject, e.ugid)) {
        groups[e.role] = e.propagate;
      }
    }
    for (Roles* level : {&tokens, &users, &groups}) {
      if (!level->empty()) {
        roles = std::move(*level);
        break;
      }
    }
  }
  if (auto it = roles.find("NoAccess"); it != roles.end()) return {{"NoAccess", it->second}};
  return roles;
}

// PVE::RPCEnvironment's compile_acl_path for a user or privsep token.
Privileges compile(const AccessControl& ac, const PoolMembers& pools, const std::string& subject,
                   const std::string& path) {
  Roles roles = acl_roles(ac, subject, path);
  if (auto pool = pools.find(path); pool != pools.end() && !roles.count("NoAccess")) {
    const Roles pool_roles = acl_roles(ac, subject, "/pool/" + pool->second);
    if (pool_roles.count("NoAccess")) {
      roles = {{"NoAccess", false}};
    } else {
      // Pool roles never propagate and never replace a role set directly.
      for (const auto& [role, propagate] : pool_roles) roles.emplace(role, false);
    }
  }
  Privileges privs;
  for (const auto& [role, propagate] : roles) {
    const std::vector<std::string>* list = find_role(ac, role);
    if (!list) continue;
    for (const std::string& p : *list) privs[p] = privs[p] || propagate;
  }
  return privs;
}

}  // namespace

const std::map<std::string, std::vector<std::string>>& builtin_roles() {
  static const auto roles = make_builtin_roles();
  return roles;
}

const std::vector<std::string>& all_privileges() { return builtin_roles().at("Administrator"); }

bool valid_privilege(std::string_view name) {
  const auto& all = all_privileges();
  return std::binary_search(all.begin(), all.end(), name, std::less<>());
}

const std::vector<std::string>* find_role(const AccessControl& ac, const std::string& role) {
  if (auto it = builtin_roles().find(role); it != builtin_roles().end()) return &it->second;
  if (auto it = ac.roles.find(role); it != ac.roles.end()) return &it->second;
  return nullptr;
}

bool valid_role_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == '_';
  });
}

std::optional<std::string> normalize_acl_path(std::string_view path) {
  if (path.empty()) return std::nullopt;
  // Leading '/' added, runs of '/' collapsed, a trailing one dropped.
  std::string out = "/";
  for (char ch : path) {
    if (ch != '/' || out.back() != '/') out += ch;
  }
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  const bool ok = std::all_of(out.begin(), out.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == '_' || ch == '/';
  });
  if (!ok) return std::nullopt;
  return out;
}

bool valid_acl_path(const std::string& path) {
  // PVE::AccessControl::check_path of PVE 9.1.
  static const std::regex re(
      R"(^(/|/access|/access/groups|/access/groups/[[:alnum:]\.\-_]+|/access/realm|/access/realm/[[:alnum:]\.\-_]+)"
      R"(|/nodes|/nodes/[[:alnum:]\.\-_]+|/pool|/pool/[A-Za-z0-9\.\-_]+(/[A-Za-z0-9\.\-_]+){0,2})"
      R"(|/sdn|/sdn/controllers|/sdn/controllers/[[:alnum:]_\-]+|/sdn/dns|/sdn/dns/[[:alnum:]]+)"
      R"(|/sdn/fabrics|/sdn/fabrics/[[:alnum:]]+|/sdn/ipams|/sdn/ipams/[[:alnum:]]+|/sdn/zones)"
      R"(|/sdn/zones/[[:alnum:]\.\-_]+|/sdn/zones/[[:alnum:]\.\-_]+/[[:alnum:]\.\-_]+)"
      R"(|/sdn/zones/[[:alnum:]\.\-_]+/[[:alnum:]\.\-_]+/[1-9][0-9]{0,3})"
      R"(|/storage|/storage/[[:alnum:]\.\-_]+|/vms|/vms/[1-9][0-9]{2,})"
      R"(|/mapping|/mapping/[[:alnum:]\.\-_]+|/mapping/[[:alnum:]\.\-_]+/[[:alnum:]\.\-_]+)$)");
  if (path.size() > 512) return false;
  for (const std::string& part : core::split(path, '/', true)) {
    if (part == "." || part == "..") return false;
  }
  return std::regex_match(path, re);
}

bool acl_member_exists(const AccessControl& ac, AclEntry::Kind kind, const std::string& id) {
  const Subject s = split_subject(id);
  switch (kind) {
    case AclEntry::Kind::Group:
      return ac.find_group(id) != nullptr;
    case AclEntry::Kind::User:
      return s.token.empty() && ac.find_user(id) != nullptr;
    case AclEntry::Kind::Token:
      return !s.token.empty() && find_token(ac, s) != nullptr;
  }
  return false;
}

std::string subject_user(const std::string& subject) { return split_subject(subject).user; }

Privileges permissions(const AccessControl& ac, const PoolMembers& pools, const std::string& subject,
                       const std::string& path) {
  if (subject == "root@pam") {
    Privileges all;
    for (const std::string& p : all_privileges()) all[p] = true;
    return all;
  }
  const Subject s = split_subject(subject);
  const User* user = ac.find_user(s.user);
  if (s.user != "root@pam" && (!user || !user->enable)) return {};
  if (s.token.empty()) return compile(ac, pools, subject, path);
  const ApiToken* token = find_token(ac, s);
  if (!token) return {};
  Privileges user_privs = permissions(ac, pools, s.user, path);
  if (!token->privsep) return user_privs;
  Privileges own = compile(ac, pools, subject, path);
  // root@pam's privsep tokens are not intersected (its privileges are all).
  if (s.user == "root@pam") return own;
  Privileges both;
  for (const auto& [p, propagate] : own) {
    if (auto it = user_privs.find(p); it != user_privs.end()) both[p] = propagate && it->second;
  }
  return both;
}

}  // namespace pvekit::sim
