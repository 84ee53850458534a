// Quality benchmark of proxlb's planner (docs/balancing.md, "Benchmark").
//
// Part 1: seeded clusters of 5..50 nodes and up to 10,000 guests. For each:
// imbalance before/after, migrations, GiB moved and plan time (wall and CPU)
// of the planner, next to a memory-only ProxLB-style greedy baseline
// (greedy.h) measured with the same LoadModel.
// Part 2: small clusters (4-5 nodes, 10-14 guests) against the optimum:
// MILPs solved by glpsol (milp.h) with two linear proxies of the imbalance,
// and, where the space is small enough, exhaustive search of the true
// optimum (exact.h).
// Part 3: small clusters (4-8 nodes, 10-30 guests) against the cheapest plan:
// the fewest GiB moved that reaches the same spread, a MILP solved by glpsol.
// Every configuration is memory-only (method memory, weights memory 1, mode
// used) so the planner, the greedy and the optimum balance the same thing.
// Usage: bench_planner_quality [--quick] [--tmlim SECONDS] [--part 1|2|3]...
// (--part, repeatable: only those parts; all by default)

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "balance/generator.h"
#include "balance/planner.h"
#include "common.h"
#include "exact.h"
#include "greedy.h"
#include "milp.h"

namespace bench_balance {
namespace {

constexpr double kBalanciness = 5.0;     // the proxlb default
constexpr double kTimeGoalMs = 100.0;    // 50 nodes / 10,000 guests, CPU
constexpr double kOptimumSlack = 0.10;   // within 10 % of the optimum ...
constexpr double kOptimumPoints = 0.5;   // ... or 0.5 points when it is ~0
constexpr double kNearZero = 0.5;        // "optimum ~0" below this
constexpr double kExactLeaves = 6e7;     // exhaustive search bound
constexpr double kGibGoal = 1.2;         // GiB moved, at most this times the cheapest plan's ...
constexpr double kSpreadSlack = 0.10;    // ... at a spread within 10 % of the target

struct Options {
  bool quick = false;
  int tmlim = 60;
  std::vector<int> parts;  // empty: all
  bool runs(int part) const { return parts.empty() || std::find(parts.begin(), parts.end(), part) != parts.end(); }
};

struct Case {
  size_t nodes = 0, guests = 0;
  uint64_t seed = 0;
  bool rules = false;
};

std::string label(const Case& c) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%zu/%zu s%llu%s", c.nodes, c.guests, static_cast<unsigned long long>(c.seed),
                c.rules ? " +rules" : "");
  return buf;
}

pb::ClusterState make_cluster(const Case& c) {
  pb::GeneratorOptions o;
  o.nodes = c.nodes;
  o.guests = c.guests;
  o.seed = c.seed;
  o.rules = c.rules;
  return pb::generate_cluster(o);
}

// ---------------------------------------------------------------- ours ----

struct Ours {
  pb::Plan plan;
  double after = 0.0;  // re-measured on the relocated snapshot
  Timing time;         // median of the repetitions
};

Ours run_planner(const pb::ClusterState& state, const pb::BalanceConfig& config, int reps) {
  std::vector<Timing> times;
  Ours ours;
  for (int r = 0; r < reps; ++r) {
    Stopwatch watch;
    ours.plan = pb::plan(state, config);
    times.push_back(watch.elapsed());
  }
  std::sort(times.begin(), times.end(), [](const Timing& a, const Timing& b) { return a.cpu_ms < b.cpu_ms; });
  ours.time = times[times.size() / 2];
  ours.after = imbalance(relocate(state, relocations_of(state, ours.plan)), config);
  if (std::fabs(ours.after - ours.plan.imbalance_after) > 0.01)
    std::printf("  warning: plan reports imbalance %.3f, re-measured %.3f\n", ours.plan.imbalance_after, ours.after);
  return ours;
}

struct Greedy {
  GreedyResult result;
  double after = 0.0;
  Timing time;
};

Greedy run_greedy(const pb::ClusterState& state, const pb::BalanceConfig& config) {
  Greedy greedy;
  Stopwatch watch;
  greedy.result = greedy_balance(state, config.balancing.balanciness);
  greedy.time = watch.elapsed();
  greedy.after = imbalance(relocate(state, greedy.result.moves), config);
  return greedy;
}

