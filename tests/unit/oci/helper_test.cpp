#include "oci/helper.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/files.h"
#include "oci/proxmox_helper.h"
#include "oci/systemd_helper.h"

namespace pvekit::oci {
namespace {

using linux::UnitProperty;

TEST(Helpers, PathIsRelativeToTheExecutable) {
  const std::string path = proxmox_helper_path("/opt/x/bin/lxcri");
  EXPECT_TRUE(path.starts_with("/opt/x/")) << path;
  EXPECT_TRUE(path.ends_with("/pvekit/lxcri-proxmox")) << path;
  EXPECT_EQ(path.find(".."), std::string::npos) << path;
}

TEST(Helpers, MissingSystemdHelperNamesPathAndReason) {
  auto bus = connect_systemd_helper("/nonexistent/pvekit/lxcri-systemd");
  ASSERT_FALSE(bus.ok());
  EXPECT_EQ(bus.error().message(),
            "the systemd cgroup driver helper /nonexistent/pvekit/lxcri-systemd could not be run: "
            "No such file or directory");
}

// A stand-in lxcri-systemd: records its argv and stdin, then exits `status`
// with `error` on stderr.
class StandIn : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lxcri-helper-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(int status, const std::string& error) {
    std::string path = dir_ + "/lxcri-systemd";
    std::ofstream(path) << "#!/bin/sh\necho \"$*\" > " << dir_ << "/argv\ncat > " << dir_ << "/stdin\necho '" << error
                        << "' >&2\nexit " << status << "\n";
    ::chmod(path.c_str(), 0755);
    return path;
  }
  std::string recorded(const std::string& what) { return core::read_file(dir_ + "/" + what).value_or("<none>"); }

  std::string dir_;
};

TEST_F(StandIn, CallsCarryMethodUnitAndProperties) {
  auto bus = connect_systemd_helper(write(0, ""));
  ASSERT_TRUE(bus.ok()) << bus.error().to_string();
  const std::vector<UnitProperty> props = {{"Delegate", true}, {"MemoryMax", uint64_t{1} << 40}};
  ASSERT_TRUE((*bus)->start_transient_unit("lxcri-a.scope", props).ok());
  EXPECT_EQ(recorded("argv"), "start-transient-unit lxcri-a.scope\n");
  auto sent = linux::unit_properties_from_json(recorded("stdin"));
  ASSERT_TRUE(sent.ok()) << sent.error().to_string();
  EXPECT_EQ(*sent, props);
  ASSERT_TRUE((*bus)->stop_unit("lxcri-a.scope").ok());
  EXPECT_EQ(recorded("argv"), "stop-unit lxcri-a.scope\n");
  EXPECT_EQ(recorded("stdin"), "");
}

// An update of files only (io.max) has no unit property; the helper still
// gets a list to parse (the VM run found it sent nothing).
TEST_F(StandIn, NoPropertiesIsAnEmptyListTheHelperAccepts) {
  auto bus = connect_systemd_helper(write(0, ""));
  ASSERT_TRUE(bus.ok());
  ASSERT_TRUE((*bus)->set_unit_properties("lxcri-a.scope", {}).ok());
  EXPECT_EQ(recorded("argv"), "set-unit-properties lxcri-a.scope\n");
  auto sent = linux::unit_properties_from_json(recorded("stdin"));
  ASSERT_TRUE(sent.ok()) << "sent " << recorded("stdin") << ": " << sent.error().to_string();
  EXPECT_TRUE(sent->empty());
}

TEST_F(StandIn, FailureComesBackWithTheHelpersError) {
  auto bus = connect_systemd_helper(write(1, "systemd: StopUnit: Access denied"));
  ASSERT_TRUE(bus.ok());
  auto s = (*bus)->stop_unit("lxcri-a.scope");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "systemd: StopUnit: Access denied");
  auto silent = connect_systemd_helper(write(2, ""));
  auto t = (*silent)->stop_unit("x.scope");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().message(), "exit status 2");
}

