// The shared proxmox_api section (proxlb and lxcri): schema defaults,
// validation naming the key, and the conversion to ClientOptions.
#include "pve/api_config.h"

#include <gtest/gtest.h>

#include <map>

#include "core/json.h"

namespace pvekit::pve {
namespace {

const core::ConfigSchema& schema() {
  static const core::ConfigSchema s = [] {
    core::ConfigSchema out;
    add_api_keys(out);
    return out;
  }();
  return s;
}

core::Result<ApiConfig> read(const std::string& yaml, const std::map<std::string, std::string>& env = {}) {
  core::LayeredConfig layers(schema());
  PVEKIT_ASSIGN(core::Json doc, core::parse_yaml(yaml, "f.yaml"));
  PVEKIT_TRY(layers.merge_document(doc, "f.yaml"));
  PVEKIT_TRY(layers.merge_environment(env, "PROXLB_", {}));
  return read_api_config(layers);
}

SecretFileReader files(std::map<std::string, std::string> contents) {
  return [contents = std::move(contents)](const std::string& path) -> core::Result<std::string> {
    auto it = contents.find(path);
    if (it == contents.end()) return core::Error(core::ErrorCategory::NotFound, "cannot open '" + path + "'");
    return it->second;
  };
}

TEST(ApiConfigSection, DefaultsAndEnvironment) {
  auto a = read("{}", {{"PROXLB_PROXMOX_API_HOSTS", "pve1,[fd00::1]:8007"}, {"PROXLB_PROXMOX_API_TIMEOUT", "30"}});
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  EXPECT_EQ(a->hosts, (std::vector<std::string>{"pve1", "[fd00::1]:8007"}));
  EXPECT_EQ(a->user, "root@pam");
  EXPECT_TRUE(a->ssl_verification);
  EXPECT_TRUE(a->ssl_fingerprint.empty());
  EXPECT_EQ(a->timeout, 30);
  EXPECT_EQ(a->retries, 1);
  EXPECT_EQ(a->wait_time, 1);
  auto none = read("{}");
  ASSERT_TRUE(none.ok()) << none.error().to_string();
  EXPECT_TRUE(none->hosts.empty()) << "the caller decides whether the cluster is needed";
}

TEST(ApiConfigSection, ReadRejectsBadHostsAndTlsCombinations) {
  const std::pair<const char*, const char*> cases[] = {
      {"proxmox_api:\n  hosts: ['pve1:99999']\n", "key 'proxmox_api.hosts': host 'pve1:99999': port must be"},
      {"proxmox_api:\n  hosts: ['https://pve1']\n", "key 'proxmox_api.hosts'"},
      {"proxmox_api:\n  ssl_fingerprint: [AA:BB]\n  ca_file: /ca.pem\n",
       "key 'proxmox_api.ssl_fingerprint': set either ssl_fingerprint or ca_file"},
      {"proxmox_api:\n  ssl_verification: false\n  ca_file: /ca.pem\n", "key 'proxmox_api.ssl_verification'"},
  };
  for (const auto& [yaml, expected] : cases) {
    auto a = read(yaml);
    ASSERT_FALSE(a.ok()) << yaml;
    EXPECT_EQ(a.error().category(), core::ErrorCategory::Config) << yaml;
    EXPECT_NE(a.error().to_string().find(expected), std::string::npos) << a.error().to_string();
  }
}

TEST(ApiConfigSection, CheckRequiresHostsAndExactlyOneWayToAuthenticate) {
  auto with = [](auto change) {
    ApiConfig a;
    a.hosts = {"pve1"};
    a.user = "root@pam";
    change(a);
    return check_api_config(a, "cluster");
  };
  EXPECT_TRUE(with([](ApiConfig& a) { a.pass = "x"; }).ok());
  EXPECT_TRUE(with([](ApiConfig& a) { a.token_id = "t"; a.token_secret_file = "/s"; }).ok());
  const std::pair<void (*)(ApiConfig&), const char*> cases[] = {
      {[](ApiConfig& a) { a.hosts.clear(); a.pass = "x"; }, "key 'cluster.hosts': at least one host"},
      {[](ApiConfig&) {}, "key 'cluster': no credentials"},
      {[](ApiConfig& a) { a.user = "root"; a.pass = "x"; }, "key 'cluster.user': expected user@realm"},
      {[](ApiConfig& a) { a.pass = "x"; a.pass_file = "/p"; }, "key 'cluster.pass': set either pass or pass_file"},
      {[](ApiConfig& a) { a.token_id = "t"; a.token_secret = "s"; a.token_secret_file = "/s"; },
       "key 'cluster.token_secret': set either token_secret or token_secret_file"},
      {[](ApiConfig& a) { a.pass_file = "/p"; a.token_id = "t"; a.token_secret = "s"; },
       "key 'cluster.pass': use either a password or an API token"},
      {[](ApiConfig& a) { a.token_id = "t"; }, "key 'cluster.token_id': token_id is set but token_secret is missing"},
      {[](ApiConfig& a) { a.token_secret_file = "/s"; }, "key 'cluster.token_secret': token_secret is set but token_id"},
  };
  for (const auto& [change, expected] : cases) {
    auto st = with(change);
    ASSERT_FALSE(st.ok()) << expected;
    EXPECT_EQ(st.error().category(), core::ErrorCategory::Config) << expected;
    EXPECT_NE(st.error().to_string().find(expected), std::string::npos) << st.error().to_string();
  }
}

TEST(ApiConfigSection, SecretFilesLoseOneTrailingNewline) {
  ApiConfig a;
  a.hosts = {"pve1"};
  a.user = "root@pam";
  a.pass_file = "/run/pass";
  auto crlf = to_client_options(a, files({{"/run/pass", "pa55\r\n"}}));
  ASSERT_TRUE(crlf.ok()) << crlf.error().to_string();
  EXPECT_EQ(crlf->password, "pa55");
  auto two = to_client_options(a, files({{"/run/pass", "pa55\n\n"}}));
  ASSERT_TRUE(two.ok()) << two.error().to_string();
  EXPECT_EQ(two->password, "pa55\n");
  auto empty = to_client_options(a, files({{"/run/pass", "\n"}}));
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().to_string().find("key 'proxmox_api.pass_file': secret file '/run/pass' is empty"),
            std::string::npos)
      << empty.error().to_string();
  auto missing = to_client_options(a, files({}));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().to_string().find("key 'proxmox_api.pass_file'"), std::string::npos)
      << missing.error().to_string();
  EXPECT_NE(missing.error().to_string().find("cannot open '/run/pass'"), std::string::npos)
      << missing.error().to_string();
}