// -------------------------------------------------------------- part 1 ----

struct LargeTotals {
  double ours_gib = 0, greedy_gib = 0;
  size_t cases = 0, fewer_gib = 0;
  double worst_ratio = 0, best_ratio = 1e9;
  double same_gib = 0;                  // ours at the greedy's final imbalance
  size_t same_fewer = 0, same_reached = 0;
  double max_cpu_50k = 0;  // CPU ms of the 50/10000 cases
};

void print_large_header() {
  std::printf("%-19s %6s | %6s %5s %7s %7s %7s | %6s %5s %7s %6s | %6s | %6s %7s %6s\n", "case nodes/guests",
              "before", "ours", "moves", "GiB", "wall ms", "cpu ms", "greedy", "moves", "GiB", "cpu ms", "GiB o/g",
              "ours=g", "GiB", "o=g/g");
  std::printf("%s\n", std::string(131, '-').c_str());
}

// Ours asked for the greedy's final imbalance (imbalance_threshold = that
// value, the spread left free): the GiB each needs for the same result. The
// greedy has no move limit, so ours may move every guest once too (the
// default max_moves, 500, stops it short of the target on 10,000 guests).
void same_quality(const pb::ClusterState& state, double target, double greedy_gib, LargeTotals& totals) {
  pb::BalanceConfig config = memory_config(100.0);
  config.balancing.imbalance_threshold = target;
  config.balancing.max_moves = static_cast<int>(state.guests.size());
  Ours same = run_planner(state, config, 1);
  double same_gib = gib(same.plan.bytes_moved);
  std::printf("%6.2f %7.1f %6.2f\n", same.after, same_gib, greedy_gib > 0 ? same_gib / greedy_gib : 1.0);
  totals.same_gib += same_gib;
  totals.same_fewer += same_gib < greedy_gib;
  totals.same_reached += same.after <= target + 0.01;
}

void large_case(const Case& c, LargeTotals& totals) {
  pb::ClusterState state = make_cluster(c);
  pb::BalanceConfig config = memory_config(kBalanciness);
  Ours ours = run_planner(state, config, c.guests >= 1000 ? 5 : 3);
  double ours_gib = gib(ours.plan.bytes_moved);
  std::printf("%-19s %6.2f | %6.2f %5zu %7.1f %7.2f %7.2f | ", label(c).c_str(), ours.plan.imbalance_before,
              ours.after, ours.plan.moves.size(), ours_gib, ours.time.wall_ms, ours.time.cpu_ms);
  if (c.nodes >= 50 && c.guests >= 10000) totals.max_cpu_50k = std::max(totals.max_cpu_50k, ours.time.cpu_ms);
  if (c.rules) {  // the greedy knows no rules: no fair comparison; the rules left unmet instead
    std::printf("%6s %5s %7s %6s | %6s | %6s %7s %6s   unresolved %zu\n", "n/a", "-", "-", "-", "-", "-", "-", "-",
                ours.plan.unresolved.size());
    return;
  }
  Greedy greedy = run_greedy(state, config);
  double greedy_gib = gib(greedy.result.bytes_moved);
  double ratio = greedy_gib > 0 ? ours_gib / greedy_gib : (ours_gib > 0 ? 1e9 : 1.0);
  std::printf("%6.2f %5zu %7.1f %6.2f | %6.2f | ", greedy.after, greedy.result.moves.size(), greedy_gib,
              greedy.time.cpu_ms, ratio);
  same_quality(state, greedy.after, greedy_gib, totals);
  totals.cases += 1;
  totals.ours_gib += ours_gib;
  totals.greedy_gib += greedy_gib;
  totals.fewer_gib += ours_gib < greedy_gib || (ours_gib == 0 && greedy_gib == 0);
  totals.worst_ratio = std::max(totals.worst_ratio, ratio);
  totals.best_ratio = std::min(totals.best_ratio, ratio);
}

