#pragma once

// Internal to the planner: the mutable working state of one planning run.

#include <cstddef>
#include <limits>
#include <memory>
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

// One planning run over its working state s_ (Search::State, a value:
// polish() and make_room() copy the run to try alternatives, adopt() takes
// another run's state over whole). Every change goes through move_guest(),
// which keeps these invariants:
//  - s_.guest_node is the snapshot's placement with s_.steps applied in order;
//    s_.load and s_.fit (capacity, in the fit check's units) are the loads of
//    that placement; s_.unit_at[u] == locate(u); s_.units_on[n] lists the whole
//    units on n, ascending; s_.anti_count[g][n] counts the units of anti group
//    g with a member on n.
//  - s_.base[guest] is the guest's node in the snapshot or after its last
//    required move; s_.displaced counts guests away from it, the net balancing
//    moves, and admits() keeps it <= max_moves for every candidate taken.
// s_.steps may move a guest more than once (a swap partner moved on later, a
// repair then a balancing move); schedule() turns them into net moves.
class Search {
 public:
  Search(const Constraints& constraints, const BalanceConfig& config);

  // Phase 1: gather affinity groups, evacuate maintenance nodes, repair pins
  // and anti-affinity; `making_room`: required moves that find no room make
  // it (make_room), as retry() does. Phase 2: local search on the imbalance.
  void repair(bool making_room = false);
  void balance();
  // Phase 3: required moves that found no room are tried again on the state
  // balancing left (it may have freed room), then balancing resumes.
  void retry();

  // Phase 4 (search_prune.cpp): net balancing moves the result no longer
  // needs are undone, and each remaining one is replaced by a cheaper move
  // when that still meets the targets.
  void prune();

  bool balancing_needed() const { return needs_balancing(s_.load); }  // imbalance or a threshold above its limit
  bool triggered() const { return triggered_; }  // balancing_needed() before any move
  const std::vector<Step>& steps() const { return s_.steps; }
  const LoadModel& load() const { return s_.load; }
  std::vector<Conflict>& unresolved() { return unresolved_; }
  // Checks the invariants below from scratch (tests): empty when they hold,
  // else the first that does not.
  std::string check_invariants() const;

 private:
  struct UnitInfo {
    Vec3 contrib{};
    Amount need;
    double gib = 0.0;   // GiB copied to move the unit
    double size = 0.0;  // weighted share of its node, for balance_larger_guests_first
  };
  // The kinds of balancing candidate, all steps of whole units (an affinity
  // group is one unit, so it moves as one candidate), all passing admits()
  // and made by apply():
  //  - Move: `unit` from -> to;
  //  - Swap: `unit` from -> to and `partner` to -> from;
  //  - Chain: `unit` from -> to and `partner` to -> via (an ejection chain,
  //    search_compound.cpp).
  enum class Kind { Move, Swap, Chain };
  struct Candidate {
    Kind kind = Kind::Move;
    size_t unit = 0;
    size_t partner = 0;          // Swap, Chain
    bool partner_first = false;  // Swap, Chain: the partner's step is made first
    int from = -1, to = -1;
    int via = -1;  // Chain: where the partner goes
    double gain = 0.0, cost = 0.0, score = 0.0;
  };

  bool needs_balancing(const LoadModel& load) const;
  std::vector<UnitInfo> unit_info() const;

  // State and moves.
  int unit_node(size_t unit) const { return s_.unit_at[unit]; }  // -1 when members are spread
  int locate(size_t unit) const;
  std::vector<int> unit_nodes(size_t unit) const;
  bool can_place(size_t unit, size_t node) const;
  bool anti_ok(size_t unit, size_t node, int ignore_unit = -1) const;
  void move_guest(size_t guest, size_t node, MoveReason reason, double gain, double cost);
  // max_moves, the one check every balancing candidate passes: the net
  // balancing moves (guests away from where the last required move, or the
  // snapshot, put them) after `c` stay within the limit.
  bool admits(const Candidate& c) const;
  int displacement(size_t unit, int node) const;  // change of s_.displaced if the unit went there
  void move_unit(size_t unit, size_t node, MoveReason reason, double gain, double cost);
  void count_anti(size_t unit, int delta);
  double move_cost(double gib, int moves) const;
  // The allowed node where the unit leaves the cluster most even, other than
  // the `excluded` ones.
  int best_target(size_t unit, const std::vector<bool>* excluded = nullptr) const;

  // Phase 1 parts.
  void gather(size_t unit);
  int gather_target(size_t unit) const;
  void evacuate();
  void repair_pins();
  void repair_anti(size_t group);
  void report(size_t unit, const std::string& what);
  // When retrying: moves units off a node `unit` may end on until it fits
  // there (it may be split: an affinity group gathering). A bounded
  // depth-first search (search.cpp): units moved out of the way may get room
  // made for them in turn.
  int make_room(size_t unit);
  struct Room {
    std::vector<bool> reserved;  // nodes being cleared: units moved aside go elsewhere if they can
    std::vector<int> waiting;    // [node]: the unit it is being cleared for
    size_t copies = 0;           // copies of the working state the search may still make
  };
  int clear_for(size_t unit, int depth, Room& room);
  int clear_one_of(size_t unit, const std::vector<size_t>& targets, bool lifted, int depth, Room& room);
  bool clear_node(size_t unit, size_t t, const std::vector<size_t>& out, size_t order, int depth,
                  Room& room);
  bool move_aside(size_t unit, int depth, Room& room);
  void lift(size_t unit, size_t t, bool off);
  Amount arriving(size_t unit, size_t node) const;
  bool can_end_on(size_t unit, size_t node) const;
  bool anti_ok_arriving(size_t unit, size_t node) const;
  bool apart(size_t a, size_t b) const;