// Records into a log that outlives it: serve_systemd_call drops its bus.
class RecordingBus final : public linux::SystemdBus {
 public:
  explicit RecordingBus(std::vector<std::string>& calls) : calls_(calls) {}
  core::Status start_transient_unit(const std::string& unit, const std::vector<UnitProperty>& p) override {
    calls_.push_back("start " + unit + " " + std::to_string(p.size()));
    return core::ok();
  }
  core::Status set_unit_properties(const std::string& unit, const std::vector<UnitProperty>& p) override {
    calls_.push_back("set " + unit + " " + std::to_string(p.size()));
    return core::ok();
  }
  core::Status stop_unit(const std::string& unit) override {
    calls_.push_back("stop " + unit);
    return core::Error(core::ErrorCategory::Runtime, "systemd: StopUnit: no");
  }

 private:
  std::vector<std::string>& calls_;
};

TEST(SystemdHelperServer, RunsTheNamedCall) {
  std::vector<std::string> calls;
  auto connect = [&]() -> core::Result<std::unique_ptr<linux::SystemdBus>> {
    return std::unique_ptr<linux::SystemdBus>(std::make_unique<RecordingBus>(calls));
  };
  std::ostringstream err;
  const std::string props = linux::unit_properties_to_json({{"CPUWeight", uint64_t{100}}});
  EXPECT_EQ(serve_systemd_call({"set-unit-properties", "u.scope"}, props, connect, err), 0);
  EXPECT_EQ(serve_systemd_call({"stop-unit", "u.scope"}, "", connect, err), 1);
  EXPECT_EQ(calls, (std::vector<std::string>{"set u.scope 1", "stop u.scope"}));
  EXPECT_EQ(err.str(), "systemd: StopUnit: no\n");
}

TEST(SystemdHelperServer, RefusesBadCallsBeforeConnecting) {
  bool connected = false;
  auto connect = [&]() -> core::Result<std::unique_ptr<linux::SystemdBus>> {
    connected = true;
    return core::Error(core::ErrorCategory::Runtime, "unexpected");
  };
  for (const auto& args : std::vector<std::vector<std::string>>{
           {}, {"stop-unit"}, {"reboot", "u.scope"}, {"stop-unit", "u.scope", "extra"}}) {
    std::ostringstream err;
    EXPECT_EQ(serve_systemd_call(args, "", connect, err), 1);
    EXPECT_NE(err.str().find("usage: lxcri-systemd"), std::string::npos) << err.str();
  }
  for (const char* hostile : {"", "{", "{}", "[1]", "[{\"name\":\"A\",\"type\":\"x\",\"value\":1}]",
                              "[{\"name\":\"A\",\"type\":\"ay\",\"value\":[256]}]",
                              "[{\"name\":\"A\",\"type\":\"au\",\"value\":[-1]}]",
                              "[{\"name\":\"A\",\"type\":\"au\",\"value\":[4294967296]}]",
                              "[{\"name\":\"A\",\"type\":\"t\",\"value\":-5}]",
                              "[{\"name\":\"A\",\"type\":\"t\",\"value\":1e999}]",
                              "[{\"name\":\"\",\"type\":\"b\",\"value\":true}]",
                              "[{\"name\":\"A\",\"type\":\"a(ss)\",\"value\":[[\"/dev/null\"]]}]",
                              "[{\"name\":\"A\",\"type\":\"s\"}]"}) {
    std::ostringstream err;
    EXPECT_EQ(serve_systemd_call({"start-transient-unit", "u.scope"}, hostile, connect, err), 1) << hostile;
    EXPECT_FALSE(err.str().empty()) << hostile;
  }
  EXPECT_FALSE(connected);
}

TEST(UnitPropertiesJson, EveryTypeRoundTrips) {
  const std::vector<UnitProperty> props = {
      {"Delegate", true},
      {"MemoryMax", linux::kSystemdInfinity},
      {"Slice", std::string("system.slice")},
      {"AllowedCPUs", std::vector<uint8_t>{0x0f, 0xff}},
      {"DeviceAllow", std::vector<linux::DeviceAllowEntry>{{"/dev/null", "rwm"}, {"char-pts", "rw"}}},
      {"PIDs", std::vector<uint32_t>{1, 4294967295u}},
  };
  auto back = linux::unit_properties_from_json(linux::unit_properties_to_json(props));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(*back, props);
}

}  // namespace
}  // namespace pvekit::oci
