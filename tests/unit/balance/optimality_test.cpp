// The planner against the exhaustive optimum of clusters small enough to
// enumerate every placement: the benchmark's "within 10 % of the optimum"
// goal (bench/balance) checked on cases that run in milliseconds.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "balance/generator.h"
#include "balance/planner.h"
#include "balance/rules.h"
#include "balance/score.h"

namespace pvekit::balance {
namespace {

BalanceConfig memory_config() {
  BalanceConfig config;
  config.balancing.method = Method::Memory;
  config.balancing.mode = Mode::Used;
  config.balancing.weights = Weights{1.0, 0.0, 0.0};
  config.balancing.balanciness = 0.0;  // as even as paying moves get
  return config;
}

// Every placement of the running movable units on their allowed nodes that
// fits in the end, measured by the planner's own LoadModel.
class Exhaustive {
 public:
  Exhaustive(const ClusterState& state, const BalanceConfig& config)
      : c_(Constraints::compile(state, config)), load_(state, config) {
    for (size_t n = 0; n < c_.node_count(); ++n) fit_.push_back(c_.initial_load(n));
    for (size_t u = 0; u < c_.units().size(); ++u) {
      const Unit& unit = c_.units()[u];
      if (!unit.movable || !unit.running) continue;
      int from = c_.node_of(unit.members.front());
      if (from < 0) continue;
      Entry e{u, {}, {}};
      for (size_t m : unit.members) {
        e.need = e.need + c_.need(m);
        Vec3 contrib = load_.contribution(state.guests[m]);
        for (size_t r = 0; r < kResources; ++r) e.contrib[r] += contrib[r];
      }
      fit_[from] = fit_[from] - e.need;
      load_.apply(from, -1, e.contrib);
      entries_.push_back(e);
    }
  }

  double optimum() {
    dfs(0);
    return best_;
  }

 private:
  struct Entry {
    size_t unit;
    Amount need;
    Vec3 contrib;
  };

  void dfs(size_t k) {
    if (k == entries_.size()) {
      best_ = std::min(best_, load_.imbalance());
      return;
    }
    const Entry& e = entries_[k];
    for (size_t n = 0; n < c_.node_count(); ++n) {
      if (!c_.eligible(n) || !c_.units()[e.unit].allowed.test(n)) continue;
      if (!Constraints::fits(fit_[n], e.need, c_.limit(n))) continue;
      fit_[n] = fit_[n] + e.need;
      load_.apply(-1, static_cast<int>(n), e.contrib);
      dfs(k + 1);
      load_.apply(static_cast<int>(n), -1, e.contrib);
      fit_[n] = fit_[n] - e.need;
    }
  }

