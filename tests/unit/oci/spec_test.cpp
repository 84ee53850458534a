#include "oci/spec.h"
#include "support/spec_config.h"

#include <gtest/gtest.h>

namespace pvekit::oci {
namespace {

using testing::base_config;

TEST(SpecParse, ValidConfigParsesEveryField) {
  Json j = base_config();
  j["linux"]["resources"] = Json::parse(R"({"memory": {"limit": 1048576}, "pids": {"limit": 10},
      "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"},
      "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}]})");
  j["linux"]["seccomp"] = Json::parse(R"({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                    "args": [{"index": 1, "value": 493, "op": "SCMP_CMP_EQ"}]}]})");
  j["linux"]["maskedPaths"] = {"/proc/kcore"};
  j["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
  j["hooks"] = Json::parse(R"({"poststop": [{"path": "/bin/true", "args": ["true"], "timeout": 5}]})");
  j["annotations"] = {{"a", "b"}};
  auto spec = parse_spec(j);
  ASSERT_TRUE(spec.ok()) << spec.error().to_string();
  EXPECT_EQ(spec->process->args, std::vector<std::string>{"sh"});
  EXPECT_TRUE(spec->root.readonly);
  EXPECT_EQ(spec->mounts.at(0).destination, "/proc");
  EXPECT_EQ(*spec->linux->resources->memory->limit, 1048576);
  EXPECT_EQ(*spec->linux->resources->pids_limit, 10);
  EXPECT_EQ(spec->linux->resources->cpu->cpus, "0");
  EXPECT_EQ(*spec->linux->resources->devices.at(1).major, 1);
  EXPECT_FALSE(spec->linux->resources->devices.at(0).major.has_value());
  EXPECT_EQ(spec->linux->seccomp->syscalls.at(0).args.at(0).value, 493u);
  EXPECT_EQ(*spec->hooks.poststop.at(0).timeout, 5);
  EXPECT_EQ(spec->annotations.at("a"), "b");
  EXPECT_EQ(spec->linux->sysctl.at("net.ipv4.ip_forward"), "1");
}

TEST(SpecParse, ResourcesOfEveryController) {
  Json j = base_config();
  j["linux"]["resources"] = Json::parse(R"({
      "blockIO": {"weight": 500, "leafWeight": 300, "weightDevice": [{"major": 8, "minor": 0, "weight": 200}],
                  "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                  "throttleWriteIOPSDevice": [{"major": 7, "minor": 0, "rate": 100}]},
      "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}],
      "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 5}]},
      "rdma": {"mlx5_1": {"hcaHandles": 3}},
      "unified": {"memory.high": "1000000"}})");
  auto spec = parse_spec(j);
  ASSERT_TRUE(spec.ok()) << spec.error().to_string();
  const Resources& r = *spec->linux->resources;
  EXPECT_EQ(*r.block_io->weight, 500);
  EXPECT_EQ(*r.block_io->leaf_weight, 300);
  EXPECT_EQ(*r.block_io->weight_devices.at(0).weight, 200);
  EXPECT_EQ(r.block_io->throttle_read_bps.at(0).rate, 1048576u);
  EXPECT_EQ(r.block_io->throttle_write_iops.at(0).major, 7);
  EXPECT_EQ(r.hugepage_limits.at(0).page_size, "2MB");
  EXPECT_EQ(*r.network->class_id, 1048577u);
  EXPECT_EQ(r.network->priorities.at(0).second, 5u);
  EXPECT_EQ(*r.rdma.at("mlx5_1").hca_handles, 3u);
  EXPECT_FALSE(r.rdma.at("mlx5_1").hca_objects.has_value());
  EXPECT_EQ(r.unified.at("memory.high"), "1000000");
}

struct BadCase {
  const char* name;
  const char* pointer;  // JSON pointer to patch
  const char* value;    // JSON text; "DELETE" removes the key
  const char* field;    // the field the error must name
};

class SpecErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(SpecErrors, NamesTheField) {
  const BadCase& c = GetParam();
  Json j = base_config();
  Json::json_pointer ptr(c.pointer);
  if (std::string(c.value) == "DELETE") {
    j[ptr.parent_pointer()].erase(ptr.back());
  } else {
    j[ptr] = Json::parse(c.value);
  }
  auto spec = parse_spec(j);
  ASSERT_FALSE(spec.ok()) << c.name;
  EXPECT_EQ(spec.error().category(), core::ErrorCategory::Config) << c.name;
  EXPECT_EQ(spec.error().details().at("field"), c.field) << c.name << ": " << spec.error().to_string();
  EXPECT_NE(spec.error().to_string().find(c.field), std::string::npos) << c.name;
}

const BadCase kBadCases[] = {
    {"missing ociVersion", "/ociVersion", "DELETE", "ociVersion"},
    {"ociVersion 2", "/ociVersion", R"("2.0.0")", "ociVersion"},
    {"ociVersion number", "/ociVersion", "1", "ociVersion"},
    {"missing root", "/root", "DELETE", "root"},
    {"root path empty", "/root/path", R"("")", "root.path"},
    {"root readonly string", "/root/readonly", R"("yes")", "root.readonly"},
    {"args not array", "/process/args", R"("sh")", "process.args"},
    {"args empty", "/process/args", "[]", "process.args"},
    {"arg not string", "/process/args", "[1]", "process.args[0]"},
    {"cwd relative", "/process/cwd", R"("tmp")", "process.cwd"},
    {"cwd missing", "/process/cwd", "DELETE", "process.cwd"},
    {"env without =", "/process/env", R"(["PATH"])", "process.env[0]"},
    {"uid negative", "/process/user/uid", "-1", "process.user.uid"},
    {"uid string", "/process/user/uid", R"("0")", "process.user.uid"},
    {"uid too large", "/process/user/uid", "4294967296", "process.user.uid"},
    {"unknown rlimit", "/process/rlimits", R"([{"type": "RLIMIT_FOO", "soft": 1, "hard": 1}])",
     "process.rlimits[0].type"},
    {"rlimit soft > hard", "/process/rlimits", R"([{"type": "RLIMIT_NOFILE", "soft": 2, "hard": 1}])",
     "process.rlimits[0]"},
    {"unknown capability", "/process/capabilities", R"({"bounding": ["CAP_FLY"]})",
     "process.capabilities.bounding[0]"},
    {"oomScoreAdj out of range", "/process/oomScoreAdj", "1001", "process.oomScoreAdj"},
    {"mount destination relative", "/mounts/0/destination", R"("proc")", "mounts[0].destination"},
    {"mount destination with ..", "/mounts/0/destination", R"("/proc/../../etc")", "mounts[0].destination"},
    {"mount destination missing", "/mounts/0/destination", "DELETE", "mounts[0].destination"},
    {"mount options not array", "/mounts/0/options", R"("ro")", "mounts[0].options"},
    {"mounts not array", "/mounts", "{}", "mounts"},
    {"unknown namespace", "/linux/namespaces/0/type", R"("time2")", "linux.namespaces[0].type"},
    {"duplicate namespace", "/linux/namespaces/1/type", R"("pid")", "linux.namespaces[1].type"},
    {"namespace path relative", "/linux/namespaces/0/path", R"("proc/1/ns/pid")", "linux.namespaces[0].path"},
    {"mappings without userns", "/linux/uidMappings", R"([{"containerID": 0, "hostID": 1000, "size": 1}])",
     "linux.uidMappings"},
    {"mapping incomplete", "/linux/uidMappings", R"([{"containerID": 0}])", "linux.uidMappings[0]"},
    {"masked path relative", "/linux/maskedPaths", R"(["proc/kcore"])", "linux.maskedPaths[0]"},
    {"readonly path with ..", "/linux/readonlyPaths", R"(["/proc/../sys"])", "linux.readonlyPaths[0]"},
    {"bad propagation", "/linux/rootfsPropagation", R"("sideways")", "linux.rootfsPropagation"},
    {"cgroupsPath with ..", "/linux/cgroupsPath", R"("/a/../../b")", "linux.cgroupsPath"},
    {"device type", "/linux/devices", R"([{"path": "/dev/x", "type": "z"}])", "linux.devices[0].type"},
    {"device path relative", "/linux/devices", R"([{"path": "dev/x", "type": "c"}])", "linux.devices[0].path"},
    {"device rule access", "/linux/resources", R"({"devices": [{"allow": true, "access": "rwx"}]})",
     "linux.resources.devices[0].access"},
    {"device rule allow missing", "/linux/resources", R"({"devices": [{"access": "rwm"}]})",
     "linux.resources.devices[0].allow"},
    {"memory limit string", "/linux/resources", R"({"memory": {"limit": "1G"}})", "linux.resources.memory.limit"},
    {"pids without limit", "/linux/resources", R"({"pids": {}})", "linux.resources.pids.limit"},
    {"blkio weight range", "/linux/resources", R"({"blockIO": {"weight": 5}})", "linux.resources.blockIO.weight"},
    {"blkio device without weight", "/linux/resources", R"({"blockIO": {"weightDevice": [{"major": 8, "minor": 0}]}})",
     "linux.resources.blockIO.weightDevice[0]"},
    {"throttle without rate", "/linux/resources",
     R"({"blockIO": {"throttleReadBpsDevice": [{"major": 8, "minor": 0}]}})",
     "linux.resources.blockIO.throttleReadBpsDevice[0].rate"},
    {"throttle without major", "/linux/resources", R"({"blockIO": {"throttleWriteIOPSDevice": [{"minor": 0, "rate": 1}]}})",
     "linux.resources.blockIO.throttleWriteIOPSDevice[0].major"},
    {"hugepage size", "/linux/resources", R"({"hugepageLimits": [{"pageSize": "2M", "limit": 1}]})",
     "linux.resources.hugepageLimits[0].pageSize"},
    {"network priority name", "/linux/resources", R"({"network": {"priorities": [{"priority": 1}]}})",
     "linux.resources.network.priorities[0].name"},
    {"rdma limits type", "/linux/resources", R"({"rdma": {"mlx5_1": {"hcaHandles": "3"}}})",
     "linux.resources.rdma.mlx5_1.hcaHandles"},
    {"unified path", "/linux/resources", R"({"unified": {"../memory.max": "1"}})", "linux.resources.unified"},
    {"unified runtime file", "/linux/resources", R"({"unified": {"cgroup.procs": "1"}})", "linux.resources.unified"},
    {"seccomp default action", "/linux/seccomp", R"({"defaultAction": "SCMP_ACT_MAYBE"})",
     "linux.seccomp.defaultAction"},
    {"seccomp operator", "/linux/seccomp",
     R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"}]}]})",
     "linux.seccomp.syscalls[0].args[0].op"},
    {"seccomp no names", "/linux/seccomp",
     R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]})",
     "linux.seccomp.syscalls[0].names"},
    {"seccomp flag", "/linux/seccomp",
     R"({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]})",
     "linux.seccomp.flags[0]"},
    {"hook path relative", "/hooks", R"({"prestart": [{"path": "bin/hook"}]})", "hooks.prestart[0].path"},
    {"hook timeout zero", "/hooks", R"({"poststop": [{"path": "/bin/true", "timeout": 0}]})",
     "hooks.poststop[0].timeout"},
    {"hostname without uts", "/linux/namespaces", R"([{"type": "mount"}])", "hostname"},
    {"annotation not string", "/annotations", R"({"a": 1})", "annotations.a"},
    {"sysctl not string", "/linux/sysctl", R"({"kernel.x": 1})", "linux.sysctl.kernel.x"},
    {"process not object", "/process", "[]", "process"},
};

