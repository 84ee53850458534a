// Hostile values in config.json: every field parse_spec reads is checked
// against the C type it ends up in, and every failure is a Config error that
// names the field by its JSON path, never an exception.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "oci/spec.h"
#include "support/spec_config.h"

namespace pvekit::oci {
namespace {

using testing::base_config;

// config.json text: base_config() with `setup` (JSON text holding the string
// "@V@" once) at `pointer`, and then "@V@", quotes included, replaced by the
// raw JSON text `value` (which may be what no JSON library would write: 1e999).
std::string config_text(const char* pointer, const char* setup, const std::string& value) {
  Json j = base_config();
  j[Json::json_pointer(pointer)] = Json::parse(setup);
  std::string text = j.dump();
  auto at = text.find("\"@V@\"");
  EXPECT_NE(at, std::string::npos) << setup;
  EXPECT_EQ(text.find("\"@V@\"", at + 1), std::string::npos) << setup;
  if (at != std::string::npos) text.replace(at, 5, value);
  return text;
}

// The error of parsing `text`, or "" when it parses; checks the error is a
// Config error naming `field`.
std::string config_error(const std::string& text, const std::string& field) {
  auto spec = parse_spec_text(text);
  if (spec.ok()) return "";
  EXPECT_EQ(spec.error().category(), core::ErrorCategory::Config) << spec.error().to_string();
  auto detail = spec.error().details().find("field");
  EXPECT_TRUE(detail != spec.error().details().end() && detail->second == field) << spec.error().to_string();
  return spec.error().message();
}

// ---- Numbers ------------------------------------------------------------------

enum class Kind { U16, U32, U64, I32, I64, Device, RuleDevice };

struct KindInfo {
  std::string range, min, max, below, above;
};

KindInfo info(Kind k) {
  switch (k) {
    case Kind::U16: return {"0..65535", "0", "65535", "-1", "65536"};
    case Kind::U32: return {"0..4294967295", "0", "4294967295", "-1", "4294967296"};
    case Kind::U64: return {"0..18446744073709551615", "0", "18446744073709551615", "-1", "18446744073709551616"};
    case Kind::I32: return {"-2147483648..2147483647", "-2147483648", "2147483647", "-2147483649", "2147483648"};
    case Kind::I64:
      return {"-9223372036854775808..9223372036854775807", "-9223372036854775808", "9223372036854775807",
              "-9223372036854775809", "9223372036854775808"};
    case Kind::Device: return {"0..4294967295", "0", "4294967295", "-1", "4294967296"};
    case Kind::RuleDevice: return {"-1..4294967295", "-1", "4294967295", "-2", "4294967296"};
  }
  return {};
}

struct NumCase {
  const char* name;
  const char* pointer;
  const char* setup;  // holds "@V@"
  const char* field;
  Kind kind;
  std::vector<std::string> accepted;  // empty: the kind's min and max
};

class NumberFields : public ::testing::TestWithParam<NumCase> {};

TEST_P(NumberFields, RefuseWhatTheCTypeCannotHold) {
  const NumCase& c = GetParam();
  KindInfo k = info(c.kind);
  std::vector<std::string> out_of_range = {"1e999", "-1e999", "1.5", "-0.5", "1e3", "1.0", "-0.0", "1E2", "2e-1",
                                           "1e-999", "99999999999999999999999999999", k.above};
  // For 64-bit kinds the value below the minimum is not an integer to nlohmann: a float, also refused.
  out_of_range.push_back(k.below);
  for (const auto& v : out_of_range) {
    SCOPED_TRACE(v);
    EXPECT_EQ(config_error(config_text(c.pointer, c.setup, v), c.field),
              std::string(c.field) + ": " + v + " is not an integer in " + k.range);
  }
  const std::pair<const char*, const char*> wrong_types[] = {
      {"\"1\"", "string"}, {"\"\"", "string"}, {"true", "boolean"}, {"[]", "list"}, {"[1]", "list"},
      {"{}", "object"},    {"{\"a\": 1}", "object"}};
  for (const auto& [v, type] : wrong_types) {
    SCOPED_TRACE(v);
    EXPECT_EQ(config_error(config_text(c.pointer, c.setup, v), c.field),
              std::string(c.field) + ": must be an integer in " + k.range + ", got " + type);
  }
  std::vector<std::string> accepted = c.accepted.empty() ? std::vector<std::string>{k.min, k.max} : c.accepted;
  for (const auto& v : accepted) {
    SCOPED_TRACE(v);
    EXPECT_EQ(config_error(config_text(c.pointer, c.setup, v), c.field), "");
  }
}

const char* kUserns = R"({"namespaces": [{"type": "user"}, {"type": "mount"}, {"type": "uts"}],
    "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
    "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]})";

std::string userns_with(const char* list, const char* key) {
  Json l = Json::parse(kUserns);
  l[list][0][key] = "@V@";
  return l.dump();
}

const std::string kUidContainer = userns_with("uidMappings", "containerID");
const std::string kUidHost = userns_with("uidMappings", "hostID");
const std::string kUidSize = userns_with("uidMappings", "size");
const std::string kGidContainer = userns_with("gidMappings", "containerID");
const std::string kGidHost = userns_with("gidMappings", "hostID");
const std::string kGidSize = userns_with("gidMappings", "size");

const NumCase kNumCases[] = {
    {"uid", "/process/user/uid", R"("@V@")", "process.user.uid", Kind::U32, {}},
    {"gid", "/process/user/gid", R"("@V@")", "process.user.gid", Kind::U32, {}},
    {"umask", "/process/user/umask", R"("@V@")", "process.user.umask", Kind::U32, {}},
    {"additionalGids", "/process/user/additionalGids", R"([5, "@V@"])", "process.user.additionalGids[1]", Kind::U32, {}},
    {"rlimit soft", "/process/rlimits", R"([{"type": "RLIMIT_NOFILE", "soft": "@V@", "hard": 18446744073709551615}])",
     "process.rlimits[0].soft", Kind::U64, {}},
    {"rlimit hard", "/process/rlimits", R"([{"type": "RLIMIT_NOFILE", "soft": 0, "hard": "@V@"}])",
     "process.rlimits[0].hard", Kind::U64, {}},
    {"oomScoreAdj", "/process/oomScoreAdj", R"("@V@")", "process.oomScoreAdj", Kind::I32, {"-1000", "1000"}},
    {"consoleSize height", "/process/consoleSize", R"({"height": "@V@", "width": 80})", "process.consoleSize.height",
     Kind::U16, {}},
    {"consoleSize width", "/process/consoleSize", R"({"height": 25, "width": "@V@"})", "process.consoleSize.width",
     Kind::U16, {}},
    {"scheduler nice", "/process/scheduler", R"({"policy": "SCHED_OTHER", "nice": "@V@"})", "process.scheduler.nice",
     Kind::I32, {}},
    {"scheduler priority", "/process/scheduler", R"({"policy": "SCHED_FIFO", "priority": "@V@"})",
     "process.scheduler.priority", Kind::I32, {}},
    {"scheduler runtime", "/process/scheduler", R"({"policy": "SCHED_DEADLINE", "runtime": "@V@"})",
     "process.scheduler.runtime", Kind::U64, {}},
    {"scheduler deadline", "/process/scheduler", R"({"policy": "SCHED_DEADLINE", "deadline": "@V@"})",
     "process.scheduler.deadline", Kind::U64, {}},
    {"scheduler period", "/process/scheduler", R"({"policy": "SCHED_DEADLINE", "period": "@V@"})",
     "process.scheduler.period", Kind::U64, {}},
    {"ioPriority", "/process/ioPriority", R"({"class": "IOPRIO_CLASS_BE", "priority": "@V@"})",
     "process.ioPriority.priority", Kind::I32, {}},
    {"hook timeout", "/hooks", R"({"poststop": [{"path": "/bin/true", "timeout": "@V@"}]})",
     "hooks.poststop[0].timeout", Kind::I32, {"1", "2147483647"}},
    {"uidMappings containerID", "/linux", kUidContainer.c_str(), "linux.uidMappings[0].containerID", Kind::U32, {}},
    {"uidMappings hostID", "/linux", kUidHost.c_str(), "linux.uidMappings[0].hostID", Kind::U32, {}},
    {"uidMappings size", "/linux", kUidSize.c_str(), "linux.uidMappings[0].size", Kind::U32, {}},
    {"gidMappings containerID", "/linux", kGidContainer.c_str(), "linux.gidMappings[0].containerID", Kind::U32, {}},
    {"gidMappings hostID", "/linux", kGidHost.c_str(), "linux.gidMappings[0].hostID", Kind::U32, {}},
    {"gidMappings size", "/linux", kGidSize.c_str(), "linux.gidMappings[0].size", Kind::U32, {}},
    {"mount uidMappings", "/mounts/0/uidMappings", R"([{"containerID": 0, "hostID": "@V@", "size": 1}])",
     "mounts[0].uidMappings[0].hostID", Kind::U32, {}},
    {"mount gidMappings", "/mounts/0/gidMappings", R"([{"containerID": 0, "hostID": 0, "size": "@V@"}])",
     "mounts[0].gidMappings[0].size", Kind::U32, {}},
    {"device major", "/linux/devices", R"([{"path": "/dev/x", "type": "c", "major": "@V@", "minor": 1}])",
     "linux.devices[0].major", Kind::Device, {}},
    {"device minor", "/linux/devices", R"([{"path": "/dev/x", "type": "c", "major": 1, "minor": "@V@"}])",
     "linux.devices[0].minor", Kind::Device, {}},
    {"device fileMode", "/linux/devices", R"([{"path": "/dev/x", "type": "c", "fileMode": "@V@"}])",
     "linux.devices[0].fileMode", Kind::U32, {}},
    {"device uid", "/linux/devices", R"([{"path": "/dev/x", "type": "c", "uid": "@V@"}])", "linux.devices[0].uid",
     Kind::U32, {}},
    {"device gid", "/linux/devices", R"([{"path": "/dev/x", "type": "c", "gid": "@V@"}])", "linux.devices[0].gid",
     Kind::U32, {}},
    {"device rule major", "/linux/resources", R"({"devices": [{"allow": true, "type": "c", "major": "@V@"}]})",
     "linux.resources.devices[0].major", Kind::RuleDevice, {}},
    {"device rule minor", "/linux/resources", R"({"devices": [{"allow": true, "type": "c", "minor": "@V@"}]})",
     "linux.resources.devices[0].minor", Kind::RuleDevice, {}},
    {"memory limit", "/linux/resources", R"({"memory": {"limit": "@V@"}})", "linux.resources.memory.limit",
     Kind::I64, {}},
    {"memory reservation", "/linux/resources", R"({"memory": {"reservation": "@V@"}})",
     "linux.resources.memory.reservation", Kind::I64, {}},
    {"memory swap", "/linux/resources", R"({"memory": {"swap": "@V@"}})", "linux.resources.memory.swap", Kind::I64, {}},
    {"memory kernel", "/linux/resources", R"({"memory": {"kernel": "@V@"}})", "linux.resources.memory.kernel",
     Kind::I64, {}},
    {"memory kernelTCP", "/linux/resources", R"({"memory": {"kernelTCP": "@V@"}})",
     "linux.resources.memory.kernelTCP", Kind::I64, {}},
    {"memory swappiness", "/linux/resources", R"({"memory": {"swappiness": "@V@"}})",
     "linux.resources.memory.swappiness", Kind::U64, {"0", "100"}},
    {"cpu shares", "/linux/resources", R"({"cpu": {"shares": "@V@"}})", "linux.resources.cpu.shares", Kind::U64, {}},
    {"cpu quota", "/linux/resources", R"({"cpu": {"quota": "@V@"}})", "linux.resources.cpu.quota", Kind::I64,
     {"-9223372036854775808", "-1", "1", "9223372036854775807"}},
    {"cpu period", "/linux/resources", R"({"cpu": {"period": "@V@"}})", "linux.resources.cpu.period", Kind::U64, {}},
    {"cpu burst", "/linux/resources", R"({"cpu": {"burst": "@V@"}})", "linux.resources.cpu.burst", Kind::U64, {}},
    {"cpu realtimeRuntime", "/linux/resources", R"({"cpu": {"realtimeRuntime": "@V@"}})",
     "linux.resources.cpu.realtimeRuntime", Kind::I64, {}},
    {"cpu realtimePeriod", "/linux/resources", R"({"cpu": {"realtimePeriod": "@V@"}})",
     "linux.resources.cpu.realtimePeriod", Kind::U64, {}},
    {"cpu idle", "/linux/resources", R"({"cpu": {"idle": "@V@"}})", "linux.resources.cpu.idle", Kind::I64, {}},
    {"pids limit", "/linux/resources", R"({"pids": {"limit": "@V@"}})", "linux.resources.pids.limit", Kind::I64, {}},
    {"blkio weight", "/linux/resources", R"({"blockIO": {"weight": "@V@"}})", "linux.resources.blockIO.weight",
     Kind::U16, {"10", "1000"}},
    {"blkio leafWeight", "/linux/resources", R"({"blockIO": {"leafWeight": "@V@"}})",
     "linux.resources.blockIO.leafWeight", Kind::U16, {"10", "1000"}},
    {"blkio weightDevice major", "/linux/resources",
     R"({"blockIO": {"weightDevice": [{"major": "@V@", "minor": 0, "weight": 100}]}})",
     "linux.resources.blockIO.weightDevice[0].major", Kind::Device, {}},
    {"blkio weightDevice minor", "/linux/resources",
     R"({"blockIO": {"weightDevice": [{"major": 8, "minor": "@V@", "weight": 100}]}})",
     "linux.resources.blockIO.weightDevice[0].minor", Kind::Device, {}},
    {"blkio weightDevice weight", "/linux/resources",
     R"({"blockIO": {"weightDevice": [{"major": 8, "minor": 0, "weight": "@V@"}]}})",
     "linux.resources.blockIO.weightDevice[0].weight", Kind::U16, {"10", "1000"}},
    {"blkio weightDevice leafWeight", "/linux/resources",
     R"({"blockIO": {"weightDevice": [{"major": 8, "minor": 0, "weight": 100, "leafWeight": "@V@"}]}})",
     "linux.resources.blockIO.weightDevice[0].leafWeight", Kind::U16, {"10", "1000"}},
    {"blkio throttle major", "/linux/resources",
     R"({"blockIO": {"throttleReadBpsDevice": [{"major": "@V@", "minor": 0, "rate": 1}]}})",
     "linux.resources.blockIO.throttleReadBpsDevice[0].major", Kind::Device, {}},
    {"blkio throttle minor", "/linux/resources",
     R"({"blockIO": {"throttleWriteBpsDevice": [{"major": 8, "minor": "@V@", "rate": 1}]}})",
     "linux.resources.blockIO.throttleWriteBpsDevice[0].minor", Kind::Device, {}},
    {"blkio read bps", "/linux/resources",
     R"({"blockIO": {"throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": "@V@"}]}})",
     "linux.resources.blockIO.throttleReadBpsDevice[0].rate", Kind::U64, {}},
    {"blkio write bps", "/linux/resources",
     R"({"blockIO": {"throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": "@V@"}]}})",
     "linux.resources.blockIO.throttleWriteBpsDevice[0].rate", Kind::U64, {}},
    {"blkio read iops", "/linux/resources",
     R"({"blockIO": {"throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": "@V@"}]}})",
     "linux.resources.blockIO.throttleReadIOPSDevice[0].rate", Kind::U64, {}},
    {"blkio write iops", "/linux/resources",
     R"({"blockIO": {"throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": "@V@"}]}})",
     "linux.resources.blockIO.throttleWriteIOPSDevice[0].rate", Kind::U64, {}},
    {"hugepage limit", "/linux/resources", R"({"hugepageLimits": [{"pageSize": "2MB", "limit": "@V@"}]})",
     "linux.resources.hugepageLimits[0].limit", Kind::U64, {}},
    {"network classID", "/linux/resources", R"({"network": {"classID": "@V@"}})", "linux.resources.network.classID",
     Kind::U32, {}},
    {"network priority", "/linux/resources", R"({"network": {"priorities": [{"name": "eth0", "priority": "@V@"}]}})",
     "linux.resources.network.priorities[0].priority", Kind::U32, {}},
    {"rdma hcaHandles", "/linux/resources", R"({"rdma": {"mlx5_1": {"hcaHandles": "@V@"}}})",
     "linux.resources.rdma.mlx5_1.hcaHandles", Kind::U32, {}},
    {"rdma hcaObjects", "/linux/resources", R"({"rdma": {"mlx5_1": {"hcaObjects": "@V@"}}})",
     "linux.resources.rdma.mlx5_1.hcaObjects", Kind::U32, {}},
    {"seccomp defaultErrnoRet", "/linux/seccomp", R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": "@V@"})",
     "linux.seccomp.defaultErrnoRet", Kind::U16, {}},
    {"seccomp errnoRet", "/linux/seccomp",
     R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": "@V@"}]})",
     "linux.seccomp.syscalls[0].errnoRet", Kind::U16, {}},
    {"seccomp arg index", "/linux/seccomp",
     R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": "@V@", "value": 1, "op": "SCMP_CMP_EQ"}]}]})",
     "linux.seccomp.syscalls[0].args[0].index", Kind::U32, {"0", "5"}},
    {"seccomp arg value", "/linux/seccomp",
     R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 1, "value": "@V@", "op": "SCMP_CMP_EQ"}]}]})",
     "linux.seccomp.syscalls[0].args[0].value", Kind::U64, {}},
    {"seccomp arg valueTwo", "/linux/seccomp",
     R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 1, "value": 1, "valueTwo": "@V@", "op": "SCMP_CMP_MASKED_EQ"}]}]})",
     "linux.seccomp.syscalls[0].args[0].valueTwo", Kind::U64, {}},
    {"timeOffsets secs", "/linux/timeOffsets", R"({"monotonic": {"secs": "@V@", "nanosecs": 0}})",
     "linux.timeOffsets.monotonic.secs", Kind::I64, {}},
    {"timeOffsets nanosecs", "/linux/timeOffsets", R"({"boottime": {"secs": 1, "nanosecs": "@V@"}})",
     "linux.timeOffsets.boottime.nanosecs", Kind::U32, {}},
};