std::vector<Case> large_cases(bool quick) {
  std::vector<Case> cases;
  std::vector<uint64_t> seeds = quick ? std::vector<uint64_t>{1} : std::vector<uint64_t>{1, 2, 3};
  for (auto [nodes, guests] : {std::pair<size_t, size_t>{5, 40}, {10, 200}, {20, 1000}, {50, 10000}})
    for (uint64_t seed : seeds) cases.push_back({nodes, guests, seed, false});
  cases.push_back({50, 10000, 42, true});  // as the unit test: rules, repairs and max_moves
  return cases;
}

LargeTotals part_large(const Options& options) {
  std::printf("== Part 1: planner vs ProxLB-style greedy (memory only, mode used, balanciness %.0f) ==\n",
              kBalanciness);
  std::printf("imbalance = LoadModel::imbalance() in percent (normalised CV) for both; the greedy stops when\n"
              "max - min node memory %% <= balanciness (ProxLB's criterion), ours too (balanciness is that spread).\n"
              "GiB = used RAM of running guests + local disks copied. Time: median of repetitions.\n"
              "ours=g: ours again with imbalance_threshold = the greedy's final imbalance (same target quality);\n"
              "o=g/g: its GiB / the greedy's GiB.\n\n");
  print_large_header();
  LargeTotals totals;
  for (const Case& c : large_cases(options.quick)) large_case(c, totals);
  return totals;
}

// -------------------------------------------------------------- part 2 ----

struct Optimum {
  double value = -1;      // best true imbalance of a known-feasible placement; <0: none
  std::string source;     // which method found it
  bool proven = false;    // true only from the exhaustive search: a MILP optimises a proxy, not the CV
};

struct SmallTotals {
  size_t cases = 0, within = 0;
  double ratio_sum = 0, worst_ratio = 0;
  std::vector<double> ratios;
  double ratio_sum_b5 = 0;
  bool glpsol = true;
};

std::string milp_cell(const std::string& glpsol, const pb::ClusterState& state, Objective objective,
                      const pb::BalanceConfig& config, int tmlim, Optimum& best) {
  if (glpsol.empty()) return "skipped";
  MilpResult r = solve_milp(glpsol, state, objective, tmlim);
  char buf[64];
  if (!r.solved) {
    std::snprintf(buf, sizeof buf, "%s", r.status.c_str());
    return buf;
  }
  double value = imbalance(relocate(state, r.placement), config);
  if (best.value < 0 || value < best.value)
    best = {value, objective == Objective::Spread ? "milp-spread" : "milp-l1", false};
  std::snprintf(buf, sizeof buf, "%6.2f%s %6.0fms", value, r.optimal ? " " : "*", r.time.wall_ms);
  return buf;
}

std::string exact_cell(const pb::ClusterState& state, const pb::BalanceConfig& config, Optimum& best) {
  std::optional<ExactResult> r = exact_optimum(state, kExactLeaves);
  if (!r) return "too large";
  if (r->placement.empty()) return "infeasible";
  double value = imbalance(relocate(state, r->placement), config);
  if (best.value < 0 || value <= best.value) best = {value, "exact", true};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%6.2f %6.0fms", value, r->time.cpu_ms);
  return buf;
}

bool within_goal(double ours, double optimum) {
  if (ours <= optimum * (1.0 + kOptimumSlack) + 1e-9) return true;
  return optimum < kNearZero && ours <= optimum + kOptimumPoints;
}

void print_small_header() {
  std::printf("%-13s %6s | %6s | %6s %3s %6s %6s | %6s | %6s | %-16s | %-16s | %-15s | %6s %6s %s\n", "case",
              "before", "ours5", "ours0", "mv", "GiB", "cpu ms", "free", "greedy", "MILP spread", "MILP L1",
              "exact (CV)", "opt", "o0/opt", "goal");
  std::printf("%s\n", std::string(158, '-').c_str());
}

