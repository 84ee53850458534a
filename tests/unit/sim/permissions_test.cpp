// PVE's privilege model (sim/permissions.h, sim/perm_check.h): built-in
// roles, ACL resolution along paths, privilege separation of API tokens and
// the schema's check expressions. Expected values come from
// pve-access-control (AccessControl.pm roles/create_roles,
// RPCEnvironment.pm permissions/check/check_any/exec_api2_perm_check).
#include <gtest/gtest.h>

#include <random>

#include "sim/perm_check.h"
#include "sim/permissions.h"

namespace pvekit::sim {
namespace {

using core::Json;
using Kind = AclEntry::Kind;

User user(const std::string& id, std::vector<std::string> groups = {}, std::vector<ApiToken> tokens = {}) {
  User u;
  u.userid = id;
  u.groups = std::move(groups);
  u.tokens = std::move(tokens);
  return u;
}

ApiToken token(const std::string& id, bool privsep) { return {id, "secret-" + id, "", privsep, 0}; }

std::set<std::string> held(const AccessControl& ac, const std::string& subject, const std::string& path,
                           const PoolMembers& pools = {}) {
  std::set<std::string> out;
  for (const auto& [p, propagate] : permissions(ac, pools, subject, path)) out.insert(p);
  return out;
}

std::set<std::string> role(const std::string& name) {
  const auto& r = builtin_roles().at(name);
  return {r.begin(), r.end()};
}

TEST(BuiltinRolesTest, MatchPve91) {
  EXPECT_EQ(all_privileges().size(), 47u) << "the privileges GET /access/roles/Administrator lists in PVE 9.1";
  EXPECT_TRUE(builtin_roles().at("NoAccess").empty());
  EXPECT_EQ(role("PVEVMUser"), (std::set<std::string>{"VM.Audit", "VM.Backup", "VM.Config.CDROM", "VM.Config.Cloudinit",
                                                       "VM.Console", "VM.GuestAgent.Audit", "VM.GuestAgent.FileRead",
                                                       "VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite",
                                                       "VM.PowerMgmt"}));
  EXPECT_EQ(role("PVEAuditor"), (std::set<std::string>{"Datastore.Audit", "Mapping.Audit", "Pool.Audit", "SDN.Audit",
                                                        "Sys.Audit", "VM.Audit", "VM.GuestAgent.Audit"}));
  EXPECT_EQ(role("PVETemplateUser"), (std::set<std::string>{"VM.Audit", "VM.Clone"}));
  EXPECT_EQ(role("PVESysAdmin"), (std::set<std::string>{"Sys.Audit", "Sys.Console", "Sys.Syslog"}));
  EXPECT_EQ(role("PVEUserAdmin"), (std::set<std::string>{"Group.Allocate", "Realm.AllocateUser", "User.Modify"}));
  EXPECT_EQ(role("PVESDNUser"), (std::set<std::string>{"SDN.Audit", "SDN.Use"}));
  EXPECT_EQ(role("PVEMappingAdmin"), (std::set<std::string>{"Mapping.Audit", "Mapping.Modify", "Mapping.Use"}));
  for (const char* r : {"PVEDatastoreAdmin", "PVEDatastoreUser", "PVEPoolAdmin", "PVEPoolUser", "PVESDNAdmin",
                        "PVEMappingUser", "PVEVMAdmin", "PVEAdmin", "Administrator"}) {
    EXPECT_TRUE(builtin_roles().count(r)) << r;
  }
  EXPECT_FALSE(builtin_roles().count("PVESysUser")) << "no user-level Sys privileges, so no such role";
  const auto admin = role("PVEAdmin");
  for (const char* p : {"Mapping.Modify", "Permissions.Modify", "Sys.Modify", "Sys.PowerMgmt", "Realm.Allocate"}) {
    EXPECT_FALSE(admin.count(p)) << p;
  }
  EXPECT_TRUE(admin.count("VM.Migrate"));
}

TEST(PermissionsTest, RootHasEverythingAnywhere) {
  AccessControl ac;
  EXPECT_EQ(held(ac, "root@pam", "/vms/12345").size(), all_privileges().size());
}

TEST(PermissionsTest, PropagateZeroAppliesOnlyAtTheExactPath) {
  AccessControl ac;
  ac.users = {user("alice@pve")};
  ac.acl = {{"/vms", Kind::User, "alice@pve", "PVEVMUser", false}};
  EXPECT_TRUE(held(ac, "alice@pve", "/vms").count("VM.PowerMgmt"));
  EXPECT_TRUE(held(ac, "alice@pve", "/vms/100").empty());
  ac.acl[0].propagate = true;
  EXPECT_TRUE(held(ac, "alice@pve", "/vms/100").count("VM.PowerMgmt"));
}

TEST(PermissionsTest, MoreSpecificPathOverrides) {
  AccessControl ac;
  ac.users = {user("alice@pve")};
  ac.acl = {{"/", Kind::User, "alice@pve", "PVEAdmin", true}, {"/vms/100", Kind::User, "alice@pve", "PVEAuditor", true}};
  EXPECT_TRUE(held(ac, "alice@pve", "/vms/101").count("VM.Migrate"));
  EXPECT_FALSE(held(ac, "alice@pve", "/vms/100").count("VM.Migrate"));
  EXPECT_TRUE(held(ac, "alice@pve", "/vms/100").count("VM.Audit"));
}

TEST(PermissionsTest, NoAccessRemovesEverything) {
  AccessControl ac;
  ac.users = {user("alice@pve")};
  ac.acl = {{"/", Kind::User, "alice@pve", "Administrator", true},
            {"/vms/100", Kind::User, "alice@pve", "NoAccess", true},
            {"/vms/100", Kind::User, "alice@pve", "PVEVMAdmin", true}};
  EXPECT_TRUE(held(ac, "alice@pve", "/vms/100").empty());
  EXPECT_FALSE(held(ac, "alice@pve", "/vms/101").empty());
}

TEST(PermissionsTest, GroupMembershipGrantsAndUserEntriesWin) {
  AccessControl ac;
  ac.users = {user("alice@pve", {"ops"}), user("bob@pve")};
  ac.groups = {{"ops", ""}};
  ac.acl = {{"/vms", Kind::Group, "ops", "PVEVMAdmin", true}};
  EXPECT_TRUE(held(ac, "alice@pve", "/vms/100").count("VM.Migrate"));
  EXPECT_TRUE(held(ac, "bob@pve", "/vms/100").empty()) << "not a member";
  ac.acl.push_back({"/vms", Kind::User, "alice@pve", "PVEAuditor", true});
  EXPECT_FALSE(held(ac, "alice@pve", "/vms/100").count("VM.Migrate")) << "a user entry beats a group entry";
}

TEST(PermissionsTest, PoolMembersInheritThePoolsRoles) {
  AccessControl ac;
  ac.users = {user("alice@pve")};
  ac.acl = {{"/pool/prod", Kind::User, "alice@pve", "PVEVMUser", true}};
  const PoolMembers pools = {{"/vms/100", "prod"}};
  EXPECT_TRUE(held(ac, "alice@pve", "/vms/100", pools).count("VM.PowerMgmt"));
  EXPECT_TRUE(held(ac, "alice@pve", "/vms/101", pools).empty());
}

TEST(PermissionsTest, TokensWithAndWithoutPrivilegeSeparation) {
  AccessControl ac;
  ac.users = {user("alice@pve", {}, {token("full", false), token("sep", true)}), user("bob@pve", {}, {token("t", true)})};
  ac.acl = {{"/vms", Kind::User, "alice@pve", "PVEVMAdmin", true}};
  EXPECT_EQ(held(ac, "alice@pve!full", "/vms/100"), held(ac, "alice@pve", "/vms/100"));
  EXPECT_TRUE(held(ac, "alice@pve!sep", "/vms/100").empty()) << "a privsep token has only its own ACLs";
  ac.acl.push_back({"/", Kind::Token, "alice@pve!sep", "Administrator", true});
  EXPECT_EQ(held(ac, "alice@pve!sep", "/vms/100"), held(ac, "alice@pve", "/vms/100"))
      << "a token ACL granting more than its user is cut down to the user's privileges";
  EXPECT_TRUE(held(ac, "alice@pve!sep", "/nodes/pve1").empty());
  EXPECT_TRUE(held(ac, "alice@pve!nosuch", "/vms/100").empty()) << "unknown token";
  EXPECT_TRUE(held(ac, "bob@pve!sep", "/vms/100").empty()) << "another user's token name";
  ac.acl.push_back({"/", Kind::Token, "bob@pve!t", "Administrator", true});
  EXPECT_TRUE(held(ac, "bob@pve!t", "/vms/100").empty()) << "bob holds nothing himself";
  ac.users[0].enable = false;
  EXPECT_TRUE(held(ac, "alice@pve!full", "/vms/100").empty()) << "a disabled user's tokens have nothing";
}

// Property: for random ACLs, a privsep token never holds a privilege its
// user does not, and a token without privsep holds exactly its user's.
TEST(PermissionsTest, PrivsepTokenIsAlwaysASubsetOfItsUser) {
  std::mt19937 rng(13);
  const std::vector<std::string> paths = {"/", "/vms", "/vms/100", "/vms/101", "/nodes", "/nodes/pve1", "/storage",
                                          "/storage/local", "/pool/prod"};
  std::vector<std::string> roles;
  for (const auto& [name, privs] : builtin_roles()) roles.push_back(name);
  auto pick = [&](const auto& v) { return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)]; };
  for (int round = 0; round < 300; ++round) {
    AccessControl ac;
    ac.users = {user("alice@pve", {"ops"}, {token("sep", true), token("full", false)})};
    ac.groups = {{"ops", ""}};
    const int entries = std::uniform_int_distribution<int>(0, 8)(rng);
    for (int i = 0; i < entries; ++i) {
      const int kind = std::uniform_int_distribution<int>(0, 2)(rng);
      const std::string ugid = kind == 0 ? "alice@pve" : kind == 1 ? "ops" : "alice@pve!sep";
      ac.acl.push_back({pick(paths), static_cast<Kind>(kind), ugid, pick(roles), rng() % 2 == 0});
    }
    const PoolMembers pools = {{"/vms/100", "prod"}};
    for (const std::string& path : paths) {
      const auto u = held(ac, "alice@pve", path, pools);
      const auto sep = held(ac, "alice@pve!sep", path, pools);
      for (const std::string& p : sep) ASSERT_TRUE(u.count(p)) << "round " << round << " " << path << " " << p;
      ASSERT_EQ(held(ac, "alice@pve!full", path, pools), u) << "round " << round << " " << path;
    }
  }
}