std::string case_name(std::string n) {
  for (auto& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Table, NumberFields, ::testing::ValuesIn(kNumCases),
                         [](const auto& i) { return case_name(i.param.name); });

TEST(HostileNumbers, TheIssueExample) {
  std::string text = config_text("/process/user/uid", R"("@V@")", "1e999");
  auto spec = parse_spec_text(text);
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.error().to_string(),
            "config.json: process.user.uid: 1e999 is not an integer in 0..4294967295 (field: process.user.uid)");
  EXPECT_EQ(spec.error().category(), core::ErrorCategory::Config);
}

TEST(HostileNumbers, LimitsAreStoredExactly) {
  Json j = base_config();
  j["process"]["user"] = {{"uid", 4294967295u}, {"gid", 4294967295u}};
  j["process"]["rlimits"] = Json::parse(R"([{"type": "RLIMIT_CORE", "soft": 18446744073709551615, "hard": 18446744073709551615}])");
  j["linux"]["devices"] = Json::parse(R"([{"path": "/dev/x", "type": "c", "major": 4294967295, "minor": 0}])");
  j["linux"]["resources"] = Json::parse(R"({"memory": {"limit": -9223372036854775808}, "pids": {"limit": 9223372036854775807},
      "devices": [{"allow": true, "type": "c", "major": -1, "minor": 4294967295, "access": "r"}]})");
  auto spec = parse_spec_text(j.dump());
  ASSERT_TRUE(spec.ok()) << spec.error().to_string();
  EXPECT_EQ(spec->process->user.uid, 4294967295u);
  EXPECT_EQ(spec->process->rlimits.at(0).hard, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(spec->linux->devices.at(0).major, 4294967295);
  EXPECT_EQ(*spec->linux->resources->memory->limit, std::numeric_limits<int64_t>::min());
  EXPECT_EQ(*spec->linux->resources->pids_limit, std::numeric_limits<int64_t>::max());
  // -1 is runc's and Docker's wildcard ("c *:4294967295 r"): any major.
  EXPECT_FALSE(spec->linux->resources->devices.at(0).major.has_value());
  EXPECT_EQ(*spec->linux->resources->devices.at(0).minor, 4294967295);
}

