#include "oci/cli.h"

#include <gtest/gtest.h>

#include "support/temp_dir.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/json.h"
#include "oci/spec.h"

namespace pvekit::oci {
namespace {

struct Run {
  int code;
  std::string out, err;
};

Run run(std::vector<std::string> args) {
  args.insert(args.begin(), "lxcri");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::ostringstream out, err;
  int code = run_cli(static_cast<int>(args.size()), argv.data(), out, err);
  return {code, out.str(), err.str()};
}

class CliTest : public ::testing::Test {
 protected:
  pvekit::testing::TempDir tmp_{"lxcri-cli"};
  const std::string& dir_ = tmp_.path();
};

TEST(SealedBinary, OnlyForCommandsThatStartContainers) {
  struct Case {
    std::vector<std::string> args;
    bool sealed;
  };
  const Case cases[] = {{{"lxcri", "create", "x"}, true},
                        {{"lxcri", "run", "x"}, true},
                        {{"lxcri", "--root", "/tmp/r", "run", "x"}, true},
                        {{"lxcri", "--debug", "--log", "create", "state", "x"}, false},  // "create" is the log file
                        {{"lxcri", "--root=/r", "create", "x"}, true},
                        {{"lxcri", "state", "run"}, false},
                        {{"lxcri", "--log-format", "json", "list"}, false},
                        {{"lxcri"}, false}};
  for (auto c : cases) {
    std::vector<char*> argv;
    for (auto& a : c.args) argv.push_back(a.data());
    EXPECT_EQ(cli_needs_sealed_binary(static_cast<int>(argv.size()), argv.data()), c.sealed)
        << ::testing::PrintToString(c.args);
  }
}

TEST_F(CliTest, SpecWritesAValidConfigAndRefusesToOverwrite) {
  auto r = run({"--root", dir_ + "/root", "spec", "--bundle", dir_});
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream in(dir_ + "/config.json");
  std::stringstream text;
  text << in.rdbuf();
  auto spec = parse_spec_text(text.str());
  ASSERT_TRUE(spec.ok()) << spec.error().to_string();
  EXPECT_EQ(spec->process->args, std::vector<std::string>{"sh"});
  auto again = run({"--root", dir_ + "/root", "spec", "-b", dir_});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("exists"), std::string::npos) << again.err;
}

TEST_F(CliTest, RootlessSpecHasAUserNamespace) {
  ASSERT_EQ(run({"spec", "--rootless", "--bundle", dir_}).code, 0);
  std::ifstream in(dir_ + "/config.json");
  auto j = core::Json::parse(in);
  EXPECT_EQ(j["linux"]["uidMappings"][0]["containerID"], 0);
}

TEST_F(CliTest, ListOfAnEmptyRootPrintsTheHeaderOrNothing) {
  auto table = run({"--root", dir_ + "/none", "list"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_EQ(table.out.rfind("ID", 0), 0u);
  EXPECT_EQ(table.out.find('\n'), table.out.size() - 1) << "only the header";
  EXPECT_EQ(run({"--root", dir_ + "/none", "list", "-q"}).out, "");
  EXPECT_EQ(run({"--root", dir_ + "/none", "list", "--format", "json"}).out, "null\n");
  EXPECT_EQ(run({"--root", dir_ + "/none", "list", "--format", "yaml"}).code, 1);
}

TEST_F(CliTest, MissingContainerFailsWithAMessage) {
  for (std::string verb : {"state", "start", "kill", "delete", "pause", "resume", "ps"}) {
    auto r = run({"--root", dir_, verb, "ghost"});
    EXPECT_EQ(r.code, 1) << verb;
    EXPECT_NE(r.err.find("container \"ghost\" does not exist"), std::string::npos) << verb << ": " << r.err;
  }
  EXPECT_EQ(run({"--root", dir_, "delete", "--force", "ghost"}).code, 0);
}

TEST_F(CliTest, ErrorsAreLoggedAsJsonWithLog) {
  std::string log = dir_ + "/log.json";
  auto r = run({"--root", dir_, "--log", log, "--log-format", "json", "state", "ghost"});
  EXPECT_EQ(r.code, 1);
  std::ifstream in(log);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  auto j = core::Json::parse(line);
  EXPECT_EQ(j["level"], "error");
  EXPECT_NE(j["msg"].get<std::string>().find("ghost"), std::string::npos);
  EXPECT_TRUE(j.contains("time"));
}

TEST_F(CliTest, UsageErrors) {
  // podman passes --systemd-cgroup to every command: only create uses it.
  EXPECT_EQ(run({"--root", dir_, "--systemd-cgroup", "list"}).code, 0);
  EXPECT_EQ(run({"frobnicate"}).code, 1);
  EXPECT_EQ(run({"start"}).code, 1) << "missing id";
  EXPECT_EQ(run({"--root", dir_, "kill", "ghost", "NOSIG"}).code, 1);
  EXPECT_NE(run({"--root", dir_, "kill", "ghost", "NOSIG"}).err.find("unknown signal"), std::string::npos);
  EXPECT_EQ(run({"--root", dir_, "create", "bad/id"}).code, 1);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/bad"));
}

TEST_F(CliTest, FeaturesAndVersion) {
  auto f = run({"features"});
  ASSERT_EQ(f.code, 0);
  auto j = core::Json::parse(f.out);
  EXPECT_EQ(j["ociVersionMin"], "1.0.0");
  EXPECT_EQ(j["hooks"].size(), 6u);
  EXPECT_TRUE(j["linux"]["cgroup"]["v1"].get<bool>());
  EXPECT_TRUE(j["linux"]["cgroup"]["systemd"].get<bool>());
  // The host: this machine is hybrid or v1 without systemd as init (ENVIRONMENT.md), a VM is v2.
  const auto& host = j["annotations"];
  EXPECT_TRUE(host.contains("org.pvekit.lxcri.host.cgroup")) << host.dump();
  if (host["org.pvekit.lxcri.host.cgroup"] != "v2") {
    EXPECT_EQ(host["org.pvekit.lxcri.host.systemdCgroup"], "false");
  }
  EXPECT_NE(std::find(j["mountOptions"].begin(), j["mountOptions"].end(), "rbind"), j["mountOptions"].end());
  auto v = run({"--version"});
  EXPECT_EQ(v.code, 0);
  EXPECT_EQ(v.out.rfind("lxcri version ", 0), 0u) << v.out;
}

}  // namespace
}  // namespace pvekit::oci
