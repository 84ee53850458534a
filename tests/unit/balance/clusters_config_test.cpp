// Several clusters from one daemon: the `clusters:` list.
#include <gtest/gtest.h>

#include "balance/config.h"

namespace pvekit::balance {
namespace {

constexpr const char* kTwo = R"(balancing:
  balanciness: 7
  method: memory
clusters:
  - name: lab
    proxmox_api:
      hosts: [lab1:8006]
      user: root@pam
      token_id: proxlb
      token_secret: s1
  - name: prod
    proxmox_api:
      hosts: [prod1, prod2]
      user: root@pam
      token_id: proxlb
      token_secret: s2
    proxmox_cluster:
      maintenance_nodes: [prod3]
    balancing:
      balanciness: 3
      method: cpu
service:
  hold: 2
  leader_election:
    mode: etcd
    etcd:
      endpoints: [http://127.0.0.1:2379]
)";

core::Result<BalanceConfig> load(const std::string& yaml, const std::map<std::string, std::string>& env = {}) {
  return load_config(yaml, "proxlb.yaml", env);
}

std::string error_of(const std::string& yaml) {
  auto cfg = load(yaml);
  return cfg ? std::string("loaded") : cfg.error().to_string();
}

TEST(ClustersConfig, EachClusterHasItsOwnApiAndBalancingOverTheTopLevel) {
  auto cfg = load(kTwo);
  ASSERT_TRUE(cfg.ok()) << cfg.error().to_string();
  ASSERT_EQ(cfg->clusters.size(), 2u);
  const auto& lab = cfg->clusters[0];
  const auto& prod = cfg->clusters[1];
  EXPECT_EQ(lab.name, "lab");
  EXPECT_EQ(lab.proxmox_api.hosts, std::vector<std::string>{"lab1:8006"});
  EXPECT_EQ(lab.balancing.balanciness, 7);  // the top level's
  EXPECT_EQ(lab.balancing.method, Method::Memory);
  EXPECT_TRUE(lab.proxmox_cluster.maintenance_nodes.empty());
  EXPECT_EQ(prod.name, "prod");
  EXPECT_EQ(prod.proxmox_api.hosts.size(), 2u);
  EXPECT_EQ(prod.proxmox_api.token_secret, "s2");
  EXPECT_EQ(prod.balancing.balanciness, 3);  // its own
  EXPECT_EQ(prod.balancing.method, Method::Cpu);
  EXPECT_EQ(prod.proxmox_cluster.maintenance_nodes, std::vector<std::string>{"prod3"});
  // The service section is global: the same for the daemon and each cluster.
  for (const BalanceConfig* c : {static_cast<const BalanceConfig*>(&*cfg), &lab, &prod}) {
    EXPECT_EQ(c->service.hold, 2);
    EXPECT_EQ(c->service.leader_election.mode, "etcd");
  }
  EXPECT_TRUE(cfg->proxmox_api.hosts.empty());
}

TEST(ClustersConfig, ClustersOfAndSelect) {
  auto cfg = load(kTwo);
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(clusters_of(*cfg).size(), 2u);
  auto prod = select_cluster(*cfg, "prod");
  ASSERT_TRUE(prod.ok());
  EXPECT_EQ(prod->name, "prod");
  auto none = select_cluster(*cfg, "");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().to_string(), "the config has 2 clusters (lab, prod): pick one with --cluster NAME");
  auto unknown = select_cluster(*cfg, "qa");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().to_string(), "--cluster qa: no such cluster in the config (lab, prod)");

  auto single = load("proxmox_api:\n  hosts: [pve1]\n  user: root@pam\n  token_id: t\n  token_secret: s\n");
  ASSERT_TRUE(single.ok());
  ASSERT_EQ(clusters_of(*single).size(), 1u);
  EXPECT_EQ(clusters_of(*single)[0].name, "");
  EXPECT_TRUE(select_cluster(*single, "").ok());
  EXPECT_FALSE(select_cluster(*single, "lab").ok());

  // A list of one needs no --cluster.
  auto one = load("clusters:\n  - name: only\n    proxmox_api: {hosts: [pve1], user: root@pam, token_id: t, "
                  "token_secret: s}\n");
  ASSERT_TRUE(one.ok()) << one.error().to_string();
  auto chosen = select_cluster(*one, "");
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(chosen->name, "only");
}

