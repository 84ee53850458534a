#include "balance/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "pve/api_config.h"

namespace pvekit::balance {
namespace {

// ProxLB's own example file (config/proxlb_example.yaml), unchanged.
constexpr const char* kProxLBExample = R"(proxmox_api:
  hosts: ['virt01.example.com', '10.10.10.10', 'fe01::bad:code::cafe']
  user: root@pam
  pass: crazyPassw0rd!
  # API Token method
  # token_id: proxlb
  # token_secret: 430e308f-1337-1337-beef-1337beefcafe
  ssl_verification: True
  timeout: 10
  # API Connection retries
  # retries: 1
  # wait_time: 1

proxmox_cluster:
  maintenance_nodes: ['virt66.example.com']
  ignore_nodes: []
  overprovisioning: True

balancing:
  enable: True
  enforce_affinity: False
  parallel: False
  parallel_jobs: 1
  live: True
  with_local_disks: True
  balance_types: ['vm', 'ct']
  max_job_validation: 1800
  balanciness: 5
  method: memory
  mode: used

dpm:
  enable: True
  method: memory
  mode: static
  cluster_min_free_resources: 60
  cluster_min_nodes: 1

service:
  daemon: True
  schedule:
    interval: 12
    format: hours
  delay:
    enable: False
    time: 1
    format: hours
  log_level: INFO
)";

constexpr const char* kMinimal = "proxmox_api:\n  hosts: [pve1]\n  pass: secret\n";

core::Result<std::string> no_secret_files(const std::string& path) {
  ADD_FAILURE() << "unexpected secret file " << path;
  return core::Error(core::ErrorCategory::Internal, "unexpected secret file");
}

TEST(ProxlbConfig, AcceptsProxLBsExampleFile) {
  auto cfg = load_config(kProxLBExample, "proxlb_example.yaml", {});
  ASSERT_TRUE(cfg.ok()) << cfg.error().to_string();
  auto api = pve::to_client_options(cfg->proxmox_api, no_secret_files);
  ASSERT_TRUE(api.ok()) << api.error().to_string();
  EXPECT_EQ(api->hosts,
            (std::vector<std::string>{"virt01.example.com:8006", "10.10.10.10:8006", "[fe01::bad:code::cafe]:8006"}));
  EXPECT_EQ(api->password, "crazyPassw0rd!");
  EXPECT_EQ(api->tls.verify, pve::TlsVerify::System);
  EXPECT_EQ(api->timeout, std::chrono::seconds(10));
  EXPECT_EQ(cfg->proxmox_cluster.maintenance_nodes, std::vector<std::string>{"virt66.example.com"});
  EXPECT_EQ(cfg->balancing.parallel_jobs, 1);
  EXPECT_DOUBLE_EQ(cfg->balancing.balanciness, 5.0);
  EXPECT_EQ(cfg->balancing.method, Method::Memory);
  EXPECT_EQ(cfg->balancing.mode, Mode::Used);
  EXPECT_EQ(cfg->service.schedule_seconds(), 12 * 3600);
  EXPECT_EQ(cfg->service.delay_seconds(), 0);
}

TEST(ProxlbConfig, AcceptsOurPackagedExample) {
  std::ifstream in(std::string(PVEKIT_SOURCE_DIR) + "/packaging/proxlb.yaml");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  auto cfg = load_config(text.str(), "packaging/proxlb.yaml", {});
  ASSERT_TRUE(cfg.ok()) << cfg.error().to_string();
  EXPECT_FALSE(cfg->balancing.pools.empty());
  EXPECT_GT(cfg->balancing.default_reserve.memory, 0u);
}

TEST(ProxlbConfig, DefaultsMatchProxLB) {
  auto cfg = load_config(kMinimal, "f.yaml", {});
  ASSERT_TRUE(cfg.ok()) << cfg.error().to_string();
  const auto& b = cfg->balancing;
  EXPECT_TRUE(b.enable);
  EXPECT_FALSE(b.parallel);
  EXPECT_TRUE(b.balance_vms && b.balance_cts);
  EXPECT_DOUBLE_EQ(b.balanciness, 5.0);
  EXPECT_FALSE(b.memory_threshold.has_value());
  EXPECT_DOUBLE_EQ(b.weights.memory, 1.0);
  EXPECT_DOUBLE_EQ(b.weights.cpu, 0.0);
  EXPECT_EQ(cfg->proxmox_api.user, "root@pam");
  EXPECT_EQ(cfg->service.log_level, "INFO");
}

TEST(ProxlbConfig, ReadsReservesPoolsWeightsAndOurKeys) {
  auto cfg = load_config(std::string(kMinimal) + R"(balancing:
  method: cpu
  mode: assigned
  memory_threshold: 80
  cpu_overcommit: 4
  node_resource_reserve:
    defaults: {memory: 4, cpu: 1}
    node2: {memory: 8, disk: 100}
  pools:
    db: {type: anti-affinity, pin: [node1, node2]}
    web: {type: affinity, pin: node3}
  weights: {memory: 2, cpu: 1}
  migration_cost: {per_gib: 0.01, min_gain: 0.5}
  history: {enable: true, window_hours: 48, percentile: 90}
service:
  schedule: {interval: 30, format: minutes}
  log_level: debug
)", "f.yaml", {});
  ASSERT_TRUE(cfg.ok()) << cfg.error().to_string();
  const auto& b = cfg->balancing;
  EXPECT_EQ(b.method, Method::Cpu);
  EXPECT_EQ(b.mode, Mode::Assigned);
  EXPECT_DOUBLE_EQ(*b.memory_threshold, 80.0);
  EXPECT_DOUBLE_EQ(b.cpu_overcommit, 4.0);
  EXPECT_EQ(cfg->reserve_for("node1").memory, 4 * kGiB);
  EXPECT_DOUBLE_EQ(cfg->reserve_for("node1").cpus, 1.0);
  EXPECT_EQ(cfg->reserve_for("node2").memory, 8 * kGiB);
  EXPECT_EQ(cfg->reserve_for("node2").disk, 100 * kGiB);
  EXPECT_EQ(b.pools.at("db").type, GroupType::AntiAffinity);
  EXPECT_EQ(b.pools.at("db").pin, (std::vector<std::string>{"node1", "node2"}));
  EXPECT_EQ(b.pools.at("web").pin, std::vector<std::string>{"node3"});
  EXPECT_DOUBLE_EQ(b.weights.memory, 2.0);
  EXPECT_DOUBLE_EQ(b.weights.cpu, 1.0);
  EXPECT_DOUBLE_EQ(b.weights.disk, 0.0);
  EXPECT_DOUBLE_EQ(b.migration_cost.per_gib, 0.01);
  EXPECT_TRUE(b.history.enable);
  EXPECT_EQ(b.history.percentile, 90);
  EXPECT_EQ(cfg->service.schedule_seconds(), 30 * 60);
  EXPECT_EQ(cfg->service.log_level, "DEBUG");
}

TEST(ProxlbConfig, MethodSelectsTheWeightWhenNoWeightsAreGiven) {
  auto cfg = load_config(std::string(kMinimal) + "balancing:\n  method: disk\n", "f.yaml", {});
  ASSERT_TRUE(cfg.ok()) << cfg.error().to_string();
  EXPECT_DOUBLE_EQ(cfg->balancing.weights.memory, 0.0);
  EXPECT_DOUBLE_EQ(cfg->balancing.weights.disk, 1.0);
}

TEST(ProxlbConfig, EnvironmentOverridesTheFile) {
  auto cfg = load_config(std::string(kMinimal) + "balancing:\n  balanciness: 3\n", "f.yaml",
                         {{"PROXLB_BALANCING_BALANCINESS", "7.5"},
                          {"PROXLB_PROXMOX_API_PASS", "from-env"},
                          {"PROXLB_CONFIG", "/etc/proxlb/proxlb.yaml"}});
  ASSERT_TRUE(cfg.ok()) << cfg.error().to_string();
  EXPECT_DOUBLE_EQ(cfg->balancing.balanciness, 7.5);
  EXPECT_EQ(cfg->proxmox_api.pass, "from-env");
}

struct BadCase {
  const char* name;
  std::string yaml;
  std::map<std::string, std::string> env;
  const char* expected;  // substring of the error
};

TEST(ProxlbConfig, RejectsBadConfigurationsNamingTheKey) {
  const std::string m = kMinimal;
  const BadCase cases[] = {
      {"unknown top-level key", m + "balancer:\n  enable: true\n", {}, "unknown key 'balancer'"},
      {"unknown nested key", m + "balancing:\n  balancyness: 3\n", {}, "unknown key 'balancing.balancyness'"},
      {"unknown env variable", m, {{"PROXLB_BALANCING_FOO", "1"}}, "unknown environment variable PROXLB_BALANCING_FOO"},
      {"bad method", m + "balancing:\n  method: ram\n", {}, "'ram' is not one of: memory, cpu, disk"},
      {"bad mode", m + "balancing:\n  mode: static\n", {}, "'static' is not one of: used, assigned, psi"},
      {"bad balance type", m + "balancing:\n  balance_types: [vm, lxc]\n", {}, "'lxc' is not one of: vm, ct"},
      {"empty balance types", m + "balancing:\n  balance_types: []\n", {}, "balance_types"},
      {"balanciness too high", m + "balancing:\n  balanciness: 150\n", {}, "above the maximum 100"},
      {"negative threshold", m + "balancing:\n  memory_threshold: -1\n", {}, "below the minimum 0"},
      {"timeout not a number", "proxmox_api:\n  hosts: [a]\n  pass: x\n  timeout: soon\n", {}, "expected an integer"},
      {"bad log level", m + "service:\n  log_level: LOUD\n", {}, "'LOUD' is not one of"},
      {"bad schedule format", m + "service:\n  schedule: {format: days}\n", {}, "'days' is not one of: hours, minutes"},
      {"reserve not a mapping", m + "balancing:\n  node_resource_reserve: {defaults: 4}\n", {}, "node_resource_reserve.defaults"},
      {"reserve unknown resource", m + "balancing:\n  node_resource_reserve: {defaults: {ram: 4}}\n", {}, "unknown resource"},
      {"reserve negative", m + "balancing:\n  node_resource_reserve: {n1: {memory: -2}}\n", {}, "non-negative"},
      {"pool bad type", m + "balancing:\n  pools: {db: {type: together}}\n", {}, "balancing.pools.db.type"},
      {"pool unknown key", m + "balancing:\n  pools: {db: {sticky: true}}\n", {}, "balancing.pools.db.sticky"},
      {"all weights zero", m + "balancing:\n  weights: {memory: 0}\n", {}, "at least one weight"},
      {"no hosts", "proxmox_api:\n  pass: x\n", {}, "at least one host"},
      {"bad port", "proxmox_api:\n  hosts: ['pve1:99999']\n  pass: x\n", {}, "proxmox_api.hosts': host 'pve1:99999': port"},
      {"no credentials", "proxmox_api:\n  hosts: [a]\n", {}, "no credentials"},
      {"pass and token", "proxmox_api:\n  hosts: [a]\n  pass: x\n  token_id: t\n  token_secret: s\n", {}, "either a password or an API token"},
      {"token id without secret", "proxmox_api:\n  hosts: [a]\n  token_id: t\n", {}, "token_secret is missing"},
      {"secret without token id", "proxmox_api:\n  hosts: [a]\n  token_secret: s\n", {}, "token_id is missing"},
      {"pass and pass_file", "proxmox_api:\n  hosts: [a]\n  pass: x\n  pass_file: /run/p\n", {}, "either pass or pass_file"},
      {"user without realm", "proxmox_api:\n  hosts: [a]\n  user: root\n  pass: x\n", {}, "user@realm"},
      {"fingerprint and ca file", "proxmox_api:\n  hosts: [a]\n  pass: x\n  ssl_fingerprint: [AA:BB]\n  ca_file: /ca.pem\n",
       {}, "either ssl_fingerprint or ca_file"},
      {"fingerprint without verification",
       "proxmox_api:\n  hosts: [a]\n  pass: x\n  ssl_verification: false\n  ssl_fingerprint: [AA:BB]\n", {},
       "proxmox_api.ssl_verification"},
      {"maintenance node also ignored",
       m + "proxmox_cluster:\n  maintenance_nodes: [n1]\n  ignore_nodes: [n1]\n", {}, "also in ignore_nodes"},
  };
  for (const auto& tc : cases) {
    auto cfg = load_config(tc.yaml, "f.yaml", tc.env);
    ASSERT_FALSE(cfg.ok()) << tc.name;
    EXPECT_EQ(cfg.error().category(), core::ErrorCategory::Config) << tc.name;
    EXPECT_NE(cfg.error().to_string().find(tc.expected), std::string::npos)
        << tc.name << ": " << cfg.error().to_string();
  }
}

TEST(ProxlbConfig, ErrorsNeverShowSecrets) {
  auto cfg = load_config("proxmox_api:\n  hosts: [a]\n  pass: hunter2\n  token_id: t\n  token_secret: s3cr3t\n",
                         "f.yaml", {});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().to_string().find("hunter2"), std::string::npos);
  EXPECT_EQ(cfg.error().to_string().find("s3cr3t"), std::string::npos);
}