  Constraints c_;
  LoadModel load_;
  std::vector<Amount> fit_;
  std::vector<Entry> entries_;
  double best_ = std::numeric_limits<double>::infinity();
};

struct SmallCase {
  size_t nodes, guests;
  uint64_t seed;
};

// The generated cluster of a case, without rules.
ClusterState generated(const SmallCase& c) {
  GeneratorOptions options;
  options.nodes = c.nodes;
  options.guests = c.guests;
  options.seed = c.seed;
  options.rules = false;
  return normalized(generate_cluster(options));
}

std::string name(const SmallCase& c) {
  return std::to_string(c.nodes) + "/" + std::to_string(c.guests) + " seed " + std::to_string(c.seed);
}

TEST(PlannerOptimality, SmallClustersEndWithinTenPercentOfTheOptimum) {
  std::vector<SmallCase> cases;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    cases.push_back({3, 9, seed});
    cases.push_back({4, 9, seed});
  }
  const BalanceConfig config = memory_config();
  size_t improved_by_planner = 0;
  for (const SmallCase& c : cases) {
    ClusterState state = generated(c);
    Plan p = plan(state, config);
    double optimum = Exhaustive(state, config).optimum();
    // The bench's goal: 10 % above the optimum, or half a point when the
    // optimum is about zero (then 10 % is below the migration cost).
    double allowed = std::max(optimum * 1.10, optimum < 0.5 ? optimum + 0.5 : 0.0);
    EXPECT_LE(p.imbalance_after, allowed + 1e-9)
        << name(c) << ": before " << p.imbalance_before << ", optimum " << optimum;
    EXPECT_GE(p.imbalance_after, optimum - 1e-6) << name(c) << ": better than the exhaustive optimum?";
    improved_by_planner += p.imbalance_after < p.imbalance_before;
  }
  EXPECT_GT(improved_by_planner, cases.size() / 2) << "most generated clusters need balancing";
}

// Whether some placement of the running movable units that fits brings the
// spread within `balanciness` while copying fewer than `bound` GiB (used RAM
// plus local disks of the guests that leave their node): a depth-first
// search that leaves each unit home first and stops at the bound.
class CheaperPlacement {
 public:
  CheaperPlacement(const ClusterState& state, const BalanceConfig& config)
      : c_(Constraints::compile(state, config)), load_(state, config), balanciness_(config.balancing.balanciness) {
    for (size_t n = 0; n < c_.node_count(); ++n) fit_.push_back(c_.initial_load(n));
    for (size_t u = 0; u < c_.units().size(); ++u) {
      const Unit& unit = c_.units()[u];
      if (!unit.movable || !unit.running) continue;
      Entry e{u, c_.node_of(unit.members.front()), {}, {}, 0.0};
      for (size_t m : unit.members) {
        const Guest& g = state.guests[m];
        e.need = e.need + c_.need(m);
        Vec3 contrib = load_.contribution(g);
        for (size_t r = 0; r < kResources; ++r) e.contrib[r] += contrib[r];
        e.gib += static_cast<double>(g.memory_used + g.local_disk_bytes) / static_cast<double>(kGiB);
      }
      entries_.push_back(e);
    }
  }

  // The GiB of such a placement, or -1 when there is none.
  double below(double bound) {
    bound_ = bound;
    dfs(0, 0.0);
    return found_;
  }

 private:
  struct Entry {
    size_t unit;
    int home;
    Amount need;
    Vec3 contrib;
    double gib;
  };

  void dfs(size_t k, double cost) {
    if (found_ >= 0 || cost >= bound_) return;
    if (k == entries_.size()) {
      if (load_.spread() <= balanciness_) found_ = cost;
      return;
    }
    const Entry& e = entries_[k];
    dfs(k + 1, cost);
    for (size_t n = 0; n < c_.node_count() && found_ < 0; ++n) {
      if (static_cast<int>(n) == e.home || !c_.eligible(n) || !c_.units()[e.unit].allowed.test(n)) continue;
      if (!Constraints::fits(fit_[n], e.need, c_.limit(n))) continue;
      fit_[n] = fit_[n] + e.need;
      fit_[e.home] = fit_[e.home] - e.need;
      load_.apply(e.home, static_cast<int>(n), e.contrib);
      dfs(k + 1, cost + e.gib);
      load_.apply(static_cast<int>(n), e.home, e.contrib);
      fit_[e.home] = fit_[e.home] + e.need;
      fit_[n] = fit_[n] - e.need;
    }
  }