TEST(AclPathTest, NormalisesAndRefusesTraversal) {
  EXPECT_EQ(normalize_acl_path("//vms//100/"), "/vms/100");
  EXPECT_EQ(normalize_acl_path("vms"), "/vms");
  EXPECT_EQ(normalize_acl_path("/"), "/");
  EXPECT_FALSE(normalize_acl_path("/vms/1 00"));
  EXPECT_FALSE(normalize_acl_path(""));
  for (const char* bad : {"/vms/..", "/vms/../", "/vms/../access", "/storage/.", "/vms/99", "/vms/abc", "/etc/passwd",
                          "/nodes/pve1/x"}) {
    const auto path = normalize_acl_path(bad);
    EXPECT_FALSE(path && valid_acl_path(*path)) << bad;
  }
  for (const char* good : {"/", "/vms", "/vms/100", "/nodes/pve1", "/storage/local-lvm", "/pool/prod", "/access/groups/ops",
                           "/sdn/zones/localnetwork/vmbr0", "/access/realm/pve"}) {
    EXPECT_TRUE(valid_acl_path(good)) << good;
  }
  EXPECT_FALSE(valid_acl_path("/nodes/" + std::string(100000, 'a')));
}

TEST(RoleNameTest, RefusesHugeAndInvalidNames) {
  EXPECT_TRUE(valid_role_name("Balancer.v2_x-1"));
  EXPECT_FALSE(valid_role_name(""));
  EXPECT_FALSE(valid_role_name(std::string(65, 'a')));
  EXPECT_FALSE(valid_role_name("bad role"));
  EXPECT_FALSE(valid_role_name("x/../y"));
}

