#include "oci/runtime_config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.h"

namespace pvekit::oci {
namespace {

class RuntimeConfigTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    std::string path = tmp_.path() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  ConfigSources sources(const std::string& file = "") {
    return ConfigSources{.file = file, .default_file = tmp_.path() + "/absent.json"};
  }
  pvekit::testing::TempDir tmp_{"lxcri-config"};
};

TEST_F(RuntimeConfigTest, DefaultsWithoutAnyFile) {
  auto c = load_runtime_config(sources());
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->root, "/run/lxcri");
  EXPECT_EQ(c->default_backend, "linux");
  EXPECT_TRUE(c->rules.empty());
  EXPECT_TRUE(c->proxmox_api.hosts.empty());
  EXPECT_EQ(c->proxmox.template_storage, "local");
  EXPECT_EQ(c->proxmox.rootfs_storage, "local-lvm");
  EXPECT_EQ(c->proxmox.networks, std::vector<std::string>{"name=eth0,bridge=vmbr0,ip=dhcp"});
  EXPECT_TRUE(c->proxmox.unprivileged);
  EXPECT_EQ(c->sources.at("proxmox.node"), "default");
}

TEST_F(RuntimeConfigTest, LayersFileThenEnvironmentThenFlags) {
  auto file = write("lxcri.json", R"({"root": "/tmp/from-file", "default_backend": "proxmox",
    "proxmox": {"node": "pve1", "rootfs_size": 4},
    "routing": {"rules": {"web": {"backend": "linux", "id": "^web-"}}}})");
  auto s = sources(file);
  s.environment = {{"LXCRI_PROXMOX_NODE", "pve2"}, {"LXCRI_ROOT", "/tmp/from-env"}, {"HOME", "/root"}};
  s.flags = {{"root", "/tmp/from-flag"}};
  auto c = load_runtime_config(s);
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->root, "/tmp/from-flag");
  EXPECT_EQ(c->sources.at("root"), "flag root");
  EXPECT_EQ(c->proxmox.node, "pve2");
  EXPECT_EQ(c->sources.at("proxmox.node"), "env LXCRI_PROXMOX_NODE");
  EXPECT_EQ(c->proxmox.rootfs_size_gib, 4);
  EXPECT_EQ(c->sources.at("proxmox.rootfs_size"), file);
  EXPECT_EQ(c->default_backend, "proxmox");
  ASSERT_EQ(c->rules.size(), 1u);
  EXPECT_EQ(c->rules[0].name, "web");
}

TEST_F(RuntimeConfigTest, LsmUnavailableIsRefuseOrWarn) {
  auto c = load_runtime_config(sources());
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->lsm_unavailable_warn) << "a spec asking for confinement is refused by default";
  auto warn = load_runtime_config(sources(write("warn.json", R"({"security": {"lsm_unavailable": "warn"}})")));
  ASSERT_TRUE(warn.ok()) << warn.error().to_string();
  EXPECT_TRUE(warn->lsm_unavailable_warn);
  auto bad = load_runtime_config(sources(write("bad.json", R"({"security": {"lsm_unavailable": "ignore"}})")));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().to_string().find("security.lsm_unavailable"), std::string::npos) << bad.error().to_string();
}

TEST_F(RuntimeConfigTest, ConfigFileFromEnvironmentAndDefaultPath) {
  auto file = write("other.yaml", "proxmox:\n  pool: apps\n");
  auto s = sources();
  s.environment = {{"LXCRI_CONFIG", file}};
  auto c = load_runtime_config(s);
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->proxmox.pool, "apps");
  auto d = sources();
  d.default_file = file;
  c = load_runtime_config(d);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->proxmox.pool, "apps");
}

TEST_F(RuntimeConfigTest, UnknownKeysAndBadValuesAreRejectedByName) {
  struct Case {
    std::string json;
    std::string message;
  } cases[] = {
      {R"({"proxmox": {"nodes": "x"}})", "proxmox.nodes"},
      {R"({"default_backend": "kvm"})", "default_backend"},
      {R"({"root": "relative"})", "key 'root': must be an absolute path"},
      {R"({"proxmox": {"rootfs_size": 0}})", "proxmox.rootfs_size"},
      {R"({"proxmox": {"networks": ["bridge=vmbr0"]}})", "proxmox.networks"},
      {R"({"proxmox_api": {"hosts": ["https://x"]}})", "proxmox_api.hosts"},
      {R"({"proxmox_api": {"ssl_verification": false, "ca_file": "/x"}})", "proxmox_api.ssl_verification"},
      {R"({"routing": {"rules": {"r": {"backend": "linux"}}}})", "routing.rules.r"},
  };
  for (const auto& c : cases) {
    auto r = load_runtime_config(sources(write("bad.json", c.json)));
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_NE(r.error().to_string().find(c.message), std::string::npos) << r.error().to_string();
  }
  auto s = sources();
  s.environment = {{"LXCRI_PROXMOX_NOPE", "1"}};
  auto r = load_runtime_config(s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().to_string().find("LXCRI_PROXMOX_NOPE"), std::string::npos);
}

TEST_F(RuntimeConfigTest, ReportRedactsSecretsAndNamesSources) {
  auto s = sources(write("c.json", R"({"proxmox_api": {"hosts": ["pve1"], "pass": "hunter2-secret"}})"));
  auto c = load_runtime_config(s);
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  auto report = config_report(*c);
  EXPECT_EQ(report["proxmox_api.hosts"]["value"], core::Json::array({"pve1"}));
  EXPECT_EQ(report["proxmox_api.hosts"]["source"], s.file);
  EXPECT_EQ(report["proxmox.ostype"]["source"], "default");
  EXPECT_EQ(report.dump().find("hunter2-secret"), std::string::npos);
  EXPECT_TRUE(report.contains("checkpoint.driver")) << "the checkpoint section is contributed by src/snapshot";
}

TEST(ApiConfig, ClientOptionsFromConfigAndSecretFiles) {
  pve::ApiConfig api;
  api.hosts = {"10.0.0.1", "[fd00::1]:8007"};
  api.user = "root@pam";
  api.token_id = "root@pam!lxcri";
  api.token_secret_file = "/secret";
  api.ssl_fingerprint = {"AA:BB"};
  auto o = pve::to_client_options(api, [](const std::string& path) -> core::Result<std::string> {
    EXPECT_EQ(path, "/secret");
    return std::string("uuid-secret\n");
  });
  ASSERT_TRUE(o.ok()) << o.error().to_string();
  EXPECT_EQ(o->hosts, (std::vector<std::string>{"10.0.0.1:8006", "[fd00::1]:8007"}));
  EXPECT_EQ(o->token_secret, "uuid-secret");
  EXPECT_EQ(o->tls.verify, pve::TlsVerify::Fingerprint);
  api.pass = "x";
  auto both = pve::to_client_options(api, [](const std::string&) { return core::Result<std::string>(std::string("s")); });
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.error().message().find("proxmox_api.pass"), std::string::npos);
  pve::ApiConfig none;
  none.user = "root@pam";
  none.hosts = {"pve1"};
  auto missing = pve::to_client_options(none, [](const std::string&) { return core::Result<std::string>(std::string()); });
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("no credentials"), std::string::npos);
}

}  // namespace
}  // namespace pvekit::oci
