// Permissions through the API (issue 13): every route checks the schema's
// `permissions`, lists are filtered as PVE filters them, and the /access
// endpoints manage users, tokens, groups, roles and ACLs, including hostile
// attempts to gain privileges.
#include <gtest/gtest.h>

#include "core/clock.h"
#include "sim/api.h"
#include "sim/scenario.h"

namespace pvekit::sim {
namespace {

using core::Json;
using Kind = AclEntry::Kind;

constexpr const char* kAliceCi = "PVEAPIToken=alice@pve!ci=ci-secret";
constexpr const char* kAliceFull = "PVEAPIToken=alice@pve!full=full-secret";
constexpr const char* kBob = "PVEAPIToken=bob@pve!t=bob-secret";
const std::string kRoot = std::string("PVEAPIToken=root@pam!pvekit=") + kDefaultTokenSecret;

Cluster cluster_with_users(double now) {
  Cluster c = default_cluster(now);
  User alice;
  alice.userid = "alice@pve";
  alice.password = "alicepw";
  alice.groups = {"ops"};
  alice.tokens = {{"ci", "ci-secret", "", true, 0}, {"full", "full-secret", "", false, 0}};
  User bob;
  bob.userid = "bob@pve";
  bob.tokens = {{"t", "bob-secret", "", true, 0}};
  c.access.users.push_back(alice);
  c.access.users.push_back(bob);
  c.access.groups = {{"ops", "operators"}};
  c.access.acl = {{"/", Kind::User, "alice@pve", "PVEAuditor", true},
                  {"/vms/100", Kind::User, "alice@pve", "PVEVMAdmin", true},
                  {"/vms", Kind::Token, "alice@pve!ci", "PVEVMAdmin", true}};
  return c;
}

class AccessApiTest : public ::testing::Test {
 protected:
  AccessApiTest() : sim_(cluster_with_users(clock_.now_unix()), clock_), api_(sim_) {}

  ApiResponse call(const std::string& auth, const std::string& method, const std::string& path, Params params = {}) {
    return api_.handle({method, path, std::move(params), {{"authorization", auth}}, {}});
  }
  static Json data(const ApiResponse& r) { return Json::parse(r.text())["data"]; }
  static Json message(const ApiResponse& r) { return Json::parse(r.text())["message"]; }