class CheckTest : public ::testing::Test {
 protected:
  CheckTest() {
    ac_.users = {user("alice@pve", {"ops"}), user("bob@pve", {"dev"})};
    ac_.groups = {{"ops", ""}, {"dev", ""}};
    ac_.acl = {{"/vms/100", Kind::User, "alice@pve", "PVEAuditor", true},
               {"/access/groups/dev", Kind::User, "alice@pve", "PVEUserAdmin", true}};
  }
  core::Status check(const std::string& subject, const Json& perm, Params params = {}) {
    return check_api_permissions(perm, PermissionEnv{ac_, pools_, subject}, params);
  }
  AccessControl ac_;
  PoolMembers pools_;
};

TEST_F(CheckTest, PermNamesPathAndPrivilegeAsPve) {
  const Json perm = {{"check", {"perm", "/vms/{vmid}", {"VM.Migrate"}}}};
  auto s = check("alice@pve", perm, {{"vmid", "100"}});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().http_status(), 403);
  EXPECT_EQ(s.error().message(), "Permission check failed (/vms/100, VM.Migrate)");
  EXPECT_TRUE(check("root@pam", perm, {{"vmid", "100"}}).ok());
  EXPECT_TRUE(check("alice@pve", {{"check", {"perm", "/vms/{vmid}", {"VM.Audit"}}}}, {{"vmid", "100"}}).ok());
}