TEST(HostileNumbers, SwappinessAbove100) {
  std::string text = config_text("/linux/resources", R"({"memory": {"swappiness": "@V@"}})", "101");
  EXPECT_EQ(config_error(text, "linux.resources.memory.swappiness"),
            "linux.resources.memory.swappiness: must be 0..100, got 101");
}

TEST(HostileNumbers, LongLiteralsAreShortenedInTheMessage) {
  std::string literal = "1" + std::string(500, '0') + ".5";
  std::string message = config_error(config_text("/process/user/uid", R"("@V@")", literal), "process.user.uid");
  EXPECT_LT(message.size(), 200u);
  EXPECT_NE(message.find("..."), std::string::npos) << message;
}

TEST(HostileNumbers, UnreadFieldsAndStringsKeepTheirNumbers) {
  // Numbers no double holds are harmless where lxcri reads nothing, and
  // number-like text inside strings (values or keys) is left as written.
  std::string text = config_text("/annotations", R"({"1.5e999": "@V@"})", "\"-1e999\"");
  text.insert(text.size() - 1, R"(,"windows": {"layerFolders": [1e999, -2.5e-999, 0.1]}, "x-vendor": [[1e400]])");
  auto spec = parse_spec_text(text);
  ASSERT_TRUE(spec.ok()) << spec.error().to_string();
  EXPECT_EQ(spec->annotations.at("1.5e999"), "-1e999");
}

