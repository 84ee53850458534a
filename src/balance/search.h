#pragma once

// Internal to the planner: the mutable working state of one planning run.

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "balance/config.h"
#include "balance/planner.h"
#include "balance/rules.h"
#include "balance/score.h"

namespace pvekit::balance::detail {

// One guest migration in sequential order.
struct Step {
  size_t guest = 0;
  size_t unit = 0;
  int from = -1;
  int to = -1;
  MoveReason reason = MoveReason::Balance;
  double gain = 0.0;
  double cost = 0.0;
};

class Search {
 public:
  Search(const Constraints& constraints, const BalanceConfig& config);

  // Phase 1: gather affinity groups, evacuate maintenance nodes, repair pins
  // and anti-affinity. Phase 2: local search on the imbalance.
  void repair();
  void balance();

  bool balancing_needed() const;  // imbalance or a threshold above its limit
  bool triggered() const { return triggered_; }  // balancing_needed() before any move
  const std::vector<Step>& steps() const { return steps_; }
  const LoadModel& load() const { return load_; }
  std::vector<Conflict>& unresolved() { return unresolved_; }

 private:
  struct UnitInfo {
    Vec3 contrib{};
    Amount need;
    double gib = 0.0;   // GiB copied to move the unit
    double size = 0.0;  // weighted share of its node, for balance_larger_guests_first
  };
  struct Candidate {
    size_t unit = 0;
    size_t partner = 0;  // swap partner unit
    bool swap = false;
    bool partner_first = false;
    bool chain = false;  // compound: unit from->to, then partner to->via
    int from = -1, to = -1;
    int via = -1;  // chain only: where the partner goes
    double gain = 0.0, cost = 0.0, score = 0.0;
  };

  // State and moves.
  int unit_node(size_t unit) const { return unit_at_[unit]; }  // -1 when members are spread
  int locate(size_t unit) const;
  std::vector<int> unit_nodes(size_t unit) const;
  bool can_place(size_t unit, size_t node) const;
  bool anti_ok(size_t unit, size_t node, int ignore_unit = -1) const;
  void move_guest(size_t guest, size_t node, MoveReason reason, double gain, double cost);
  void move_unit(size_t unit, size_t node, MoveReason reason, double gain, double cost);
  void count_anti(size_t unit, int delta);
  double move_cost(double gib, int moves) const;
  int best_target(size_t unit) const;

  // Phase 1 parts.
  void gather(size_t unit);
  int gather_target(size_t unit) const;
  void evacuate();
  void repair_pins();
  void repair_anti(size_t group);
  void report(size_t unit, const std::string& what);

  // Phase 2 parts.
  void balance_pass();
  void adopt(Search& other);  // takes over the other run's state and steps
  // Small clusters (search_polish.cpp): iterated local search from `start`,
  // the state before phase 2.
  void polish(const Search& start);
  bool compact(const Search& start);
  std::pair<bool, double> objective(size_t first_step) const;
  double steps_cost(size_t first_step) const;  // migration cost of the steps from first_step on
  double guest_gib(size_t guest) const;        // GiB copied to move the guest
  double rank(double gain, double cost) const;
  std::vector<size_t> ranked_nodes() const;  // counted nodes, most loaded first
  bool better(const Candidate& a, const Candidate& b) const;
  std::vector<Candidate> collect(const std::vector<size_t>& sources,
                                 const std::vector<size_t>& targets) const;
  size_t apply_round(const std::vector<Candidate>& candidates, const std::vector<size_t>& targets,
                     size_t limit);
  void consider(size_t unit, size_t from, size_t to, Candidate& best) const;
  bool find_swap(const std::vector<size_t>& ranked, Candidate& best) const;
  void consider_swap(size_t a, size_t b, size_t s, size_t t, Candidate& best) const;
  // Compound moves (search_compound.cpp): 2-step ejection chains.
  std::vector<size_t> chain_units(size_t node, size_t limit) const;
  bool find_chain(const std::vector<size_t>& ranked, Candidate& best) const;
  void chain_from(size_t a, size_t s, size_t x, const std::vector<size_t>& ranked,
                  Candidate& best) const;
  bool chain_fits(size_t a, size_t b, size_t s, size_t x, size_t y, bool& b_first) const;
  void apply(const Candidate& c);

  const Constraints& c_;
  const BalanceConfig& config_;
  LoadModel load_;
  bool triggered_ = false;
  bool by_gain_ = false;  // rank by gain alone (the second balancing run)
  std::vector<UnitInfo> info_;
  std::vector<int> guest_node_;
  std::vector<int> unit_at_;  // cache of locate()
  std::vector<Amount> fit_;
  std::vector<std::vector<int>> anti_count_;  // [group][node]: units present
  std::vector<std::vector<size_t>> units_on_;  // [node]: whole units, ascending
  std::vector<Step> steps_;
  std::vector<Conflict> unresolved_;
};

// Groups sequential steps into waves (see Plan). Each wave only starts from
// the state all earlier waves produce; within a wave, capacity counts every
// incoming guest but no departure, and anti-affinity counts every member that
// was on a node at the wave's start, so any subset of a wave is safe.
std::vector<std::vector<size_t>> build_waves(const Constraints& constraints,
                                             const std::vector<Step>& steps,
                                             const BalanceConfig& config);

}  // namespace pvekit::balance::detail
