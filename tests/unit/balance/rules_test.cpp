#include "balance/rules.h"

#include <gtest/gtest.h>
#include <functional>

#include "fixtures.h"

namespace pvekit::balance {
namespace {

using fixtures::add;
using fixtures::empty_cluster;
using fixtures::guest;
using fixtures::test_config;

std::vector<std::string> allowed_names(const Constraints& c, size_t g) {
  std::vector<std::string> out;
  for (size_t n = 0; n < c.node_count(); ++n)
    if (c.allowed(g, n)) out.push_back(c.state().nodes[n].name);
  return out;
}

bool has_conflict(const Constraints& c, const std::string& text) {
  for (const auto& conflict : c.conflicts())
    if (conflict.message.find(text) != std::string::npos) return true;
  return false;
}

TEST(Rules, PinTagsFormAUnionOfAllowedNodes) {
  auto s = empty_cluster();
  add(s, guest(100, "node1", 4, {"plb_pin_node2", "plb_pin_node4"}));
  add(s, guest(101, "node1", 4, {"plb_pin_node3"}));
  add(s, guest(102, "node1"));
  auto c = Constraints::compile(s, test_config());
  EXPECT_EQ(allowed_names(c, 0), (std::vector<std::string>{"node2", "node4"}));
  EXPECT_EQ(allowed_names(c, 1), std::vector<std::string>{"node3"});
  EXPECT_EQ(allowed_names(c, 2).size(), 4u);
  EXPECT_TRUE(c.conflicts().empty());
}

TEST(Rules, PinToOfflineOrUnknownNodeIsAConflict) {
  auto s = empty_cluster();
  s.nodes[2].online = false;
  add(s, guest(100, "node1", 4, {"plb_pin_node3"}));
  add(s, guest(101, "node1", 4, {"plb_pin_node9"}));
  auto c = Constraints::compile(s, test_config());
  EXPECT_TRUE(allowed_names(c, 0).empty());
  ASSERT_EQ(c.conflicts().size(), 2u);
  EXPECT_EQ(c.conflicts()[0].vmids, std::vector<uint32_t>{100});
  EXPECT_NE(c.conflicts()[0].message.find("node3: cannot take guests"), std::string::npos);
  EXPECT_NE(c.conflicts()[1].message.find("node9: unknown"), std::string::npos);
}

TEST(Rules, GuestsThatNeverMoveSayWhy) {
  struct Case {
    const char* name;
    Guest guest;
    const char* reason;  // empty: movable
  };
  Guest tmpl = guest(101, "node1");
  tmpl.is_template = true;
  Guest locked = guest(102, "node1");
  locked.lock = "backup";
  Guest ct = guest(103, "node1");
  ct.type = GuestType::Lxc;
  Guest local = guest(104, "node1");
  local.local_disk_bytes = 10 * kGiB;
  const Case cases[] = {
      {"plain guest", guest(100, "node1"), ""},
      {"template", tmpl, "template"},
      {"locked", locked, "locked (backup)"},
      {"ignore tag", guest(105, "node1", 4, {"plb_ignore_dev"}), "plb_ignore"},
      {"container excluded by balance_types", ct, "ct is not in balance_types"},
      {"local disks without with_local_disks", local, "with_local_disks is off"},
      {"on an offline node", guest(106, "node2"), "offline"},
      {"on an ignored node", guest(107, "node3"), "ignored"},
      {"on an unknown node", guest(108, "node9"), "unknown"},
  };
  auto cfg = test_config();
  cfg.balancing.balance_cts = false;
  cfg.balancing.with_local_disks = false;
  for (const auto& tc : cases) {
    auto s = empty_cluster();
    s.nodes[1].online = false;
    s.nodes[2].ignored = true;
    s.guests.push_back(tc.guest);
    auto c = Constraints::compile(s, cfg);
    EXPECT_EQ(c.movable(0), std::string(tc.reason).empty()) << tc.name;
    EXPECT_NE(c.frozen_reason(0).find(tc.reason), std::string::npos) << tc.name << ": " << c.frozen_reason(0);
  }
}

TEST(Rules, MaintenanceIgnoredAndOfflineNodesTakeNoGuests) {
  auto s = empty_cluster();
  s.nodes[1].maintenance = true;
  s.nodes[2].ignored = true;
  s.nodes[3].online = false;
  add(s, guest(100, "node1"));
  auto c = Constraints::compile(s, test_config());
  EXPECT_EQ(allowed_names(c, 0), std::vector<std::string>{"node1"});
  EXPECT_TRUE(c.evacuate(1));
  EXPECT_FALSE(c.evacuate(0));
  EXPECT_FALSE(c.eligible(2));
  EXPECT_FALSE(c.eligible(3));
}

TEST(Rules, AffinitySourcesJoinGuestsIntoOneUnit) {
  struct Case {
    const char* name;
    std::function<void(ClusterState&, BalanceConfig&)> setup;
  };
  const Case cases[] = {
      {"plb_affinity tag", [](ClusterState& s, BalanceConfig&) {
         s.guests[0].tags = {"plb_affinity_web"};
         s.guests[1].tags = {"plb_affinity_web"};
       }},
      {"ProxLB's older plb_include tag", [](ClusterState& s, BalanceConfig&) {
         s.guests[0].tags = {"plb_include_web"};
         s.guests[1].tags = {"plb_affinity_web"};
       }},
      {"affinity pool", [](ClusterState& s, BalanceConfig& cfg) {
         s.guests[0].pool = s.guests[1].pool = "web";
         cfg.balancing.pools["web"] = {GroupType::Affinity, {}};
       }},
      {"HA positive resource affinity", [](ClusterState& s, BalanceConfig&) {
         s.resource_affinity.push_back({"together", true, {100, 101}, true});
       }},
  };
  for (const auto& tc : cases) {
    auto s = empty_cluster();
    add(s, guest(100, "node1"));
    add(s, guest(101, "node2"));
    add(s, guest(102, "node2"));
    auto cfg = test_config();
    tc.setup(s, cfg);
    auto c = Constraints::compile(s, cfg);
    EXPECT_EQ(c.unit_of(0), c.unit_of(1)) << tc.name;
    EXPECT_NE(c.unit_of(0), c.unit_of(2)) << tc.name;
    EXPECT_EQ(c.units()[c.unit_of(0)].members.size(), 2u) << tc.name;
    EXPECT_EQ(c.units()[c.unit_of(0)].vmid, 100u) << tc.name;
  }
}

TEST(Rules, AntiAffinitySourcesFormGroups) {
  struct Case {
    const char* name;
    std::function<void(ClusterState&, BalanceConfig&)> setup;
  };
  const Case cases[] = {
      {"plb_anti_affinity tag", [](ClusterState& s, BalanceConfig&) {
         for (auto& g : s.guests) g.tags = {"plb_anti_affinity_db"};
       }},
      {"ProxLB's older plb_exclude tag", [](ClusterState& s, BalanceConfig&) {
         for (auto& g : s.guests) g.tags = {"plb_exclude_db"};
       }},
      {"anti-affinity pool", [](ClusterState& s, BalanceConfig& cfg) {
         for (auto& g : s.guests) g.pool = "db";
         cfg.balancing.pools["db"] = {GroupType::AntiAffinity, {}};
       }},
      {"HA negative resource affinity", [](ClusterState& s, BalanceConfig&) {
         s.resource_affinity.push_back({"apart", false, {100, 101, 102}, true});
       }},
  };
  for (const auto& tc : cases) {
    auto s = empty_cluster();
    for (uint32_t v : {100, 101, 102}) add(s, guest(v, "node1"));
    auto cfg = test_config();
    tc.setup(s, cfg);
    auto c = Constraints::compile(s, cfg);
    ASSERT_EQ(c.anti_groups().size(), 1u) << tc.name;
    EXPECT_EQ(c.anti_groups()[0].units.size(), 3u) << tc.name;
    EXPECT_EQ(c.anti_groups()[0].max_per_node, 1) << tc.name;
    EXPECT_TRUE(c.conflicts().empty()) << tc.name;
  }
}

TEST(Rules, AntiAffinityGroupLargerThanTheClusterIsReported) {
  auto s = empty_cluster(2);
  for (uint32_t v : {100, 101, 102, 103, 104}) add(s, guest(v, "node1", 4, {"plb_anti_affinity_db"}));
  auto c = Constraints::compile(s, test_config());
  ASSERT_EQ(c.anti_groups().size(), 1u);
  EXPECT_EQ(c.anti_groups()[0].max_per_node, 3);
  ASSERT_EQ(c.conflicts().size(), 1u);
  EXPECT_EQ(c.conflicts()[0].rule, "tag plb_anti_affinity_db");
  EXPECT_EQ(c.conflicts()[0].vmids, (std::vector<uint32_t>{100, 101, 102, 103, 104}));
  EXPECT_NE(c.conflicts()[0].message.find("5 guests (or groups) must run apart but only 2 nodes"),
            std::string::npos);
}

TEST(Rules, AntiAffinityInsideAnAffinityGroupIsReported) {
  auto s = empty_cluster();
  add(s, guest(100, "node1", 4, {"plb_affinity_app", "plb_anti_affinity_x"}));
  add(s, guest(101, "node1", 4, {"plb_affinity_app", "plb_anti_affinity_x"}));
  auto c = Constraints::compile(s, test_config());
  EXPECT_TRUE(has_conflict(c, "keeps together"));
  EXPECT_TRUE(c.anti_groups().empty());
}

TEST(Rules, AffinityGroupThatFitsNoNodeIsReported) {
  auto s = empty_cluster(2);
  for (uint32_t v : {100, 101, 102}) add(s, guest(v, v == 100 ? "node1" : "node2", 30, {"plb_affinity_big"}));
  auto c = Constraints::compile(s, test_config());
  EXPECT_TRUE(has_conflict(c, "fits on no allowed node")) << c.conflicts().size();
}

TEST(Rules, AffinityGroupWithDisagreeingPinsIsReported) {
  auto s = empty_cluster();
  add(s, guest(100, "node1", 4, {"plb_affinity_app", "plb_pin_node1"}));
  add(s, guest(101, "node2", 4, {"plb_affinity_app", "plb_pin_node2"}));
  auto c = Constraints::compile(s, test_config());
  EXPECT_TRUE(has_conflict(c, "no node is allowed for all members"));
}

TEST(Rules, PoolPinsRestrictMembers) {
  auto s = empty_cluster();
  add(s, guest(100, "node1"));
  s.guests[0].pool = "web";
  add(s, guest(101, "node1"));
  auto cfg = test_config();
  cfg.balancing.pools["web"] = {GroupType::Affinity, {"node3", "node4"}};
  auto c = Constraints::compile(s, cfg);
  EXPECT_EQ(allowed_names(c, 0), (std::vector<std::string>{"node3", "node4"}));
  EXPECT_EQ(allowed_names(c, 1).size(), 4u);
}

// Pool db's guest 100 on node1; node4, empty, is the least used node.
ClusterState pool_cluster() {
  auto s = empty_cluster();
  add(s, guest(100, "node1", 16));
  s.guests[0].pool = "db";
  add(s, guest(101, "node2", 8));
  add(s, guest(102, "node3", 2));
  return s;
}

// ProxLB's strict: false adds its "most free node" to the pinned ones.
TEST(Rules, NonStrictPoolAlsoAllowsTheLeastUsedNode) {
  auto s = pool_cluster();
  auto cfg = test_config();
  cfg.balancing.pools["db"] = {GroupType::Affinity, {"node2"}, false};
  auto c = Constraints::compile(s, cfg);
  EXPECT_EQ(allowed_names(c, 0), (std::vector<std::string>{"node2", "node4"}));
  EXPECT_EQ(c.allowed_for({}, "db").count(), 2u);
  EXPECT_TRUE(c.allowed_for({}, "db").test(3));
  cfg.balancing.pools["db"].strict = true;
  auto strict = Constraints::compile(s, cfg);
  EXPECT_EQ(allowed_names(strict, 0), std::vector<std::string>{"node2"});
}

// A non-strict pool whose pinned nodes cannot take guests is no conflict: the
// least used node is still a candidate.
TEST(Rules, NonStrictPoolWithUnusablePinsIsNoConflict) {
  auto s = pool_cluster();
  auto cfg = test_config();
  cfg.balancing.pools["db"] = {GroupType::Affinity, {"node9"}, false};
  auto c = Constraints::compile(s, cfg);
  EXPECT_TRUE(c.conflicts().empty());
  EXPECT_EQ(allowed_names(c, 0), std::vector<std::string>{"node4"});
  cfg.balancing.pools["db"].strict = true;
  EXPECT_TRUE(has_conflict(Constraints::compile(s, cfg), "none of the pinned nodes"));
}

TEST(Rules, HaNodeAffinityUsesTheHighestAvailablePriority) {
  struct Case {
    const char* name;
    bool strict;
    bool node2_online;
    bool node3_online;
    std::vector<std::string> allowed;
    bool conflict;
  };
  const Case cases[] = {
      {"strict, top priority available", true, true, true, {"node2"}, false},
      {"strict, top priority offline falls to the next class", true, false, true, {"node3"}, false},
      {"strict, no listed node available", true, false, false, {}, true},
      {"non-strict, top priority available", false, true, true, {"node2"}, false},
      {"non-strict, no listed node available: anywhere", false, false, false, {"node1", "node4"}, false},
  };
  for (const auto& tc : cases) {
    auto s = empty_cluster();
    s.nodes[1].online = tc.node2_online;
    s.nodes[2].online = tc.node3_online;
    add(s, guest(100, "node1"));
    s.node_affinity.push_back({"prefer", {100}, {{"node2", 10}, {"node3", 5}}, tc.strict, true});
    auto c = Constraints::compile(s, test_config());
    EXPECT_EQ(allowed_names(c, 0), tc.allowed) << tc.name;
    EXPECT_EQ(!c.conflicts().empty(), tc.conflict) << tc.name;
  }
}

TEST(Rules, DisabledHaRulesDoNothing) {
  auto s = empty_cluster();
  add(s, guest(100, "node1"));
  add(s, guest(101, "node1"));
  s.node_affinity.push_back({"off", {100}, {{"node2", 1}}, true, false});
  s.resource_affinity.push_back({"off2", true, {100, 101}, false});
  auto c = Constraints::compile(s, test_config());
  EXPECT_EQ(allowed_names(c, 0).size(), 4u);
  EXPECT_NE(c.unit_of(0), c.unit_of(1));
}

TEST(Rules, ReservesAndCpuOvercommitLimitCapacity) {
  auto s = empty_cluster(2);
  s.nodes[0].reserve = {8 * kGiB, 2.0, 100 * kGiB};
  auto cfg = test_config();
  cfg.balancing.cpu_overcommit = 2.0;
  auto c = Constraints::compile(s, cfg);
  EXPECT_DOUBLE_EQ(c.limit(0).memory, static_cast<double>(56 * kGiB));
  EXPECT_DOUBLE_EQ(c.limit(0).cpus, 30.0);  // 16 cores * 2 - 2 reserved
  EXPECT_DOUBLE_EQ(c.limit(0).disk, static_cast<double>(924 * kGiB));
  EXPECT_DOUBLE_EQ(c.limit(1).cpus, 32.0);
  cfg.balancing.cpu_overcommit = 0.0;
  auto unlimited = Constraints::compile(s, cfg);
  EXPECT_TRUE(Constraints::fits({}, {0, 1e9, 0}, unlimited.limit(0)));
  EXPECT_FALSE(Constraints::fits({}, {0, 31, 0}, c.limit(0)));
  EXPECT_TRUE(Constraints::fits({}, {0, 30, 0}, c.limit(0)));
}

TEST(Rules, OverprovisioningDecidesWhichMemoryMustFit) {
  auto s = empty_cluster(1);
  Guest g = guest(100, "node1", 8);
  g.memory_used = 2 * kGiB;
  add(s, g);
  auto cfg = test_config();
  cfg.proxmox_cluster.overprovisioning = true;
  auto used = Constraints::compile(s, cfg);
  EXPECT_DOUBLE_EQ(used.need(0).memory, static_cast<double>(2 * kGiB));
  EXPECT_DOUBLE_EQ(used.initial_load(0).memory, static_cast<double>(2 * kGiB));
  cfg.proxmox_cluster.overprovisioning = false;
  auto assigned = Constraints::compile(s, cfg);
  EXPECT_DOUBLE_EQ(assigned.need(0).memory, static_cast<double>(8 * kGiB));
  EXPECT_DOUBLE_EQ(assigned.initial_load(0).memory, static_cast<double>(8 * kGiB));
}

TEST(Rules, StoppedGuestsNeedNoMemoryOrCpu) {
  auto s = empty_cluster(1);
  Guest g = guest(100, "node1", 8);
  g.status = GuestStatus::Stopped;
  g.local_disk_bytes = 20 * kGiB;
  add(s, g);
  auto c = Constraints::compile(s, test_config());
  EXPECT_DOUBLE_EQ(c.need(0).memory, 0.0);
  EXPECT_DOUBLE_EQ(c.need(0).cpus, 0.0);
  EXPECT_DOUBLE_EQ(c.need(0).disk, static_cast<double>(20 * kGiB));
  EXPECT_FALSE(c.units()[0].running);
}

TEST(Rules, FrozenMemberAnchorsItsAffinityGroup) {
  auto s = empty_cluster();
  add(s, guest(100, "node2", 4, {"plb_affinity_app"}));
  Guest locked = guest(101, "node3", 4, {"plb_affinity_app"});
  locked.lock = "backup";
  add(s, locked);
  auto c = Constraints::compile(s, test_config());
  const Unit& u = c.units()[c.unit_of(0)];
  EXPECT_FALSE(u.movable);
  EXPECT_EQ(u.anchor, 2);
}

}  // namespace
}  // namespace pvekit::balance