TEST(HostileNumbers, TheMarkerCannotBeSmuggledIn) {
  // The object parse_spec_text puts in place of a literal, written by hand: still no integer.
  std::string text = config_text("/process/user/uid", R"("@V@")", R"({"\u0000pvekit:number": "7"})");
  EXPECT_EQ(config_error(text, "process.user.uid"), "process.user.uid: 7 is not an integer in 0..4294967295");
  text = config_text("/annotations", R"("@V@")", R"({"\u0000pvekit:number": "7"})");
  EXPECT_EQ(config_error(text, "annotations"), "annotations: must be an object, got number");
  // Found by config_fuzz's printable-message check: a hand-made marker's text
  // went into the message as it was, escape sequences included.
  text = config_text("/process/user/uid", R"("@V@")", R"({"\u0000pvekit:number": "\u001b[2J"})");
  EXPECT_EQ(config_error(text, "process.user.uid"),
            "process.user.uid: must be an integer in 0..4294967295, got object");
}

TEST(HostileNumbers, JsonValuesBuiltInMemory) {
  // parse_spec on a document from the JSON API (update, exec): floats too.
  const std::pair<Json, std::string> values[] = {
      {Json(1.5), "1.5"},
      {Json(std::numeric_limits<double>::infinity()), "inf"},
      {Json(-std::numeric_limits<double>::infinity()), "-inf"},
      {Json(std::numeric_limits<double>::quiet_NaN()), "nan"},
      {Json(-1), "-1"}};
  for (const auto& [value, shown] : values) {
    Json j = base_config();
    j["process"]["user"]["uid"] = value;
    auto spec = parse_spec(j);
    ASSERT_FALSE(spec.ok()) << shown;
    EXPECT_EQ(spec.error().message(), "process.user.uid: " + shown + " is not an integer in 0..4294967295");
  }
}

// ---- Malformed JSON stays malformed ---------------------------------------------

TEST(HostileJson, InvalidNumbersAreParseErrors) {
  for (const char* v : {"01.5", "1.", ".5", "-", "1e", "1e+", "+1", "1.5.5", "--1", "1e5e5", "0x10", "1,5", "1.5,",
                        "NaN", "Infinity", "-Infinity"}) {
    SCOPED_TRACE(v);
    auto spec = parse_spec_text(config_text("/process/user/uid", R"("@V@")", v));
    ASSERT_FALSE(spec.ok());
    EXPECT_EQ(spec.error().category(), core::ErrorCategory::Parse) << spec.error().to_string();
    EXPECT_EQ(spec.error().to_string().find("pvekit:number"), std::string::npos) << spec.error().to_string();
  }
}

TEST(HostileJson, ErrorsReportTheTextAsWritten) {
  // A syntax error after a marked literal: the message is about the user's text.
  auto spec = parse_spec_text(R"({"ociVersion": "1.0.2", "x": 1.5, "root": {"path": "r"},,})");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.error().category(), core::ErrorCategory::Parse);
  EXPECT_EQ(spec.error().to_string().find("pvekit"), std::string::npos) << spec.error().to_string();
  // An overflowing literal where the grammar fails anyway: a parse error, not an exception.
  spec = parse_spec_text(R"({"ociVersion": 1e999-})");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.error().category(), core::ErrorCategory::Parse);
}