  core::ManualClock clock_;
  Simulator sim_;
  Api api_;
};

TEST_F(AccessApiTest, ForbiddenIs403WithPvesMessageInTheReasonPhrase) {
  ApiResponse r = call(kAliceCi, "POST", "/nodes/pve1/qemu/100/migrate", {{"target", "pve2"}});
  EXPECT_EQ(r.status, 200) << "the privsep token holds VM.Migrate on /vms and alice on /vms/100: " << r.text();
  r = call(kAliceCi, "POST", "/nodes/pve2/qemu/101/migrate", {{"target", "pve3"}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.reason, "Permission check failed (/vms/101, VM.Migrate)");
  EXPECT_EQ(message(r), "Permission check failed (/vms/101, VM.Migrate)\n");
  EXPECT_TRUE(data(r).is_null());
}

TEST_F(AccessApiTest, RootTokenAndTicketKeepFullRights) {
  EXPECT_EQ(call(kRoot, "GET", "/cluster/ha/resources").status, 200);
  EXPECT_EQ(data(call(kRoot, "GET", "/cluster/resources", {{"type", "vm"}})).size(), 60u);
}

TEST_F(AccessApiTest, ResourcesAndGuestListsShowOnlyWhatOneMayAudit) {
  // bob holds nothing: no guests, no storages, nodes without figures.
  Json res = data(call(kBob, "GET", "/cluster/resources"));
  for (const Json& e : res) {
    EXPECT_EQ(e["type"], "node") << e.dump();
    EXPECT_FALSE(e.contains("maxmem")) << e.dump();
  }
  EXPECT_EQ(res.size(), 5u);
  EXPECT_TRUE(data(call(kBob, "GET", "/nodes/pve1/qemu")).empty());
  // The privsep token: its own /vms ACL, cut to alice's (PVEAuditor on /): all guests.
  EXPECT_EQ(data(call(kAliceCi, "GET", "/cluster/resources", {{"type", "vm"}})).size(), 60u);
}

TEST_F(AccessApiTest, TaskStatusNeedsOwnershipOrSysAudit) {
  ApiResponse r = call(kAliceCi, "POST", "/nodes/pve1/qemu/100/migrate", {{"target", "pve2"}});
  ASSERT_EQ(r.status, 200) << r.text();
  const std::string upid = data(r).get<std::string>();
  EXPECT_EQ(call(kAliceCi, "GET", "/nodes/pve1/tasks/" + upid + "/status").status, 200) << "the owner";
  r = call(kBob, "GET", "/nodes/pve1/tasks/" + upid + "/status");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.reason, "Permission check failed (/nodes/pve1, Sys.Audit)");
  EXPECT_TRUE(data(call(kBob, "GET", "/cluster/tasks")).empty());
}

TEST_F(AccessApiTest, TokenSecretIsShownOnceAndWorks) {
  ApiResponse r = call(kRoot, "POST", "/access/users/bob@pve/token/new", {{"comment", "ci"}});
  ASSERT_EQ(r.status, 200) << r.text();
  const Json created = data(r);
  EXPECT_EQ(created["full-tokenid"], "bob@pve!new");
  EXPECT_EQ(created["info"]["privsep"], 1) << "PVE's API default";
  const std::string secret = created["value"].get<std::string>();
  EXPECT_EQ(secret.size(), 36u);
  const Json read = data(call(kRoot, "GET", "/access/users/bob@pve/token/new"));
  EXPECT_FALSE(read.dump().find(secret) != std::string::npos) << "the secret is never shown again";
  EXPECT_EQ(call("PVEAPIToken=bob@pve!new=" + secret, "GET", "/version").status, 200);
  EXPECT_EQ(call(kRoot, "POST", "/access/users/bob@pve/token/new").reason, "Token already exists.");
  EXPECT_EQ(call(kRoot, "DELETE", "/access/users/bob@pve/token/new").status, 200);
  EXPECT_EQ(call("PVEAPIToken=bob@pve!new=" + secret, "GET", "/version").status, 401);
}

TEST_F(AccessApiTest, ForgedAndForeignTokensAreRefused) {
  for (const char* bad : {"PVEAPIToken=alice@pve!nosuch=ci-secret", "PVEAPIToken=bob@pve!ci=ci-secret",
                          "PVEAPIToken=alice@pve!ci=bob-secret", "PVEAPIToken=alice@pve!ci=", "PVEAPIToken=!=x"}) {
    EXPECT_EQ(call(bad, "GET", "/version").status, 401) << bad;
  }
  // bob may not read or create alice's tokens.
  EXPECT_EQ(call(kBob, "GET", "/access/users/alice@pve/token").status, 403);
  EXPECT_EQ(call(kBob, "POST", "/access/users/alice@pve/token/mine").status, 403);
}

TEST_F(AccessApiTest, PrivsepEscalationGainsNothing) {
  // alice hands her token Administrator on / ... she may not (no Permissions.Modify).
  ApiResponse r = call(kAliceFull, "PUT", "/access/acl",
                       {{"path", "/"}, {"roles", "Administrator"}, {"tokens", "alice@pve!ci"}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.reason, "Permission check failed (/, Permissions.Modify)");
  // ... and when root does, the token still holds no more than alice.
  ASSERT_EQ(call(kRoot, "PUT", "/access/acl", {{"path", "/"}, {"roles", "Administrator"}, {"tokens", "alice@pve!ci"}})
                .status,
            200);
  r = call(kAliceCi, "POST", "/nodes/pve2/qemu/101/migrate", {{"target", "pve3"}});
  EXPECT_EQ(r.reason, "Permission check failed (/vms/101, VM.Migrate)");
  EXPECT_EQ(call(kAliceCi, "PUT", "/cluster/options", {{"description", "x"}}).status, 403);
}

TEST_F(AccessApiTest, OwnAclWithoutPermissionsModifyIsRefused) {
  ApiResponse r = call(kAliceFull, "PUT", "/access/acl",
                       {{"path", "/vms/101"}, {"roles", "PVEVMAdmin"}, {"users", "alice@pve"}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.reason, "Permission check failed (/vms/101, Permissions.Modify|VM.Allocate)");
  // VM.Allocate on /vms/100 lets her hand out what she holds there, not more.
  r = call(kAliceFull, "PUT", "/access/acl", {{"path", "/vms/100"}, {"roles", "Administrator"}, {"users", "bob@pve"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.text().find("requires 'Permissions.Modify' or superset of privileges"), std::string::npos) << r.text();
  EXPECT_EQ(call(kAliceFull, "PUT", "/access/acl", {{"path", "/vms/100"}, {"roles", "PVEVMUser"}, {"users", "bob@pve"}})
                .status,
            200);
}

TEST_F(AccessApiTest, AclPathTraversalAndBadRolesAreRefused) {
  for (const char* path : {"/vms/../", "/vms/..", "/../access", "/vms/100/../../access", "/etc/pve"}) {
    ApiResponse r = call(kRoot, "PUT", "/access/acl", {{"path", path}, {"roles", "PVEAuditor"}, {"users", "bob@pve"}});
    EXPECT_EQ(r.status, 400) << path;
    EXPECT_NE(r.text().find("invalid ACL path"), std::string::npos) << r.text();
  }
  ApiResponse r = call(kRoot, "PUT", "/access/acl", {{"path", "/"}, {"roles", "NoSuchRole"}, {"users", "bob@pve"}});
  EXPECT_EQ(r.reason, "role 'NoSuchRole' does not exist");
  r = call(kRoot, "POST", "/access/roles", {{"roleid", std::string(10000, 'R')}});
  EXPECT_EQ(r.status, 400);
  EXPECT_LT(r.text().size(), 1000u) << "a huge name is not echoed whole";
  EXPECT_EQ(call(kRoot, "POST", "/access/roles", {{"roleid", "x y"}}).status, 400);
  EXPECT_EQ(call(kRoot, "POST", "/access/roles", {{"roleid", "Mig"}, {"privs", "VM.Migrate,Root.Everything"}}).status,
            400);
  EXPECT_EQ(call(kRoot, "PUT", "/access/roles/PVEAdmin", {{"privs", "Sys.Modify"}}).status, 500)
      << "built-in roles cannot change";
}

TEST_F(AccessApiTest, DeletingRootIsRefused) {
  EXPECT_EQ(call(kAliceFull, "DELETE", "/access/users/root@pam").status, 403);
  ApiResponse r = call(kRoot, "DELETE", "/access/users/root@pam");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(call(kRoot, "GET", "/version").status, 200);
}

TEST_F(AccessApiTest, UsersGroupsRolesAndPermissionsEndpoints) {
  ASSERT_EQ(call(kRoot, "POST", "/access/users", {{"userid", "carol@pve"}, {"password", "pw"}, {"groups", "ops"}}).status,
            200);
  EXPECT_EQ(call(kRoot, "POST", "/access/users", {{"userid", "carol@pve"}}).reason,
            "create user failed: user 'carol@pve' already exists");
  Json users = data(call(kRoot, "GET", "/access/users", {{"full", "1"}}));
  EXPECT_EQ(users.size(), 4u);
  // bob sees only himself.
  users = data(call(kBob, "GET", "/access/users"));
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0]["userid"], "bob@pve");
  Json group = data(call(kRoot, "GET", "/access/groups/ops"));
  EXPECT_EQ(group["members"], Json({"alice@pve", "carol@pve"}));
  ASSERT_EQ(call(kRoot, "POST", "/access/roles", {{"roleid", "Balancer"}, {"privs", "VM.Audit,VM.Migrate,Sys.Audit"}})
                .status,
            200);
  Json role = data(call(kRoot, "GET", "/access/roles/Balancer"));
  EXPECT_EQ(role, Json({{"Sys.Audit", 1}, {"VM.Audit", 1}, {"VM.Migrate", 1}}));
  ASSERT_EQ(call(kRoot, "PUT", "/access/acl", {{"path", "/vms"}, {"roles", "Balancer"}, {"users", "carol@pve"}}).status,
            200);
  Json acl = data(call(kRoot, "GET", "/access/acl"));
  EXPECT_NE(acl.dump().find(R"("path":"/vms","propagate":1,"roleid":"Balancer","type":"user","ugid":"carol@pve")"),
            std::string::npos)
      << acl.dump();
  Json perms = data(call(kRoot, "GET", "/access/permissions", {{"userid", "carol@pve"}, {"path", "/vms/100"}}));
  EXPECT_EQ(perms, Json({{"/vms/100", {{"Sys.Audit", 1}, {"VM.Audit", 1}, {"VM.Migrate", 1}}}}));
  // Others' permissions need Sys.Audit on /access; one's own tokens' do not.
  EXPECT_EQ(call(kBob, "GET", "/access/permissions", {{"userid", "carol@pve"}}).status, 403);
  EXPECT_EQ(call(kAliceFull, "GET", "/access/permissions", {{"userid", "alice@pve!ci"}}).status, 200);
  ASSERT_EQ(call(kRoot, "PUT", "/access/acl",
                 {{"path", "/vms"}, {"roles", "Balancer"}, {"users", "carol@pve"}, {"delete", "1"}})
                .status,
            200);
  EXPECT_TRUE(data(call(kRoot, "GET", "/access/permissions", {{"userid", "carol@pve"}, {"path", "/vms/100"}}))["/vms/100"]
                  .empty());
}

}  // namespace
}  // namespace pvekit::sim