void small_case(const Case& c, const Options& options, const std::string& glpsol, SmallTotals& totals) {
  pb::ClusterState state = make_cluster(c);
  pb::BalanceConfig config = memory_config(kBalanciness);
  pb::BalanceConfig tight = memory_config(0.0);
  Ours ours5 = run_planner(state, config, 1);
  Ours ours0 = run_planner(state, tight, 3);
  pb::BalanceConfig free = tight;  // migrations (almost) free: search quality alone
  free.balancing.migration_cost = pb::MigrationCost{0.0, 1e-6};
  Ours ours_free = run_planner(state, free, 1);
  Greedy greedy = run_greedy(state, config);
  Optimum best;
  std::string spread = milp_cell(glpsol, state, Objective::Spread, tight, options.tmlim, best);
  std::string l1 = milp_cell(glpsol, state, Objective::AbsDeviation, tight, options.tmlim, best);
  std::string exact = exact_cell(state, tight, best);
  std::printf("%-13s %6.2f | %6.2f | %6.2f %3zu %6.1f %6.2f | %6.2f | %6.2f | %-16s | %-16s | %-15s | ",
              label(c).c_str(), ours0.plan.imbalance_before, ours5.after, ours0.after, ours0.plan.moves.size(),
              gib(ours0.plan.bytes_moved), ours0.time.cpu_ms, ours_free.after, greedy.after, spread.c_str(), l1.c_str(),
              exact.c_str());
  if (best.value < 0) {
    std::printf("%6s %6s %s\n", "-", "-", "no optimum");
    return;
  }
  double opt = std::min(best.value, ours0.after);  // ours is a feasible placement too
  double ratio = opt > 0 ? ours0.after / opt : 1.0;
  bool ok = within_goal(ours0.after, best.value);
  std::printf("%6.2f %6.2f %s%s\n", best.value, ratio, ok ? "PASS" : "MISS", best.proven ? "" : " (MILP)");
  totals.cases += 1;
  totals.within += ok;
  totals.ratio_sum += ratio;
  totals.ratios.push_back(ratio);
  totals.worst_ratio = std::max(totals.worst_ratio, ratio);
  totals.ratio_sum_b5 += opt > 0 ? ours5.after / opt : 1.0;
}

std::vector<Case> small_cases(bool quick) {
  std::vector<Case> cases;
  std::vector<uint64_t> seeds = quick ? std::vector<uint64_t>{1} : std::vector<uint64_t>{1, 2, 3};
  for (auto [nodes, guests] : {std::pair<size_t, size_t>{4, 10}, {4, 12}, {5, 12}, {5, 14}})
    for (uint64_t seed : seeds) cases.push_back({nodes, guests, seed, false});
  return cases;
}

SmallTotals part_small(const Options& options) {
  std::string glpsol = find_glpsol();
  std::printf("\n== Part 2: small clusters vs the optimum (memory only, mode used) ==\n");
  if (glpsol.empty()) std::printf("MILP: skipped: glpsol not found\n");
  std::printf("ours5/ours0: planner with balanciness 5 (default) / 0 (balance as far as moves pay; judged).\n"
              "free: ours0 with migration cost ~0 (per_gib 0, min_gain 1e-6): the search alone.\n"
              "MILP: glpsol, binary x[guest,node], memory and local-disk capacity; objectives (linear proxies):\n"
              "  spread = minimise max - min node memory-usage fraction; L1 = minimise sum |usage - mean usage|.\n"
              "  Each MILP placement is then measured with LoadModel::imbalance(); '*' = time limit, not proven.\n"
              "exact (CV): exhaustive search of the planner's own imbalance (up to %.0e placements).\n"
              "opt = best of MILP and exact; goal: ours0 <= opt * 1.10, or ours0 <= opt + 0.5 when opt < 0.5.\n\n",
              kExactLeaves);
  print_small_header();
  SmallTotals totals;
  totals.glpsol = !glpsol.empty();
  for (const Case& c : small_cases(options.quick)) small_case(c, options, glpsol, totals);
  return totals;
}

// -------------------------------------------------------------- part 3 ----

struct CheapTotals {
  std::vector<double> ratios;       // ours / cheapest at the target spread
  std::vector<double> same_ratios;  // ours / cheapest at the spread ours reached
  size_t cases = 0, spread_ok = 0, proven = 0;
};

std::vector<Case> cheap_cases(bool quick) {
  std::vector<Case> cases = small_cases(quick);
  std::vector<uint64_t> seeds = quick ? std::vector<uint64_t>{1} : std::vector<uint64_t>{1, 2, 3};
  for (auto [nodes, guests] : {std::pair<size_t, size_t>{6, 20}, {8, 30}})
    for (uint64_t seed : seeds) cases.push_back({nodes, guests, seed, false});
  return cases;
}

