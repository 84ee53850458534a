#include "oci/linux/lsm.h"

#include <gtest/gtest.h>

#include "oci/linux/mounts.h"

namespace pvekit::oci::linux {
namespace {

Spec spec_with(const std::string& apparmor, const std::string& selinux, const std::string& mount_label) {
  Spec s;
  s.process = Process{};
  s.process->apparmor_profile = apparmor;
  s.process->selinux_label = selinux;
  s.linux = LinuxConfig{};
  s.linux->mount_label = mount_label;
  return s;
}

TEST(Lsm, LabelsTheHostCannotApplyAreRefusedByFieldOrWarnedAbout) {
  struct Case {
    Spec spec;
    LsmSupport support;
    std::string refused;  // field named by the error; empty: accepted
  };
  const Case cases[] = {
      {spec_with("", "", ""), {}, ""},
      {spec_with("docker-default", "", ""), {}, "process.apparmorProfile"},
      {spec_with("docker-default", "", ""), {.apparmor = true}, ""},
      {spec_with("", "system_u:system_r:container_t:s0", ""), {.apparmor = true}, "process.selinuxLabel"},
      {spec_with("", "", "system_u:object_r:container_file_t:s0"), {}, "linux.mountLabel"},
      {spec_with("p", "l", "m"), {.apparmor = true, .selinux = true}, ""},
  };
  for (const auto& c : cases) {
    std::vector<std::string> warnings;
    auto refused = check_lsm_requests(c.spec, c.support, LsmPolicy::Refuse, warnings);
    EXPECT_TRUE(warnings.empty());
    if (c.refused.empty()) {
      EXPECT_TRUE(refused.ok()) << refused.error().to_string();
    } else {
      ASSERT_FALSE(refused.ok()) << c.refused;
      EXPECT_NE(refused.error().to_string().find(c.refused), std::string::npos) << refused.error().to_string();
      EXPECT_NE(refused.error().to_string().find("unconfined"), std::string::npos);
    }
    auto warned = check_lsm_requests(c.spec, c.support, LsmPolicy::Warn, warnings);
    EXPECT_TRUE(warned.ok());
    EXPECT_EQ(warnings.size(), c.refused.empty() ? 0u : 1u) << c.refused;
  }
}

TEST(Lsm, ExecLabelsAreWrittenWhereRuncWritesThem) {
  Process p;
  p.apparmor_profile = "docker-default";
  p.selinux_label = "system_u:system_r:container_t:s0";
  auto both = exec_labels(p, {.apparmor = true, .selinux = true}, true);
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0].path, "/proc/self/attr/apparmor/exec");
  EXPECT_EQ(both[0].content, "exec docker-default");
  EXPECT_EQ(both[1].path, "/proc/self/attr/exec");
  EXPECT_EQ(both[1].content, "system_u:system_r:container_t:s0");
  EXPECT_NE(both[0].what.find("process.apparmorProfile"), std::string::npos) << "errors name the field";
  EXPECT_NE(both[0].what.find("docker-default"), std::string::npos) << "and the profile";
  EXPECT_NE(both[1].what.find("process.selinuxLabel"), std::string::npos);
  EXPECT_EQ(exec_labels(p, {.apparmor = true}, false).at(0).path, "/proc/self/attr/exec") << "kernels before 5.8";
  EXPECT_TRUE(exec_labels(p, {}, true).empty()) << "nothing the host cannot apply (warn policy)";
}

TEST(Lsm, MountLabelGoesToTmpfsDevptsAndMqueueOnly) {
  auto spec = parse_spec(Json::parse(R"({
    "ociVersion": "1.0.2", "process": {"args": ["sh"], "cwd": "/"}, "root": {"path": "rootfs"},
    "mounts": [
      {"destination": "/proc", "type": "proc", "source": "proc"},
      {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["mode=755"]},
      {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue"},
      {"destination": "/data", "type": "bind", "source": "/srv", "options": ["rbind"]}
    ],
    "linux": {"namespaces": [{"type": "mount"}], "mountLabel": "system_u:object_r:container_file_t:s0"}
  })"));
  ASSERT_TRUE(spec.ok()) << spec.error().to_string();
  EXPECT_EQ(effective_mount_label(*spec->linux, {}), "");
  std::string label = effective_mount_label(*spec->linux, {.selinux = true});
  auto ops = plan_mounts(*spec, MountContext{.rootfs = "/r", .mount_label = label});
  std::map<std::string, std::string> data;
  for (const auto& op : ops)
    if (op.kind == MountOp::Kind::Mount) data[op.target] = op.flags.data;
  EXPECT_EQ(data["/proc"], "");
  EXPECT_EQ(data["/dev"], "mode=755,context=\"system_u:object_r:container_file_t:s0\"");
  EXPECT_EQ(data["/dev/mqueue"], "context=\"system_u:object_r:container_file_t:s0\"");
  EXPECT_EQ(data["/data"], "");
}

}  // namespace
}  // namespace pvekit::oci::linux