TEST(HostileJson, TopLevelValues) {
  const std::pair<const char*, const char*> cases[] = {
      {"1e999", "config: must be an object, got number"},
      {"1.5", "config: must be an object, got number"},
      {"[]", "config: must be an object, got list"},
      {"\"x\"", "config: must be an object, got string"},
      {"null", "config: must be an object, got null"},
      {"7", "config: must be an object, got integer"}};
  for (const auto& [text, message] : cases) {
    auto spec = parse_spec_text(text);
    ASSERT_FALSE(spec.ok()) << text;
    EXPECT_EQ(spec.error().message(), message);
  }
  EXPECT_FALSE(parse_spec_text("").ok());
  EXPECT_FALSE(parse_spec_text(std::string("{\0}", 3)).ok());
}

TEST(HostileJson, DeepNestingInAnIgnoredField) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  std::string text = config_text("/annotations", R"({"a": "@V@"})", "\"b\"");
  text.insert(text.size() - 1, ",\"x-deep\": " + deep);
  auto spec = parse_spec_text(text);
  EXPECT_TRUE(spec.ok()) << spec.error().to_string();
  // ... and where an object is expected.
  spec = parse_spec_text(config_text("/linux/resources", R"("@V@")", deep));
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.error().message(), "linux.resources: must be an object, got list");
}

// ---- Strings ------------------------------------------------------------------

struct StrCase {
  const char* name;
  const char* pointer;
  const char* setup;  // holds "@V@" as a value, or as a key when `key` is set
  const char* field;
  bool key = false;
};

class StringFields : public ::testing::TestWithParam<StrCase> {};

TEST_P(StringFields, RefuseNulBytesAndOtherTypes) {
  const StrCase& c = GetParam();
  if (c.key) {
    std::string text = config_text(c.pointer, c.setup, R"("a\u0000b")");
    std::string field = std::string(c.field) + R"(["a\u0000b"])";
    EXPECT_EQ(config_error(text, field), field + ": must not contain a NUL byte");
    return;
  }
  for (const char* v : {R"("a\u0000b")", R"("\u0000")", R"("/bin/sh\u0000x")"}) {
    SCOPED_TRACE(v);
    EXPECT_EQ(config_error(config_text(c.pointer, c.setup, v), c.field),
              std::string(c.field) + ": must not contain a NUL byte");
  }
  const std::pair<const char*, const char*> wrong_types[] = {
      {"1", "integer"}, {"-1", "integer"}, {"1.5", "number"}, {"1e999", "number"}, {"true", "boolean"},
      {"[]", "list"},   {"[\"a\"]", "list"}, {"{}", "object"}};
  for (const auto& [v, type] : wrong_types) {
    SCOPED_TRACE(v);
    EXPECT_EQ(config_error(config_text(c.pointer, c.setup, v), c.field),
              std::string(c.field) + ": must be a string, got " + type);
  }
}