  Constraints c_;
  LoadModel load_;
  double balanciness_;
  std::vector<Amount> fit_;
  std::vector<Entry> entries_;
  double bound_ = 0.0, found_ = -1.0;
};

double gib_moved(const Plan& p) {
  double bytes = 0.0;
  for (const Move& m : p.moves) bytes += static_cast<double>(m.memory_bytes + m.local_disk_bytes);
  return bytes / static_cast<double>(kGiB);
}

// The benchmark's part 3 goal (bench/balance): with the default balanciness,
// the plan ends within the target spread (+10 %) copying at most 1.2x the
// GiB of the cheapest placement that reaches it. Capacity is checked on the
// final placement only, like the benchmark's MILP.
TEST(PlannerOptimality, SmallClustersCopyAtMostTwentyPercentAboveTheCheapestPlan) {
  std::vector<SmallCase> cases;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    cases.push_back({4, 10, seed});
    cases.push_back({4, 12, seed});
  }
  BalanceConfig config = memory_config();
  config.balancing.balanciness = 5.0;
  size_t balanced = 0;
  for (const SmallCase& c : cases) {
    ClusterState state = generated(c);
    Plan p = plan(state, config);
    if (p.spread_before <= config.balancing.balanciness) continue;
    ++balanced;
    EXPECT_LE(p.spread_after, config.balancing.balanciness * 1.10) << name(c);
    double ours = gib_moved(p);
    double cheaper = CheaperPlacement(state, config).below(ours / 1.2 - 1e-6);
    EXPECT_LT(cheaper, 0.0) << name(c) << ": the plan copies " << ours << " GiB in " << p.moves.size()
                            << " moves, a placement within the spread copies " << cheaper;
  }
  EXPECT_GT(balanced, cases.size() / 2) << "most generated clusters need balancing";
}

// Clusters too large to enumerate, whose cheapest plans need 7-10 moves:
// the bench's part 3 cases (generated as the bench does, not normalised),
// against the cheapest placement glpsol proved optimal there (GiB).
TEST(PlannerOptimality, LargerClustersCopyAtMostTwentyPercentAboveTheProvenCheapestPlan) {
  struct Known {
    size_t nodes, guests;
    uint64_t seed;
    double cheapest;
  };
  BalanceConfig config = memory_config();
  config.balancing.balanciness = 5.0;
  const Known known[] = {
      {6, 20, 1, 109.8}, {6, 20, 2, 31.7}, {6, 20, 3, 70.1}, {8, 30, 2, 47.3}, {8, 30, 3, 72.6}};
  for (const Known& k : known) {
    GeneratorOptions options;
    options.nodes = k.nodes;
    options.guests = k.guests;
    options.seed = k.seed;
    options.rules = false;
    Plan p = plan(generate_cluster(options), config);
    const std::string label = name({k.nodes, k.guests, k.seed});
    EXPECT_LE(p.spread_after, config.balancing.balanciness * 1.10) << label;
    // The optimum is printed to 0.1 GiB: half of that is allowed on top.
    EXPECT_LE(gib_moved(p), k.cheapest * 1.2 + 0.05) << label << " in " << p.moves.size() << " moves";
  }
}

// The benchmark's part 1 goal "same, at the greedy's final imbalance" on 10
// nodes / 200 guests: asked for the imbalance a ProxLB-style greedy ends at
// (imbalance_threshold, the spread left free), the plan copies fewer GiB
// than the greedy did. The greedy's figures come from
// `bench_planner_quality --part 1` (bench/balance/greedy.cpp: its final
// imbalance, to four places, and its GiB). Seed 3 copied 507.4 GiB against
// 481.3 when the local search's last moves took units with large local
// disks that several smaller units could replace.
TEST(PlannerOptimality, CopiesFewerGibThanTheGreedyAtItsFinalImbalance) {
  struct Greedy {
    uint64_t seed;
    double imbalance, gib;
  };
  BalanceConfig config = memory_config();
  config.balancing.balanciness = 100.0;
  for (const Greedy& g : {Greedy{1, 1.7460, 536.6}, Greedy{2, 1.0657, 697.5}, Greedy{3, 0.9583, 481.3}}) {
    GeneratorOptions options;
    options.nodes = 10;
    options.guests = 200;
    options.seed = g.seed;
    options.rules = false;
    config.balancing.imbalance_threshold = g.imbalance;
    Plan p = plan(generate_cluster(options), config);
    const std::string label = name({10, 200, g.seed});
    EXPECT_LE(p.imbalance_after, g.imbalance) << label;
    EXPECT_LT(gib_moved(p), g.gib) << label << " in " << p.moves.size() << " moves";
  }
}

}  // namespace
}  // namespace pvekit::balance