  // Phase 4 parts.
  std::vector<size_t> balancing_moved() const;
  int home(size_t unit) const;
  bool undo_unneeded();
  bool replace_cheaper(size_t& budget);  // budget: candidates left to evaluate
  bool rebalance_cheaper(const Search& start);
  double net_gib(const Search& start) const;
  double net_cost(const Search& start) const;
  void band_pass(double offset);  // band centre: the mean + offset * half its width
  void cheapest(const Search& start);
  bool stamp_set(const Search& start);
  // Small clusters (search_trim.cpp): the cheapest set of balancing moves
  // from `start` (this) that meets the targets, by a bounded branch and
  // bound; taken when it copies fewer GiB than `bound`.
  struct SetSearch;
  int balanced_resource() const;
  SetSearch new_set(double bound) const;
  bool cheapest_set(const Search& start, double bound);
  // Small clusters (search_window.cpp): the cheapest plan that puts every
  // counted node in one window [L, L + balanciness] of the one balanced
  // resource, for a few L, node by node; taken when it copies fewer GiB
  // than `bound`.
  struct Window;
  bool window_set(const Search& start, double bound);
  void window_at(const Window& w, double low, double band, bool thorough, double& best, size_t& work,
                 Search& out) const;
  bool place(const Window& w, const std::vector<size_t>& pool, const std::vector<double>& need,
             const std::vector<double>& room, std::vector<size_t>& to, size_t& work) const;
  // Then on the best plan (it meets the targets): one or two of its moves
  // are exchanged for a cheaper set while one is found.
  bool exchange(const Search& start);
  void set_search(SetSearch& set, double cost);
  double gib_bound(SetSearch& set) const;  // GiB still to move, at least

  // Phase 2 parts.
  // Units the local search may move: movable, running and below gib_cap_.
  bool balancable(size_t unit) const;
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
  size_t apply_round(const std::vector<Candidate>& candidates, const std::vector<size_t>& targets);
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
  // The working state, one value: copied to try alternatives, taken over
  // whole by adopt(). Net balancing moves: base[guest] is where the snapshot
  // or the last required move put the guest; displaced counts guests
  // elsewhere.
  struct State {
    LoadModel load;
    std::vector<int> guest_node;
    std::vector<int> unit_at;  // cache of locate()
    std::vector<Amount> fit;
    std::vector<std::vector<int>> anti_count;  // [group][node]: units present
    std::vector<std::vector<size_t>> units_on;  // [node]: whole units, ascending
    std::vector<Step> steps;
    std::vector<int> base;
    size_t displaced = 0;
  };
  State s_;
  bool triggered_ = false;
  bool by_gain_ = false;  // rank by gain alone (the second balancing run)
  // The local search moves only units copying fewer GiB than this
  // (rebalance_cheaper(): the units a balancing move is traded for).
  double gib_cap_ = std::numeric_limits<double>::infinity();
  // Per unit, fixed for the run: shared by copies, which stay cheap.
  std::shared_ptr<const std::vector<UnitInfo>> info_store_;
  const std::vector<UnitInfo>& info_;
  std::vector<Conflict> unresolved_;
  double start_imbalance_ = 0.0;  // when phase 2 began: pruning never ends above it
  int room_budget_ = 0;  // make_room() attempts left (set by repair(true))
  size_t room_copies_ = 0;  // Room::copies left for the repair pass (set by repair(true))
};

// The search's sequential steps collapsed to one move per guest, from its
// node in the snapshot to its final node, in the order of each guest's first
// step; guests that end where they started have none. A move is required
// (its reason) when any of its steps was.
std::vector<Step> net_moves(const Constraints& constraints, const std::vector<Step>& steps);

// The plan's contract, enforced in one place (waves.cpp): net moves in waves.
// Each wave only starts from the state all earlier waves produce; within a
// wave, capacity counts every incoming guest but no departure, anti-affinity
// counts every member that was on a node at the wave's start, and no node
// takes part in more than parallel_jobs migrations (one wave per move without
// `parallel`), so any subset of a wave is safe. Waves are built greedily;
// when that leaves moves out, a bounded search looks for an order of the
// moves one at a time. When no order exists, a guest parks on a node with
// room first (MoveReason::Parking, costed) and moves on later; each guest
// parks at most once. Moves that still cannot be ordered are left out, in
// `dropped`.
struct Schedule {
  std::vector<Step> steps;                  // execution order, parking moves included
  std::vector<std::vector<size_t>> waves;  // indices into steps
  std::vector<Step> dropped;                // net moves no safe order was found for
};
Schedule schedule(const Constraints& constraints, const std::vector<Step>& steps,
                  const BalanceConfig& config);

}  // namespace pvekit::balance::detail