TEST(ApiConfigSection, TlsAndLimitsMapToClientOptions) {
  ApiConfig a;
  a.hosts = {"fe01::bad:code::cafe", "pve2:8443"};
  a.user = "root@pam";
  a.pass = "x";
  a.timeout = 20;
  a.retries = 3;
  a.wait_time = 5;
  auto system = to_client_options(a, files({}));
  ASSERT_TRUE(system.ok()) << system.error().to_string();
  EXPECT_EQ(system->hosts, (std::vector<std::string>{"[fe01::bad:code::cafe]:8006", "pve2:8443"}));
  EXPECT_EQ(system->tls.verify, TlsVerify::System);
  EXPECT_EQ(system->timeout, std::chrono::seconds(20));
  EXPECT_EQ(system->retries, 2);
  EXPECT_EQ(system->backoff, std::chrono::seconds(5));
  a.ca_file = "/ca.pem";
  auto ca = to_client_options(a, files({}));
  ASSERT_TRUE(ca.ok()) << ca.error().to_string();
  EXPECT_EQ(ca->tls.verify, TlsVerify::CaFile);
  EXPECT_EQ(ca->tls.ca_file, "/ca.pem");
  a.ssl_verification = false;
  a.ca_file.clear();
  auto insecure = to_client_options(a, files({}));
  ASSERT_TRUE(insecure.ok()) << insecure.error().to_string();
  EXPECT_EQ(insecure->tls.verify, TlsVerify::Insecure);
}

}  // namespace
}  // namespace pvekit::pve