TEST(ProxlbConfig, ClientOptionsReadTheSecretFile) {
  auto cfg = load_config("proxmox_api:\n  hosts: ['[fe80::1]:8007', 'pve1:8443']\n  token_id: proxlb\n"
                         "  token_secret_file: /run/secret\n  ssl_verification: false\n  retries: 3\n",
                         "f.yaml", {});
  ASSERT_TRUE(cfg.ok()) << cfg.error().to_string();
  std::map<std::string, std::string> files = {{"/run/secret", "abc-123\n"}};
  auto read = [&files](const std::string& path) -> core::Result<std::string> {
    auto it = files.find(path);
    if (it == files.end()) return core::Error(core::ErrorCategory::NotFound, "no such file");
    return it->second;
  };
  auto o = pve::to_client_options(cfg->proxmox_api, read);
  ASSERT_TRUE(o.ok()) << o.error().to_string();
  EXPECT_EQ(o->hosts, (std::vector<std::string>{"[fe80::1]:8007", "pve1:8443"}));
  EXPECT_EQ(o->user, "root@pam");
  EXPECT_EQ(o->token_id, "proxlb");
  EXPECT_EQ(o->token_secret, "abc-123");
  EXPECT_EQ(o->tls.verify, pve::TlsVerify::Insecure);
  EXPECT_EQ(o->retries, 2) << "retries counts attempts, the client counts retries";
  files["/run/secret"] = "\n";
  auto empty = pve::to_client_options(cfg->proxmox_api, read);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().to_string().find("proxmox_api.token_secret_file"), std::string::npos)
      << empty.error().to_string();
  files.clear();
  auto missing = pve::to_client_options(cfg->proxmox_api, read);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().to_string().find("proxmox_api.token_secret_file"), std::string::npos)
      << missing.error().to_string();
}

TEST(ApplyClusterConfig, MarksNodesAndCopiesReserves) {
  auto cfg = load_config(std::string(kMinimal) + R"(proxmox_cluster:
  maintenance_nodes: [n2]
  ignore_nodes: [n3]
balancing:
  node_resource_reserve: {defaults: {memory: 2}, n1: {memory: 6}}
)", "f.yaml", {});
  ASSERT_TRUE(cfg.ok()) << cfg.error().to_string();
  ClusterState s;
  for (const char* n : {"n1", "n2", "n3"}) s.nodes.push_back({.name = n});
  apply_cluster_config(*cfg, s);
  EXPECT_EQ(s.nodes[0].reserve.memory, 6 * kGiB);
  EXPECT_EQ(s.nodes[1].reserve.memory, 2 * kGiB);
  EXPECT_FALSE(s.nodes[0].maintenance);
  EXPECT_TRUE(s.nodes[1].maintenance);
  EXPECT_TRUE(s.nodes[2].ignored);
}

}  // namespace
}  // namespace pvekit::balance