TEST_F(CheckTest, AnyJoinsPrivilegesWithBars) {
  const Json perm = {{"check", {"perm", "/storage/{storage}", {"Datastore.Audit", "Datastore.AllocateSpace"}, "any", 1}}};
  auto s = check("alice@pve", perm, {{"storage", "local"}});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "Permission check failed (/storage/local, Datastore.Audit|Datastore.AllocateSpace)");
}

TEST_F(CheckTest, AndOrUserAllWorldAndNone) {
  const Json both = {{"check", {"and", {"perm", "/vms/100", {"VM.Audit"}}, {"perm", "/", {"Sys.Audit"}}}}};
  EXPECT_EQ(check("alice@pve", both).error().message(), "Permission check failed (/, Sys.Audit)");
  const Json either = {{"check", {"or", {"perm", "/", {"Sys.Audit"}}, {"perm", "/vms/100", {"VM.Audit"}}}}};
  EXPECT_TRUE(check("alice@pve", either).ok());
  const Json neither = {{"check", {"or", {"perm", "/", {"Sys.Audit"}}, {"perm", "/nodes", {"Sys.Audit"}}}}};
  EXPECT_EQ(check("alice@pve", neither).error().message(), "Permission check failed");
  EXPECT_TRUE(check("alice@pve", {{"user", "all"}}).ok());
  EXPECT_TRUE(check("", {{"user", "world"}}).ok());
  EXPECT_EQ(check("alice@pve", nullptr).error().message(), "Permission check failed (user != root@pam)");
  EXPECT_TRUE(check("root@pam", nullptr).ok());
}

TEST_F(CheckTest, UseridParamAndGroup) {
  const Json self = {{"check", {"or", {"userid-param", "self"}, {"userid-group", {"User.Modify"}}}}};
  EXPECT_TRUE(check("alice@pve", self, {{"userid", "alice@pve"}}).ok());
  EXPECT_TRUE(check("alice@pve", self, {{"userid", "bob@pve"}}).ok()) << "User.Modify on bob's group";
  EXPECT_FALSE(check("bob@pve", self, {{"userid", "alice@pve"}}).ok());
  const Json create = {{"check", {"userid-group", {"User.Modify"}, "groups_param", "create"}}};
  EXPECT_TRUE(check("alice@pve", create, {{"userid", "new@pve"}, {"groups", "dev"}}).ok());
  EXPECT_EQ(check("alice@pve", create, {{"userid", "new@pve"}, {"groups", "ops"}}).error().message(),
            "Permission check failed (/access/groups/ops, User.Modify)");
  EXPECT_EQ(check("alice@pve", create, {{"userid", "new@pve"}}).error().message(),
            "Permission check failed (/access/groups, User.Modify)");
}

TEST_F(CheckTest, PermModifyWithoutPermissionsModifyIsRefused) {
  const Json perm = {{"check", {"perm-modify", "{path}"}}};
  EXPECT_EQ(check("alice@pve", perm, {{"path", "/vms/100"}}).error().message(),
            "Permission check failed (/vms/100, Permissions.Modify|VM.Allocate)");
  ac_.acl.push_back({"/vms/100", Kind::User, "alice@pve", "PVEVMAdmin", true});
  EXPECT_TRUE(check("alice@pve", perm, {{"path", "/vms/100"}}).ok()) << "VM.Allocate suffices on /vms/<id>";
}

}  // namespace
}  // namespace pvekit::sim