const char* kSeccompSyscall =
    R"({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 1, "op": "SCMP_CMP_EQ"}]}]})";

std::string seccomp_with(const char* pointer) {
  Json s = Json::parse(kSeccompSyscall);
  s[Json::json_pointer(pointer)] = "@V@";
  return s.dump();
}

const std::string kSeccompDefault = seccomp_with("/defaultAction");
const std::string kSeccompArch = seccomp_with("/architectures/0");
const std::string kSeccompFlag = seccomp_with("/flags/0");
const std::string kSeccompListener = seccomp_with("/listenerPath");
const std::string kSeccompMetadata = seccomp_with("/listenerMetadata");
const std::string kSeccompName = seccomp_with("/syscalls/0/names/0");
const std::string kSeccompAction = seccomp_with("/syscalls/0/action");
const std::string kSeccompOp = seccomp_with("/syscalls/0/args/0/op");

const StrCase kStrCases[] = {
    {"ociVersion", "/ociVersion", R"("@V@")", "ociVersion"},
    {"args", "/process/args", R"(["sh", "@V@"])", "process.args[1]"},
    {"env", "/process/env", R"(["PATH=/bin", "@V@"])", "process.env[1]"},
    {"cwd", "/process/cwd", R"("@V@")", "process.cwd"},
    {"capability", "/process/capabilities", R"({"bounding": ["@V@"]})", "process.capabilities.bounding[0]"},
    {"ambient capability", "/process/capabilities", R"({"ambient": ["@V@"]})", "process.capabilities.ambient[0]"},
    {"rlimit type", "/process/rlimits", R"([{"type": "@V@", "soft": 1, "hard": 1}])", "process.rlimits[0].type"},
    {"apparmorProfile", "/process/apparmorProfile", R"("@V@")", "process.apparmorProfile"},
    {"selinuxLabel", "/process/selinuxLabel", R"("@V@")", "process.selinuxLabel"},
    {"scheduler policy", "/process/scheduler", R"({"policy": "@V@"})", "process.scheduler.policy"},
    {"root path", "/root/path", R"("@V@")", "root.path"},
    {"mount destination", "/mounts/0/destination", R"("@V@")", "mounts[0].destination"},
    {"mount source", "/mounts/0/source", R"("@V@")", "mounts[0].source"},
    {"mount type", "/mounts/0/type", R"("@V@")", "mounts[0].type"},
    {"mount option", "/mounts/0/options", R"(["nosuid", "@V@"])", "mounts[0].options[1]"},
    {"hook path", "/hooks", R"({"prestart": [{"path": "@V@"}]})", "hooks.prestart[0].path"},
    {"hook arg", "/hooks", R"({"createRuntime": [{"path": "/bin/hook", "args": ["hook", "@V@"]}]})",
     "hooks.createRuntime[0].args[1]"},
    {"hook env", "/hooks", R"({"poststop": [{"path": "/bin/hook", "env": ["@V@"]}]})", "hooks.poststop[0].env[0]"},
    {"hostname", "/hostname", R"("@V@")", "hostname"},
    {"domainname", "/domainname", R"("@V@")", "domainname"},
    {"annotation value", "/annotations", R"({"org.example": "@V@"})", "annotations.org.example"},
    {"annotation key", "/annotations", R"({"@V@": "v"})", "annotations", true},
    {"namespace type", "/linux/namespaces/0/type", R"("@V@")", "linux.namespaces[0].type"},
    {"namespace path", "/linux/namespaces/0/path", R"("@V@")", "linux.namespaces[0].path"},
    {"maskedPaths", "/linux/maskedPaths", R"(["/proc/kcore", "@V@"])", "linux.maskedPaths[1]"},
    {"readonlyPaths", "/linux/readonlyPaths", R"(["@V@"])", "linux.readonlyPaths[0]"},
    {"device path", "/linux/devices", R"([{"path": "@V@", "type": "c"}])", "linux.devices[0].path"},
    {"device type", "/linux/devices", R"([{"path": "/dev/x", "type": "@V@"}])", "linux.devices[0].type"},
    {"cgroupsPath", "/linux/cgroupsPath", R"("@V@")", "linux.cgroupsPath"},
    {"rootfsPropagation", "/linux/rootfsPropagation", R"("@V@")", "linux.rootfsPropagation"},
    {"mountLabel", "/linux/mountLabel", R"("@V@")", "linux.mountLabel"},
    {"sysctl value", "/linux/sysctl", R"({"net.ipv4.ip_forward": "@V@"})", "linux.sysctl.net.ipv4.ip_forward"},
    {"sysctl key", "/linux/sysctl", R"({"@V@": "1"})", "linux.sysctl", true},
    {"device rule type", "/linux/resources", R"({"devices": [{"allow": true, "type": "@V@"}]})",
     "linux.resources.devices[0].type"},
    {"device rule access", "/linux/resources", R"({"devices": [{"allow": true, "access": "@V@"}]})",
     "linux.resources.devices[0].access"},
    {"cpus", "/linux/resources", R"({"cpu": {"cpus": "@V@"}})", "linux.resources.cpu.cpus"},
    {"mems", "/linux/resources", R"({"cpu": {"mems": "@V@"}})", "linux.resources.cpu.mems"},
    {"hugepage size", "/linux/resources", R"({"hugepageLimits": [{"pageSize": "@V@", "limit": 1}]})",
     "linux.resources.hugepageLimits[0].pageSize"},
    {"network interface", "/linux/resources", R"({"network": {"priorities": [{"name": "@V@", "priority": 1}]}})",
     "linux.resources.network.priorities[0].name"},
    {"unified value", "/linux/resources", R"({"unified": {"memory.high": "@V@"}})",
     "linux.resources.unified.memory.high"},
    {"unified key", "/linux/resources", R"({"unified": {"@V@": "1"}})", "linux.resources.unified", true},
    {"rdma device", "/linux/resources", R"({"rdma": {"@V@": {"hcaHandles": 1}}})", "linux.resources.rdma", true},
    {"seccomp defaultAction", "/linux/seccomp", kSeccompDefault.c_str(), "linux.seccomp.defaultAction"},
    {"seccomp architecture", "/linux/seccomp", kSeccompArch.c_str(), "linux.seccomp.architectures[0]"},
    {"seccomp flag", "/linux/seccomp", kSeccompFlag.c_str(), "linux.seccomp.flags[0]"},
    {"seccomp listenerPath", "/linux/seccomp", kSeccompListener.c_str(), "linux.seccomp.listenerPath"},
    {"seccomp listenerMetadata", "/linux/seccomp", kSeccompMetadata.c_str(), "linux.seccomp.listenerMetadata"},
    {"seccomp syscall name", "/linux/seccomp", kSeccompName.c_str(), "linux.seccomp.syscalls[0].names[0]"},
    {"seccomp syscall action", "/linux/seccomp", kSeccompAction.c_str(), "linux.seccomp.syscalls[0].action"},
    {"seccomp arg op", "/linux/seccomp", kSeccompOp.c_str(), "linux.seccomp.syscalls[0].args[0].op"},
    {"personality domain", "/linux/personality", R"({"domain": "@V@"})", "linux.personality.domain"},
    {"personality flag", "/linux/personality", R"({"domain": "LINUX", "flags": ["@V@"]})",
     "linux.personality.flags[0]"},
    {"timeOffsets clock", "/linux/timeOffsets", R"({"@V@": {"secs": 1}})", "linux.timeOffsets", true},
};