TEST(ClustersConfig, TopLevelProxmoxApiAndClustersAreRefusedByKey) {
  std::string yaml = std::string("proxmox_api:\n  hosts: [pve1]\n") + kTwo;
  EXPECT_EQ(error_of(yaml),
            "proxlb.yaml: key 'proxmox_api.hosts': is set at the top level (proxlb.yaml) and clusters: is set too; "
            "give each cluster its own proxmox_api");
  // From the environment too: it would apply to every cluster at once.
  auto env = load(kTwo, {{"PROXLB_PROXMOX_API_USER", "admin@pve"}});
  ASSERT_FALSE(env.ok());
  EXPECT_NE(env.error().to_string().find("key 'proxmox_api.user': is set at the top level (env "
                                         "PROXLB_PROXMOX_API_USER)"),
            std::string::npos)
      << env.error().to_string();
}

TEST(ClustersConfig, DuplicateOrInvalidNamesAreRefused) {
  const std::string api = "    proxmox_api: {hosts: [pve1], user: root@pam, token_id: t, token_secret: s}\n";
  EXPECT_EQ(error_of("clusters:\n  - name: lab\n" + api + "  - name: lab\n" + api),
            "proxlb.yaml: key 'clusters[1].name': 'lab' names two clusters");
  const std::vector<std::string> names = {"\"\"",      "\"-lab\"", "\"a b\"", "\"lab/../x\"", "\"lab\\nx\"",
                                          "\"l\\u00e4b\"", "\"" + std::string(64, 'x') + "\"", "42", "[lab]", "null",
                                          "\"{{cluster}}\""};
  for (const auto& name : names) {
    EXPECT_EQ(error_of("clusters:\n  - name: " + name + "\n" + api),
              "proxlb.yaml: key 'clusters[0].name': expected 1-63 letters, digits, '-', '_' or '.', starting with "
              "a letter or digit")
        << name;
  }
  EXPECT_NE(error_of("clusters:\n  - proxmox_api: {hosts: [pve1]}\n").find("clusters[0].name"), std::string::npos);
  EXPECT_TRUE(valid_cluster_name("prod-eu.1_a"));
  EXPECT_TRUE(valid_cluster_name(std::string(63, 'x')));
}

TEST(ClustersConfig, EntriesAreCheckedByKey) {
  const std::string api = "    proxmox_api: {hosts: [pve1], user: root@pam, token_id: t, token_secret: s}\n";
  EXPECT_EQ(error_of("clusters:\n  - name: lab\n" + api + "    service:\n      hold: 1\n"),
            "proxlb.yaml: key 'clusters[0].service': unknown key (name, proxmox_api, proxmox_cluster, balancing; "
            "the service section is global)");
  EXPECT_EQ(error_of("clusters: [lab]\n"), "proxlb.yaml: key 'clusters[0]': expected a mapping with name, "
                                           "proxmox_api, ...");
  // Each entry's own keys are checked as the top-level ones are, and the
  // error names the entry.
  std::string bad = error_of("clusters:\n  - name: lab\n" + api + "    balancing:\n      balanciness: -1\n");
  EXPECT_NE(bad.find("clusters[0] (lab)"), std::string::npos) << bad;
  EXPECT_NE(bad.find("balancing.balanciness"), std::string::npos) << bad;
  std::string no_api = error_of("clusters:\n  - name: lab\n");
  EXPECT_NE(no_api.find("clusters[0] (lab)"), std::string::npos) << no_api;
  EXPECT_NE(no_api.find("proxmox_api"), std::string::npos) << no_api;
  std::string unknown = error_of("clusters:\n  - name: lab\n" + api + "    balancing:\n      balanciness_x: 1\n");
  EXPECT_NE(unknown.find("balancing.balanciness_x"), std::string::npos) << unknown;
}

TEST(ClustersConfig, HaMasterIsRefusedWithSeveralClusters) {
  std::string yaml = kTwo;
  yaml.replace(yaml.find("mode: etcd"), 10, "mode: ha-master");
  EXPECT_EQ(error_of(yaml),
            "proxlb.yaml: key 'service.leader_election.mode': ha-master needs one daemon on each node of one "
            "cluster; with several clusters use etcd (one election per cluster) or none");
}

}  // namespace
}  // namespace pvekit::balance