// The cheapest placement with a spread of at most `bound` points: its GiB
// and spread, or a status when glpsol found none.
struct Cheapest {
  bool solved = false, optimal = false;
  double gib = 0.0, spread = 0.0;
  std::string status;
};

Cheapest cheapest(const std::string& glpsol, const pb::ClusterState& state, const pb::BalanceConfig& config,
                  double bound, int tmlim) {
  MilpResult r = solve_milp(glpsol, state, Objective::Cheapest, tmlim, bound);
  Cheapest c;
  c.solved = r.solved;
  c.optimal = r.optimal;
  c.status = r.status;
  if (!r.solved) return c;
  c.gib = gib_moved(state, r.placement);
  c.spread = spread(relocate(state, r.placement), config);
  return c;
}

double gib_ratio(double ours, double best) { return best > 0 ? ours / best : (ours > 0 ? 1e9 : 1.0); }

void cheap_case(const Case& c, const Options& options, const std::string& glpsol, CheapTotals& totals) {
  pb::ClusterState state = make_cluster(c);
  pb::BalanceConfig config = memory_config(kBalanciness);
  Ours ours = run_planner(state, config, 1);
  double before = spread(state, config);
  double reached = spread(relocate(state, relocations_of(state, ours.plan)), config);
  double ours_gib = gib(ours.plan.bytes_moved);
  std::printf("%-13s %6.2f | %6.2f %3zu %7.1f | ", label(c).c_str(), before, reached, ours.plan.moves.size(),
              ours_gib);
  if (before <= kBalanciness) {
    std::printf("already within balanciness\n");
    return;
  }
  Cheapest target = cheapest(glpsol, state, config, kBalanciness, options.tmlim);
  Cheapest same = cheapest(glpsol, state, config, reached, options.tmlim);
  if (!target.solved || !same.solved) {
    std::printf("MILP: %s / %s\n", target.status.c_str(), same.status.c_str());
    return;
  }
  double ratio = gib_ratio(ours_gib, target.gib), same_ratio = gib_ratio(ours_gib, same.gib);
  bool spread_ok = reached <= kBalanciness * (1.0 + kSpreadSlack) + 1e-9;
  std::printf("%6.2f %7.1f%s | %6.2f %7.1f%s | %6.2f %6.2f %s\n", target.spread, target.gib, target.optimal ? " " : "*",
              same.spread, same.gib, same.optimal ? " " : "*", ratio, same_ratio,
              spread_ok && ratio <= kGibGoal ? "PASS" : "MISS");
  totals.cases += 1;
  totals.spread_ok += spread_ok;
  totals.proven += target.optimal && same.optimal;
  totals.ratios.push_back(ratio);
  totals.same_ratios.push_back(same_ratio);
}

CheapTotals part_cheap(const Options& options) {
  std::string glpsol = find_glpsol();
  std::printf("\n== Part 3: GiB moved vs the cheapest plan (memory only, mode used, balanciness %.0f) ==\n",
              kBalanciness);
  if (glpsol.empty()) {
    std::printf("skipped: glpsol not found (Debian's glpk-utils)\n");
    return {};
  }
  std::printf("spread = max - min node memory usage in points (LoadModel::spread(), ProxLB's balanciness).\n"
              "cheapest: MILP (glpsol) minimising the GiB moved (used RAM + local disks of the guests that\n"
              "  leave their node) subject to spread <= bound and capacity; '*' = time limit, not proven.\n"
              "  at target: bound = balanciness; at ours: bound = the spread ours reached.\n"
              "goal: ours' spread <= balanciness + %.0f %% and GiB <= %.1fx the cheapest at target.\n\n",
              kSpreadSlack * 100, kGibGoal);
  std::printf("%-13s %6s | %6s %3s %7s | %-22s | %-22s | %6s %6s %s\n", "case", "spread", "ours", "mv", "GiB",
              "cheapest at target", "cheapest at ours", "o/tgt", "o/same", "goal");
  std::printf("%s\n", std::string(112, '-').c_str());
  CheapTotals totals;
  for (const Case& c : cheap_cases(options.quick)) cheap_case(c, options, glpsol, totals);
  return totals;
}

// ------------------------------------------------------------- summary ----

double median(std::vector<double> values) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

