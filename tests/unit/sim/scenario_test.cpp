#include "sim/scenario.h"

#include <gtest/gtest.h>

#include <set>

#include "pve/tags.h"

namespace pvekit::sim {
namespace {

constexpr double kT0 = 1'700'000'000;

core::Result<Cluster> from_yaml(const std::string& yaml) {
  auto doc = core::parse_yaml(yaml, "test.yaml");
  if (!doc.ok()) return std::move(doc).error();
  return cluster_from_json(*doc, kT0);
}

TEST(ScenarioTest, SmallExampleLoads) {
  auto c = load_scenario_file(std::string(PVEKIT_TEST_DATA_DIR) + "/scenarios/small.yaml", kT0);
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->nodes.size(), 3u);
  EXPECT_EQ(c->guests.size(), 10u);
  EXPECT_EQ(c->seed, 7u);
  EXPECT_EQ(c->guests.at(100).maxmem, 8ull << 30);
  EXPECT_EQ(c->guests.at(100).tags, "plb_affinity_web");
  EXPECT_EQ(c->guests.at(200).type, GuestType::Lxc);
  EXPECT_EQ(c->ha_rules.size(), 2u);
  EXPECT_EQ(c->access.users.size(), 2u);
  EXPECT_EQ(c->volumes.at("pve2/local").size(), 1u);
}

TEST(ScenarioTest, ErrorsNameTheKey) {
  struct Case {
    std::string yaml;
    std::string expect;
  } cases[] = {
      {"nodes: [{name: a}]\nguests: [{vmid: 100, node: a, memroy: 1G}]", "guests[0].memroy: unknown key"},
      {"nodes: [{name: a, cpus: many}]", "nodes[0].cpus: expected an integer"},
      {"nodes: [{name: a}]\nguests: [{vmid: 100, node: b}]", "unknown node 'b'"},
      {"nodes: [{name: a}]\nguests: [{vmid: 100, node: a, type: docker}]", "guests[0].type: must be qemu or lxc"},
      {"nodes: [{name: a, memory: lots}]", "nodes[0].memory: expected a size"},
      {"nodes: [{name: a}]\nbogus: 1", "bogus: unknown key"},
      {"nodes: []", "nodes: at least one node is required"},
      {"nodes: [{name: a}]\nha: {rules: [{rule: r, type: magic}]}", "ha.rules[0].type: must be"},
      {"nodes: [{name: a}]\nha: {resources: [{sid: 'vm:999'}]}", "no such guest"},
      {"nodes: [{name: a}, {name: a}]", "duplicate node name 'a'"},
  };
  for (const auto& c : cases) {
    auto r = from_yaml(c.yaml);
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_NE(r.error().to_string().find(c.expect), std::string::npos) << c.yaml << " -> " << r.error().to_string();
    EXPECT_EQ(r.error().category(), core::ErrorCategory::Config) << c.yaml;
  }
}

TEST(ScenarioTest, DefaultClusterShape) {
  Cluster c = default_cluster(kT0);
  EXPECT_EQ(c.nodes.size(), 5u);
  std::set<int> sizes;
  for (const Node& n : c.nodes) sizes.insert(n.cpus);
  EXPECT_GE(sizes.size(), 4u) << "nodes of different sizes";
  EXPECT_GE(c.guests.size(), 55u);
  int lxc = 0, qemu = 0, tagged = 0;
  std::map<std::string, int> per_node;
  for (const auto& [id, g] : c.guests) {
    (g.type == GuestType::Lxc ? lxc : qemu)++;
    tagged += !g.tags.empty();
    per_node[g.node]++;
  }
  EXPECT_GT(lxc, 10);
  EXPECT_GT(qemu, 10);
  EXPECT_GE(tagged, 4);
  EXPECT_GT(per_node["pve3"], 2 * per_node["pve5"]) << "deliberately unbalanced";
  EXPECT_EQ(c.ha_resources.size(), 1u);
  EXPECT_EQ(c.ha_rules.size(), 1u);
  bool shared = false, local = false;
  for (const Storage& s : c.storages) (s.shared ? shared : local) = true;
  EXPECT_TRUE(shared && local);
}

TEST(ScenarioTest, GenerateSpecAndCluster) {
  auto spec = parse_generate_spec("nodes=7,guests=300");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->nodes, 7);
  EXPECT_EQ(spec->guests, 300);
  EXPECT_FALSE(parse_generate_spec("nodes=0").ok());
  EXPECT_FALSE(parse_generate_spec("cpus=4").ok());
  Cluster c = generate_cluster(*spec, 5, kT0);
  EXPECT_EQ(c.nodes.size(), 7u);
  EXPECT_EQ(c.guests.size(), 300u);
  for (const auto& [id, g] : c.guests) ASSERT_NE(c.find_node(g.node), nullptr);
}

}  // namespace
}  // namespace pvekit::sim

namespace pvekit::sim {
namespace {

constexpr const char* kAccessScenario = R"(
nodes: [{name: pve1}]
users:
  - {userid: root@pam, password: pw}
  - userid: balancer@pve
    groups: [ops]
    tokens: [{id: plan, secret: s3cret, privsep: true}]
groups: [{id: ops}]
roles: [{id: Balancer, privs: [VM.Audit, VM.Migrate, Sys.Audit]}]
acl:
  - {path: /, roles: [Balancer], tokens: ["balancer@pve!plan"]}
  - {path: /vms, roles: [PVEAuditor], groups: [ops], propagate: false}
)";

TEST(ScenarioAccessTest, UsersGroupsRolesAndAclLoad) {
  auto c = from_yaml(kAccessScenario);
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  ASSERT_EQ(c->access.users.size(), 2u);
  EXPECT_TRUE(c->access.users[1].tokens[0].privsep);
  EXPECT_EQ(c->access.roles.at("Balancer"), (std::vector<std::string>{"Sys.Audit", "VM.Audit", "VM.Migrate"}));
  ASSERT_EQ(c->access.acl.size(), 2u);
  EXPECT_EQ(c->access.acl[1].kind, AclEntry::Kind::Group);
  EXPECT_FALSE(c->access.acl[1].propagate);
}

TEST(ScenarioAccessTest, BadAccessKeysAreNamed) {
  const std::string base = "nodes: [{name: pve1}]\nusers: [{userid: a@pve}]\n";
  const std::pair<const char*, const char*> cases[] = {
      {"acl: [{path: /vms/../access, roles: [PVEAuditor], users: [a@pve]}]", "acl[0].path: invalid ACL path"},
      {"acl: [{path: /, roles: [Nope], users: [a@pve]}]", "acl[0].roles: role 'Nope' does not exist"},
      {"acl: [{path: /, roles: [PVEAuditor], users: [b@pve]}]", "acl[0].users: unknown member 'b@pve'"},
      {"acl: [{path: /, roles: [PVEAuditor], tokens: [a@pve!x]}]", "acl[0].tokens: unknown member 'a@pve!x'"},
      {"roles: [{id: PVEAdmin, privs: []}]", "roles[0].id: cannot redefine the built-in role 'PVEAdmin'"},
      {"roles: [{id: R, privs: [Root.All]}]", "roles[0].privs: invalid privilege 'Root.All'"},
  };
  for (const auto& [yaml, expected] : cases) {
    auto c = from_yaml(base + yaml);
    ASSERT_FALSE(c.ok()) << yaml;
    EXPECT_NE(c.error().to_string().find(expected), std::string::npos) << c.error().to_string();
  }
}

}  // namespace
}  // namespace pvekit::sim