INSTANTIATE_TEST_SUITE_P(Table, SpecErrors, ::testing::ValuesIn(kBadCases),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           for (auto& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

TEST(SpecParse, BadJsonTextIsAParseError) {
  auto spec = parse_spec_text("{\"ociVersion\": ");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.error().to_string().find("config.json"), std::string::npos);
  EXPECT_EQ(spec.error().category(), core::ErrorCategory::Parse);
}

TEST(SpecParse, RootIsNotAnObject) {
  auto spec = parse_spec(Json::array());
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.error().to_string().find("must be an object"), std::string::npos);
}

TEST(SpecDotDot, FindsOnlyWholeComponents) {
  EXPECT_TRUE(has_dotdot(".."));
  EXPECT_TRUE(has_dotdot("/a/../b"));
  EXPECT_TRUE(has_dotdot("/a/.."));
  EXPECT_FALSE(has_dotdot("/a/..b/c"));
  EXPECT_FALSE(has_dotdot("/a/b.."));
  EXPECT_FALSE(has_dotdot("/"));
}

TEST(DefaultSpec, IsValidAndMatchesRunc) {
  auto spec = parse_spec(default_spec());
  ASSERT_TRUE(spec.ok()) << spec.error().to_string();
  EXPECT_EQ(spec->root.path, "rootfs");
  EXPECT_TRUE(spec->process->terminal);
  EXPECT_EQ(spec->mounts.size(), 7u);
  EXPECT_TRUE(spec->linux->has_namespace("network"));
  EXPECT_EQ(spec->linux->masked_paths.size(), 10u);
  EXPECT_EQ(spec->linux->resources->devices.size(), 1u);
}

TEST(DefaultSpec, RootlessMapsTheCallerAndDropsNetwork) {
  Json j = rootless_spec(1000, 1001);
  auto spec = parse_spec(j);
  ASSERT_TRUE(spec.ok()) << spec.error().to_string();
  EXPECT_TRUE(spec->linux->has_namespace("user"));
  EXPECT_FALSE(spec->linux->has_namespace("network"));
  EXPECT_EQ(spec->linux->uid_mappings.at(0).host_id, 1000u);
  EXPECT_EQ(spec->linux->gid_mappings.at(0).host_id, 1001u);
  EXPECT_FALSE(spec->linux->resources.has_value());
  for (const auto& m : spec->mounts) {
    if (m.destination == "/sys") {
      EXPECT_EQ(m.type, "none");
    }
  }
}

}  // namespace
}  // namespace pvekit::oci
