#include <gtest/gtest.h>

#include "oci/commands.h"

namespace pvekit::oci {
namespace {

Json base_process() {
  return Json::parse(R"({"terminal": false, "user": {"uid": 0, "gid": 0}, "args": ["sh"],
                         "env": ["PATH=/bin", "TERM=xterm"], "cwd": "/",
                         "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"],
                                          "permitted": ["CAP_KILL"]},
                         "noNewPrivileges": false})");
}

TEST(ExecUser, ParsesUidAndOptionalGid) {
  auto both = parse_exec_user("1000:100");
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->first, 1000u);
  EXPECT_EQ(both->second, 100u);
  auto uid_only = parse_exec_user("7");
  ASSERT_TRUE(uid_only.ok());
  EXPECT_EQ(uid_only->first, 7u);
  EXPECT_FALSE(uid_only->second.has_value());
  for (const char* bad : {"", "root", "1:2:3", "-1", "1:x", "99999999999"}) {
    auto r = parse_exec_user(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().to_string().find("--user"), std::string::npos) << bad;
  }
}

TEST(ExecProcess, FlagsShapeTheContainersProcess) {
  ExecOptions o;
  o.args = {"ls", "-l"};
  o.tty = true;
  o.env = {"A=1"};
  o.cwd = "/tmp";
  o.user = "1000:1000";
  o.additional_gids = {10, 20};
  o.caps = {"CAP_NET_ADMIN"};
  o.no_new_privs = true;
  o.apparmor = "docker-default";
  o.process_label = "system_u:system_r:container_t:s0";
  auto p = exec_process_json(base_process(), o, std::nullopt);
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  EXPECT_EQ((*p)["args"], Json::parse(R"(["ls", "-l"])"));
  EXPECT_EQ((*p)["terminal"], true);
  EXPECT_EQ((*p)["env"], Json::parse(R"(["PATH=/bin", "TERM=xterm", "A=1"])"));
  EXPECT_EQ((*p)["cwd"], "/tmp");
  EXPECT_EQ((*p)["user"]["uid"], 1000);
  EXPECT_EQ((*p)["user"]["gid"], 1000);
  EXPECT_EQ((*p)["user"]["additionalGids"], Json::parse("[10, 20]"));
  for (const char* set : {"bounding", "effective", "permitted"})
    EXPECT_EQ((*p)["capabilities"][set], Json::parse(R"(["CAP_KILL", "CAP_NET_ADMIN"])")) << set;
  EXPECT_FALSE((*p)["capabilities"].contains("ambient")) << "no inheritable set, so no ambient (runc)";
  EXPECT_EQ((*p)["noNewPrivileges"], true);
  EXPECT_EQ((*p)["apparmorProfile"], "docker-default") << "runc's --apparmor";
  EXPECT_EQ((*p)["selinuxLabel"], "system_u:system_r:container_t:s0") << "runc's --process-label";
}

TEST(ExecProcess, UnsetFlagsKeepTheContainersValues) {
  ExecOptions o;
  o.args = {"true"};
  auto p = exec_process_json(base_process(), o, std::nullopt);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)["cwd"], "/");
  EXPECT_EQ((*p)["user"]["uid"], 0);
  EXPECT_EQ((*p)["noNewPrivileges"], false);
  EXPECT_EQ((*p)["terminal"], false);
  EXPECT_EQ((*p)["env"].size(), 2u);
}

TEST(ExecProcess, CapAlsoGoesToAmbientWhenInheritableIsSet) {
  Json base = base_process();
  base["capabilities"]["inheritable"] = {"CAP_KILL"};
  ExecOptions o;
  o.args = {"true"};
  o.caps = {"CAP_CHOWN"};
  auto p = exec_process_json(base, o, std::nullopt);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)["capabilities"]["ambient"], Json::parse(R"(["CAP_CHOWN"])"));
}

TEST(ExecProcess, ProcessFileIsTakenAsItIs) {
  ExecOptions o;
  o.tty = true;  // ignored with --process, as in runc
  o.env = {"IGNORED=1"};
  Json file = Json::parse(R"({"args": ["echo", "hi"], "cwd": "/", "env": []})");
  auto p = exec_process_json(base_process(), o, file);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, file);
}

TEST(ExecProcess, NoCommandIsAnError) {
  auto p = exec_process_json(base_process(), ExecOptions{}, std::nullopt);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().to_string().find("no command"), std::string::npos);
}

TEST(ExecProcess, BadUserIsAnErrorNamingTheFlag) {
  ExecOptions o;
  o.args = {"true"};
  o.user = "nobody";
  auto p = exec_process_json(base_process(), o, std::nullopt);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().to_string().find("--user"), std::string::npos);
}

}  // namespace
}  // namespace pvekit::oci