const char* verdict(bool ok) { return ok ? "PASS" : "MISS"; }

void summary(const LargeTotals& large, const SmallTotals& small, const CheapTotals& cheap) {
  std::printf("\n== Summary ==\n");
  double gib_ratio = large.greedy_gib > 0 ? large.ours_gib / large.greedy_gib : 0.0;
  if (large.cases > 0)
    std::printf("GiB moved, ours / greedy: total %.1f / %.1f = %.3f (per case %.3f .. %.3f), fewer in %zu of %zu cases\n",
              large.ours_gib, large.greedy_gib, gib_ratio, large.best_ratio, large.worst_ratio, large.fewer_gib,
              large.cases);
  if (small.cases > 0)
    std::printf("imbalance, ours / optimum: median %.3f, mean %.3f, worst %.3f with balanciness 0 (mean %.3f with 5)\n",
                median(small.ratios), small.ratio_sum / static_cast<double>(small.cases), small.worst_ratio,
                small.ratio_sum_b5 / static_cast<double>(small.cases));
  if (cheap.cases > 0)
    std::printf("GiB moved, ours / cheapest plan at the target spread: median %.3f, worst %.3f; at the spread ours\n"
                "reached: median %.3f, worst %.3f (%zu cases, %zu proven optimal)\n",
                median(cheap.ratios), *std::max_element(cheap.ratios.begin(), cheap.ratios.end()),
                median(cheap.same_ratios), *std::max_element(cheap.same_ratios.begin(), cheap.same_ratios.end()),
                cheap.cases, cheap.proven);
  std::printf("\nGoals:\n");
  if (small.cases > 0)
    std::printf("  [%s] small cases: final imbalance within 10%% of the optimum (or 0.5 points near 0): %zu of %zu\n",
                verdict(small.within == small.cases), small.within, small.cases);
  else if (!small.glpsol)
    std::printf("  [----] small cases vs optimum: no optimum available\n");
  if (large.cases > 0) {
    std::printf("  [%s] fewer GiB moved than the greedy baseline: %zu of %zu cases, total ratio %.3f\n",
                verdict(large.fewer_gib == large.cases), large.fewer_gib, large.cases, gib_ratio);
    std::printf("  [%s] same, at the greedy's final imbalance: %zu of %zu cases (reached it in %zu), total ratio %.3f\n",
                verdict(large.same_fewer == large.cases && large.same_reached == large.cases), large.same_fewer,
                large.cases, large.same_reached, large.greedy_gib > 0 ? large.same_gib / large.greedy_gib : 0.0);
  }
  if (cheap.cases > 0) {
    double worst = *std::max_element(cheap.ratios.begin(), cheap.ratios.end());
    std::printf("  [%s] small cases: spread within %.0f%% of the target (%zu of %zu) at <= %.1fx the cheapest plan's\n"
                "         GiB: median %.3f, worst %.3f\n",
                verdict(cheap.spread_ok == cheap.cases && median(cheap.ratios) <= kGibGoal && worst <= kGibGoal),
                kSpreadSlack * 100, cheap.spread_ok, cheap.cases, kGibGoal, median(cheap.ratios), worst);
  } else {
    std::printf("  [----] small cases vs the cheapest plan: no MILP available\n");
  }
  if (large.max_cpu_50k > 0)
    std::printf("  [%s] 50 nodes / 10,000 guests planned in under %.0f ms CPU: worst %.2f ms\n",
                verdict(large.max_cpu_50k < kTimeGoalMs), kTimeGoalMs, large.max_cpu_50k);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) o.quick = true;
    else if (std::strcmp(argv[i], "--tmlim") == 0 && i + 1 < argc) o.tmlim = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--part") == 0 && i + 1 < argc) o.parts.push_back(std::atoi(argv[++i]));
  }
  return o;
}

}  // namespace
}  // namespace bench_balance

int main(int argc, char** argv) {
  using namespace bench_balance;
  Options options = parse(argc, argv);
  LargeTotals large = options.runs(1) ? part_large(options) : LargeTotals{};
  SmallTotals small = options.runs(2) ? part_small(options) : SmallTotals{};
  CheapTotals cheap = options.runs(3) ? part_cheap(options) : CheapTotals{};
  summary(large, small, cheap);
  return 0;
}
