#include "balance/privileges.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "balance/fake_cluster.h"
#include "balance/snapshot_reader.h"

namespace pvekit::balance {
namespace {

// The answer of GET /access/permissions for the documented role on /.
core::Json full_role() { return testing::FakeCluster().permissions; }

std::vector<std::string> names(const std::vector<RequiredPrivilege>& list) {
  std::vector<std::string> out;
  for (const auto& p : list) out.push_back(p.privilege + " " + p.path);
  return out;
}

TEST(RequiredPrivileges, ReadingNeedsTheAuditsBalancingAlsoMigrateAndConsole) {
  EXPECT_EQ(names(required_privileges(PrivilegeUse::Read)),
            (std::vector<std::string>{"Sys.Audit /", "VM.Audit /vms", "Datastore.Audit /storage", "Pool.Audit /pool"}));
  EXPECT_EQ(names(required_privileges(PrivilegeUse::Balance)),
            (std::vector<std::string>{"Sys.Audit /", "VM.Audit /vms", "Datastore.Audit /storage", "Pool.Audit /pool",
                                      "VM.Migrate /vms", "Sys.Console /"}));
}

TEST(MissingPrivileges, TheDocumentedRoleLacksNothing) {
  auto missing = missing_privileges(full_role(), PrivilegeUse::Balance);
  ASSERT_TRUE(missing) << missing.error().to_string();
  EXPECT_TRUE(missing->empty()) << ::testing::PrintToString(names(*missing));
}

TEST(MissingPrivileges, EachOneTakenAwayIsNamed) {
  for (const auto& need : required_privileges(PrivilegeUse::Balance)) {
    core::Json held = full_role();
    for (auto& privs : held) privs.erase(need.privilege);
    auto missing = missing_privileges(held, PrivilegeUse::Balance);
    ASSERT_TRUE(missing);
    EXPECT_EQ(names(*missing), std::vector<std::string>{need.privilege + " " + need.path});
  }
}

TEST(MissingPrivileges, HiddenObjectsNeedThePrivilegePropagated) {
  // An ACL with propagate=0 on /vms grants VM.Audit on /vms only, not on
  // /vms/<id>: PVE hides every guest.
  core::Json held = full_role();
  held["/vms"]["VM.Audit"] = 0;
  auto missing = missing_privileges(held, PrivilegeUse::Read);
  ASSERT_TRUE(missing);
  EXPECT_EQ(names(*missing), std::vector<std::string>{"VM.Audit /vms"});
  // Sys.Console is checked on / itself: not propagated is enough.
  held = full_role();
  held["/"]["Sys.Console"] = 0;
  missing = missing_privileges(held, PrivilegeUse::Balance);
  ASSERT_TRUE(missing);
  EXPECT_TRUE(missing->empty());
}

TEST(MissingPrivileges, AnAclOnOnePoolIsNotTheWholeCluster) {
  // The role on /pool/apps only: PVE shows the pool's guests, proxlb would
  // plan without all the others.
  core::Json pool_only = {{"/pool/apps", full_role()["/"]}, {"/vms/100", {{"VM.Audit", 1}, {"VM.Migrate", 1}}}};
  auto missing = missing_privileges(pool_only, PrivilegeUse::Read);
  ASSERT_TRUE(missing);
  EXPECT_EQ(names(*missing), (std::vector<std::string>{"Sys.Audit /", "VM.Audit /vms", "Datastore.Audit /storage",
                                                       "Pool.Audit /pool"}));
}

TEST(RequirePrivileges, TheErrorNamesPrivilegePathAndWhatProxlbWouldMiss) {
  core::Json held = full_role();
  held["/vms"].erase("VM.Audit");
  held["/"].erase("VM.Audit");
  held["/pool"].erase("VM.Audit");
  held.erase("/storage");
  auto refused = require_privileges(held, PrivilegeUse::Read, "the API token proxlb@pve!balance");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().category(), core::ErrorCategory::Auth);
  const std::string text = refused.error().to_string();
  EXPECT_NE(text.find("the API token proxlb@pve!balance lacks VM.Audit on /vms (propagated): proxlb would see only "
                      "part of the guests"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("lacks Datastore.Audit on /storage (propagated)"), std::string::npos) << text;
  EXPECT_NE(text.find("docs/proxlb-config.md"), std::string::npos) << text;
  EXPECT_TRUE(require_privileges(full_role(), PrivilegeUse::Balance, "x"));
}

TEST(MissingPrivileges, HostileAnswersAreParseErrors) {
  for (const core::Json& bad : {core::Json::array(), core::Json("all"), core::Json(nullptr),
                                core::Json{{"/vms", core::Json::array({"VM.Audit"})}},
                                core::Json{{"/vms", {{"VM.Audit", "yes"}}}}}) {
    auto missing = missing_privileges(bad, PrivilegeUse::Read);
    ASSERT_FALSE(missing) << bad.dump();
    EXPECT_EQ(missing.error().category(), core::ErrorCategory::Parse) << bad.dump();
  }
}

TEST(CheckPrivileges, AsksPveOnceAndNamesTheToken) {
  testing::FakeCluster cluster;
  cluster.permissions["/"].erase("Pool.Audit");
  cluster.permissions["/pool"].erase("Pool.Audit");
  auto refused = check_privileges(cluster.client(), PrivilegeUse::Read);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().to_string().find("the API token root@pam!test lacks Pool.Audit on /pool (propagated)"),
            std::string::npos)
      << refused.error().to_string();
  EXPECT_EQ(cluster.transport().requests().size(), 1u);
  EXPECT_EQ(cluster.transport().requests_to("/access/permissions").size(), 1u);
  cluster.permissions = full_role();
  EXPECT_TRUE(check_privileges(cluster.client(), PrivilegeUse::Balance));
}

}  // namespace
}  // namespace pvekit::balance
