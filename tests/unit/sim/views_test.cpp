#include "sim/views.h"

#include <gtest/gtest.h>

#include "core/clock.h"
#include "sim/scenario.h"

namespace pvekit::sim {
namespace {

constexpr double kT0 = 1'700'000'000;

// The fast writer of /cluster/resources must say exactly what the Json
// renderer says, including offline nodes, locks, tags, pools and HA state.
TEST(ViewsTest, FastResourcesBodyEqualsJsonRendering) {
  core::ManualClock clock(kT0);
  Cluster c = default_cluster(kT0);
  c.find_node("pve4")->online = false;
  c.guests[101].lock = "backup";
  c.guests[102].name = "needs \"escaping\"\\";
  Simulator sim(std::move(c), clock);
  sim.read([&](const World& w) {
    auto live = sim.live(w);
    for (const std::string type : {"", "vm", "node", "storage", "sdn"}) {
      const core::Json expected = {{"data", cluster_resources(w, *live, type, kT0)}};
      const core::Json actual = core::Json::parse(cluster_resources_body(w, *live, type, kT0));
      EXPECT_EQ(actual, expected) << "type '" << type << "'";
    }
    return 0;
  });
}

TEST(ViewsTest, GuestsOnOfflineNodeAreUnknown) {
  core::ManualClock clock(kT0);
  Cluster c = default_cluster(kT0);
  c.find_node("pve4")->online = false;
  Simulator sim(std::move(c), clock);
  sim.read([&](const World& w) {
    int unknown = 0;
    for (const auto& r : cluster_resources(w, *sim.live(w), "vm", kT0)) {
      if (r["node"] == "pve4") {
        EXPECT_EQ(r["status"], "unknown");
        ++unknown;
      }
    }
    EXPECT_GT(unknown, 0);
    return 0;
  });
}

}  // namespace
}  // namespace pvekit::sim