INSTANTIATE_TEST_SUITE_P(Table, StringFields, ::testing::ValuesIn(kStrCases),
                         [](const auto& i) { return case_name(i.param.name); });

TEST(HostileStrings, MemberNamesInFieldPaths) {
  EXPECT_EQ(field_member("linux.sysctl", "net.ipv4.ip_forward"), "linux.sysctl.net.ipv4.ip_forward");
  EXPECT_EQ(field_member("annotations", "a b"), R"(annotations["a b"])");
  EXPECT_EQ(field_member("annotations", ""), R"(annotations[""])");
  EXPECT_EQ(field_member("annotations", "x\x1b[2J"), R"(annotations["x\u001b[2J"])");
  EXPECT_EQ(field_member("annotations", "a\"]"), R"(annotations["a\"]"])");
}

TEST(HostileStrings, ControlCharactersAreEscapedInMessages) {
  std::string text = config_text("/process/rlimits", R"([{"type": "@V@", "soft": 1, "hard": 1}])",
                                 R"("RLIMIT_\u001b[2J\r\n")");
  std::string message = config_error(text, "process.rlimits[0].type");
  EXPECT_EQ(message, R"(process.rlimits[0].type: unknown rlimit "RLIMIT_\u001b[2J\r\n")");
  text = config_text("/linux/sysctl", R"({"@V@": "1"})", R"("/\u001b")");
  EXPECT_EQ(config_error(text, R"(linux.sysctl["/\u001b"])"), R"(linux.sysctl["/\u001b"]: invalid sysctl name)");
}

TEST(HostileStrings, NulInsideAKeyDoesNotSelectAnotherKey) {
  // A key "memory.max\0x" must not be read back as "memory.max".
  std::string text = config_text("/linux/resources", R"({"unified": {"memory.high": "1", "@V@": "2"}})",
                                 R"("memory.max\u0000x")");
  EXPECT_EQ(config_error(text, R"(linux.resources.unified["memory.max\u0000x"])"),
            R"(linux.resources.unified["memory.max\u0000x"]: must not contain a NUL byte)");
}

// ---- Structure: objects, arrays and booleans where they belong ---------------------

struct TypeCase {
  const char* pointer;
  const char* value;  // raw JSON text
  const char* message;
};

class StructureTypes : public ::testing::TestWithParam<TypeCase> {};

TEST_P(StructureTypes, AreCleanErrors) {
  const TypeCase& c = GetParam();
  std::string message = c.message;
  std::string field = message.substr(0, message.find(": "));
  EXPECT_EQ(config_error(config_text(c.pointer, R"("@V@")", c.value), field), message);
}

const TypeCase kTypeCases[] = {
    {"/process", "[]", "process: must be an object, got list"},
    {"/process", "1e999", "process: must be an object, got number"},
    {"/process/user", "\"root\"", "process.user: must be an object, got string"},
    {"/process/args", "{}", "process.args: must be an array, got object"},
    {"/process/args", "\"sh\"", "process.args: must be an array, got string"},
    {"/process/env", "1", "process.env: must be an array, got integer"},
    {"/process/terminal", "\"yes\"", "process.terminal: must be a boolean, got string"},
    {"/process/terminal", "1", "process.terminal: must be a boolean, got integer"},
    {"/process/noNewPrivileges", "1e999", "process.noNewPrivileges: must be a boolean, got number"},
    {"/process/user/additionalGids", "{}", "process.user.additionalGids: must be an array, got object"},
    {"/process/capabilities", "[]", "process.capabilities: must be an object, got list"},
    {"/process/capabilities", R"({"bounding": "CAP_KILL"})",
     "process.capabilities.bounding: must be an array, got string"},
    {"/process/rlimits", "{}", "process.rlimits: must be an array, got object"},
    {"/process/rlimits", "[1]", "process.rlimits[0]: must be an object, got integer"},
    {"/process/consoleSize", "[25, 80]", "process.consoleSize: must be an object, got list"},
    {"/process/scheduler", R"({"nice": 1})", "process.scheduler.policy: is required"},
    {"/root", "\"rootfs\"", "root: must be an object, got string"},
    {"/root/readonly", "1e999", "root.readonly: must be a boolean, got number"},
    {"/mounts", "{}", "mounts: must be an array, got object"},
    {"/mounts/0", "\"/proc\"", "mounts[0]: must be an object, got string"},
    {"/mounts/0/options", "\"ro\"", "mounts[0].options: must be an array, got string"},
    {"/mounts/0/uidMappings", "{}", "mounts[0].uidMappings: must be an array, got object"},
    {"/hooks", "[]", "hooks: must be an object, got list"},
    {"/hooks", R"({"prestart": {}})", "hooks.prestart: must be an array, got object"},
    {"/hooks", R"({"prestart": ["/bin/true"]})", "hooks.prestart[0]: must be an object, got string"},
    {"/hooks", R"({"prestart": [{"path": "/bin/true", "args": "x"}]})",
     "hooks.prestart[0].args: must be an array, got string"},
    {"/annotations", "[]", "annotations: must be an object, got list"},
    {"/annotations", R"({"a": {}})", "annotations.a: must be a string, got object"},
    {"/linux", "[]", "linux: must be an object, got list"},
    {"/linux/namespaces", "{}", "linux.namespaces: must be an array, got object"},
    {"/linux/namespaces", R"(["pid"])", "linux.namespaces[0]: must be an object, got string"},
    {"/linux/uidMappings", "{}", "linux.uidMappings: must be an array, got object"},
    {"/linux/devices", R"({"a": 1})", "linux.devices: must be an array, got object"},
    {"/linux/maskedPaths", "{}", "linux.maskedPaths: must be an array, got object"},
    {"/linux/sysctl", "[]", "linux.sysctl: must be an object, got list"},
    {"/linux/resources", "[]", "linux.resources: must be an object, got list"},
    {"/linux/resources", R"({"memory": []})", "linux.resources.memory: must be an object, got list"},
    {"/linux/resources", R"({"memory": {"disableOOMKiller": "true"}})",
     "linux.resources.memory.disableOOMKiller: must be a boolean, got string"},
    {"/linux/resources", R"({"cpu": 1})", "linux.resources.cpu: must be an object, got integer"},
    {"/linux/resources", R"({"pids": true})", "linux.resources.pids: must be an object, got boolean"},
    {"/linux/resources", R"({"pids": {"limit": null}})", "linux.resources.pids.limit: is required"},
    {"/linux/resources", R"({"devices": {}})", "linux.resources.devices: must be an array, got object"},
    {"/linux/resources", R"({"devices": [{"allow": "yes"}]})",
     "linux.resources.devices[0].allow: must be a boolean, got string"},
    {"/linux/resources", R"({"blockIO": []})", "linux.resources.blockIO: must be an object, got list"},
    {"/linux/resources", R"({"blockIO": {"weightDevice": {}}})",
     "linux.resources.blockIO.weightDevice: must be an array, got object"},
    {"/linux/resources", R"({"hugepageLimits": {}})", "linux.resources.hugepageLimits: must be an array, got object"},
    {"/linux/resources", R"({"network": []})", "linux.resources.network: must be an object, got list"},
    {"/linux/resources", R"({"network": {"priorities": {}}})",
     "linux.resources.network.priorities: must be an array, got object"},
    {"/linux/resources", R"({"rdma": []})", "linux.resources.rdma: must be an object, got list"},
    {"/linux/resources", R"({"rdma": {"mlx5_1": 1}})", "linux.resources.rdma.mlx5_1: must be an object, got integer"},
    {"/linux/resources", R"({"unified": []})", "linux.resources.unified: must be an object, got list"},
    {"/linux/seccomp", "[]", "linux.seccomp: must be an object, got list"},
    {"/linux/seccomp", R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {}})",
     "linux.seccomp.syscalls: must be an array, got object"},
    {"/linux/seccomp", R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["a"], "action": "SCMP_ACT_LOG", "args": {}}]})",
     "linux.seccomp.syscalls[0].args: must be an array, got object"},
    {"/linux/timeOffsets", "[]", "linux.timeOffsets: must be an object, got list"},
    {"/linux/personality", "\"LINUX\"", "linux.personality: must be an object, got string"},
    {"/linux/intelRdt", R"({"enableCMT": "yes"})", "linux.intelRdt.enableCMT: must be a boolean, got string"},
};

INSTANTIATE_TEST_SUITE_P(Table, StructureTypes, ::testing::ValuesIn(kTypeCases));

// ---- The fuzzer's seed corpus (tests/data/fuzz/config) ------------------------------

TEST(FuzzSeeds, ParseAsIntended) {
  // Seeds start the fuzzer deep in the parser: each valid one must pass, and
  // hostile-* ones must be refused with a Config error.
  namespace fs = std::filesystem;
  int seen = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(PVEKIT_TEST_DATA_DIR) / "fuzz" / "config")) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    auto spec = parse_spec_text(text.str());
    std::string name = entry.path().filename().string();
    SCOPED_TRACE(name);
    ++seen;
    if (name.rfind("hostile-", 0) == 0) {
      ASSERT_FALSE(spec.ok());
      EXPECT_EQ(spec.error().category(), core::ErrorCategory::Config) << spec.error().to_string();
    } else {
      EXPECT_TRUE(spec.ok()) << spec.error().to_string();
      EXPECT_LE(text.str().size(), 4096u) << "keep seeds small";
    }
  }
  EXPECT_GE(seen, 5);
}

}  // namespace
}  // namespace pvekit::oci
