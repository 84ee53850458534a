// The failover check of proxlb capacity (docs/capacity.md, "Failover check").
#include <algorithm>
#include <limits>
#include <map>
#include <numeric>
#include <optional>

#include "balance/capacity.h"

namespace pvekit::balance {
namespace {

// Displaced guests that must land on one node together (an affinity unit).
struct Block {
  std::vector<size_t> guests;
  Amount need;
  NodeSet allowed;
  std::vector<size_t> anti;  // anti-affinity groups of the unit
  uint32_t vmid = 0;
};

// Survivors' state while placing: load per node, units per anti group and node.
struct Room {
  const Constraints* c = nullptr;
  std::vector<Amount> load;
  std::vector<std::vector<int>> anti;  // [group][node]
  std::vector<int> anti_limit;         // units of a group per node

  bool can_take(const Block& b, size_t n) const {
    if (!b.allowed.test(n) || !Constraints::fits(load[n], b.need, c->limit(n))) return false;
    for (size_t g : b.anti)
      if (anti[g][n] >= anti_limit[g]) return false;
    return true;
  }
  void place(const Block& b, size_t n, int sign) {
    load[n] = sign > 0 ? load[n] + b.need : load[n] - b.need;
    for (size_t g : b.anti) anti[g][n] += sign;
  }
};

// PVE's HA manager restarts the resources of a node-affinity rule on the
// highest-priority class of its nodes that are still available, so that class
// depends on which nodes failed. The classes are computed per combination on
// top of constraints compiled without the rules (recompiling everything for
// each of N+2's 1,225 pairs on 50 nodes took 16 s).
class HaClasses {
 public:
  HaClasses(const ClusterState& state, const Constraints& c) {
    std::map<uint32_t, size_t> guest_of;
    for (size_t g = 0; g < state.guests.size(); ++g) guest_of[state.guests[g].vmid] = g;
    for (const auto& rule : state.node_affinity) {
      if (!rule.enabled) continue;
      Rule r{.strict = rule.strict, .nodes = {}, .guests = {}};
      for (const auto& np : rule.nodes)
        if (int idx = c.node_index(np.node); idx >= 0) r.nodes.push_back({np.priority, static_cast<size_t>(idx)});
      for (uint32_t vmid : rule.resources)
        if (auto it = guest_of.find(vmid); it != guest_of.end()) r.guests.push_back(it->second);
      rules_.push_back(std::move(r));
    }
  }

  // Allowed nodes per guest of a rule with `failed` down (as
  // Constraints::apply_ha_node_affinity on the survivors).
  std::map<size_t, NodeSet> allowed(const Constraints& c, const NodeSet& failed) const {
    std::map<size_t, NodeSet> out;
    for (const auto& r : rules_) {
      NodeSet best(c.node_count());
      int top = std::numeric_limits<int>::min();
      for (const auto& [priority, n] : r.nodes) {
        if (!c.eligible(n) || failed.test(n)) continue;
        if (priority > top) best = NodeSet(c.node_count()), top = priority;
        if (priority == top) best.set(n);
      }
      if (best.empty() && !r.strict) continue;
      for (size_t g : r.guests) {
        auto [it, added] = out.emplace(g, best);
        if (!added) it->second &= best;
      }
    }
    return out;
  }

  bool empty() const { return rules_.empty(); }

 private:
  struct Rule {
    bool strict = false;
    std::vector<std::pair<int, size_t>> nodes;  // priority, node index
    std::vector<size_t> guests;
  };
  std::vector<Rule> rules_;
};

struct Setup {
  std::vector<Block> blocks;  // decreasing need
  Room room;
  NodeSet targets;            // eligible survivors
};

// `cluster_nodes`: the nodes that could take guests before the failure.
// Anti-affinity keeps the limit it had then: losing nodes does not let the
// group's guests share one (Constraints would relax it for fewer nodes).
// `ha`: the HA rule classes of this combination when `c` was compiled
// without the rules; null when `c` holds them.
Setup prepare(const Constraints& c, const NodeSet& failed, FailoverScope scope, size_t cluster_nodes,
              const std::map<size_t, NodeSet>* ha) {
  Setup s;
  s.room.c = &c;
  s.targets = c.eligible_nodes();
  for (size_t n = 0; n < c.node_count(); ++n)
    if (failed.test(n)) s.targets.reset(n);
  const auto& guests = c.state().guests;
  std::map<size_t, size_t> block_of_unit;
  for (size_t g = 0; g < c.guest_count(); ++g) {
    const int node = c.node_of(g);
    if (node < 0 || !failed.test(static_cast<size_t>(node))) continue;
    if (guests[g].status != GuestStatus::Running) continue;
    if (scope == FailoverScope::Ha && !guests[g].ha_managed) continue;
    const size_t u = c.unit_of(g);
    auto [it, added] = block_of_unit.emplace(u, s.blocks.size());
    if (added) {
      Block b;
      b.allowed = s.targets;
      b.anti = c.units()[u].anti_groups;
      b.vmid = guests[g].vmid;
      s.blocks.push_back(std::move(b));
    }
    Block& b = s.blocks[it->second];
    b.guests.push_back(g);
    b.need = b.need + c.need(g);
    b.allowed &= c.allowed_nodes(g);
    if (ha)
      if (auto rule = ha->find(g); rule != ha->end()) b.allowed &= rule->second;
  }
  std::sort(s.blocks.begin(), s.blocks.end(), [](const Block& a, const Block& b) {
    if (a.need.memory != b.need.memory) return a.need.memory > b.need.memory;
    if (a.need.cpus != b.need.cpus) return a.need.cpus > b.need.cpus;
    return a.vmid < b.vmid;
  });
  s.room.load.resize(c.node_count());
  for (size_t n = 0; n < c.node_count(); ++n) s.room.load[n] = c.initial_load(n);
  s.room.anti.assign(c.anti_groups().size(), std::vector<int>(c.node_count(), 0));
  for (size_t g = 0; g < c.anti_groups().size(); ++g) {
    const size_t units = c.anti_groups()[g].units.size(), nodes = std::max<size_t>(cluster_nodes, 1);
    s.room.anti_limit.push_back(static_cast<int>((units + nodes - 1) / nodes));
    for (size_t u : c.anti_groups()[g].units) {
      NodeSet on(c.node_count());
      for (size_t m : c.units()[u].members) {
        const int node = c.node_of(m);
        if (node >= 0 && s.targets.test(static_cast<size_t>(node))) on.set(static_cast<size_t>(node));
      }
      for (size_t n = 0; n < c.node_count(); ++n)
        if (on.test(n)) ++s.room.anti[g][n];
    }
  }
  return s;
}

// Decreasing sizes, each onto the allowed survivor with the most free memory
// (ties: the lower node index). -1: no room.
std::vector<int> first_fit(Setup s) {
  std::vector<int> target(s.blocks.size(), -1);
  for (size_t i = 0; i < s.blocks.size(); ++i) {
    int best = -1;
    double best_free = 0;
    for (size_t n = 0; n < s.room.load.size(); ++n) {
      if (!s.room.can_take(s.blocks[i], n)) continue;
      const double free = s.room.c->limit(n).memory - s.room.load[n].memory;
      if (best < 0 || free > best_free) best = static_cast<int>(n), best_free = free;
    }
    if (best >= 0) s.room.place(s.blocks[i], static_cast<size_t>(best), 1);
    target[i] = best;
  }
  return target;
}

enum class Exact { Fits, DoesNotFit, Undecided };

// Depth-first search over every assignment, pruned when the memory still to
// place exceeds the memory still free on the survivors.
struct Search {
  Setup& s;
  uint64_t budget;
  uint64_t steps = 0;
  std::vector<double> suffix_memory;
  std::vector<int> target;

  bool run(size_t i, double free_memory) {
    if (i == s.blocks.size()) return true;
    if (++steps > budget) return false;
    if (suffix_memory[i] > free_memory + 1e-6) return false;
    const Block& b = s.blocks[i];
    for (size_t n = 0; n < s.room.load.size(); ++n) {
      if (!s.room.can_take(b, n)) continue;
      s.room.place(b, n, 1);
      target[i] = static_cast<int>(n);
      const bool ok = run(i + 1, free_memory - b.need.memory);
      s.room.place(b, n, -1);
      if (ok) return true;
      if (steps > budget) return false;
    }
    return false;
  }
};

Exact exact_search(Setup s, uint64_t budget, std::vector<int>& target) {
  Search search{s, budget, 0, std::vector<double>(s.blocks.size() + 1, 0.0), std::vector<int>(s.blocks.size(), -1)};
  for (size_t i = s.blocks.size(); i-- > 0;) search.suffix_memory[i] = search.suffix_memory[i + 1] + s.blocks[i].need.memory;
  double free = 0;
  for (size_t n = 0; n < s.room.load.size(); ++n)
    if (s.targets.test(n)) free += std::max(0.0, s.room.c->limit(n).memory - s.room.load[n].memory);
  if (search.run(0, free)) {
    target = search.target;
    return Exact::Fits;
  }
  return search.steps > budget ? Exact::Undecided : Exact::DoesNotFit;
}

struct Outcome {
  std::vector<std::string> failed;
  bool fits = true;
  FailoverMethod method = FailoverMethod::Heuristic;
  std::vector<Displaced> guests;
  Amount short_by;
  double displaced_memory = 0;
};

Outcome evaluate(const Constraints& c, const NodeSet& failed, const FailoverOptions& options, size_t cluster_nodes,
                 const std::map<size_t, NodeSet>* ha = nullptr) {
  Outcome o;
  for (size_t n = 0; n < c.node_count(); ++n)
    if (failed.test(n)) o.failed.push_back(c.state().nodes[n].name);
  Setup s = prepare(c, failed, options.scope, cluster_nodes, ha);
  std::vector<int> target = first_fit(s);
  o.fits = std::all_of(target.begin(), target.end(), [](int t) { return t >= 0; });
  if (!o.fits && s.blocks.size() <= options.exact_max_guests) {
    std::vector<int> exact_target;
    Exact e = exact_search(s, options.exact_budget, exact_target);
    if (e != Exact::Undecided) o.method = FailoverMethod::Exact;
    else o.method = FailoverMethod::HeuristicOnly;
    if (e == Exact::Fits) {
      o.fits = true;
      target = exact_target;
    }
  } else if (!o.fits) {
    o.method = FailoverMethod::HeuristicOnly;
  }
  const auto& guests = c.state().guests;
  for (size_t i = 0; i < s.blocks.size(); ++i) {
    for (size_t g : s.blocks[i].guests) {
      Displaced d{guests[g].vmid, guests[g].name, guests[g].node, c.need(g),
                  target[i] >= 0 ? c.state().nodes[static_cast<size_t>(target[i])].name : std::string()};
      o.displaced_memory += d.need.memory;
      if (target[i] < 0) o.short_by = o.short_by + d.need;
      o.guests.push_back(std::move(d));
    }
  }
  std::sort(o.guests.begin(), o.guests.end(), [](const Displaced& a, const Displaced& b) { return a.vmid < b.vmid; });
  return o;
}

// Calls f(set) for every k-subset of `pool` (node indices).
template <typename F>
void for_each_combination(const std::vector<size_t>& pool, size_t k, size_t nodes, F&& f) {
  std::vector<size_t> idx(k);
  std::iota(idx.begin(), idx.end(), 0);
  while (true) {
    NodeSet set(nodes);
    for (size_t i : idx) set.set(pool[i]);
    f(set);
    size_t i = k;
    while (i > 0 && idx[i - 1] == pool.size() - k + i - 1) --i;
    if (i == 0) return;
    ++idx[i - 1];
    for (size_t j = i; j < k; ++j) idx[j] = idx[j - 1] + 1;
  }
}

double combinations(size_t n, size_t k) {
  double r = 1;
  for (size_t i = 0; i < k; ++i) r = r * static_cast<double>(n - i) / static_cast<double>(i + 1);
  return r;
}

}  // namespace

std::string_view to_string(FailoverScope scope) { return scope == FailoverScope::Ha ? "ha" : "running"; }

std::string_view to_string(FailoverMethod method) {
  switch (method) {
    case FailoverMethod::Heuristic: return "heuristic";
    case FailoverMethod::Exact: return "exact";
    case FailoverMethod::HeuristicOnly: return "heuristic only";
  }
  return "?";
}

std::vector<Displaced> restart_elsewhere(const ClusterState& state, const BalanceConfig& config,
                                         const std::vector<std::string>& failed) {
  ClusterState scratch = state;
  NodeSet down(state.nodes.size());
  for (size_t n = 0; n < scratch.nodes.size(); ++n) {
    if (std::find(failed.begin(), failed.end(), scratch.nodes[n].name) == failed.end()) continue;
    down.set(n);
    scratch.nodes[n].online = false;
  }
  const size_t before = Constraints::compile(state, config).eligible_nodes().count();
  const Constraints c = Constraints::compile(scratch, config);
  return evaluate(c, down, FailoverOptions{}, before).guests;
}

core::Result<std::vector<FailoverResult>> check_failover(const ClusterState& state, const BalanceConfig& config,
                                                         const FailoverOptions& options,
                                                         const std::vector<FailoverScope>& scopes) {
  const Constraints all = Constraints::compile(state, config);
  std::vector<size_t> eligible;
  for (size_t n = 0; n < all.node_count(); ++n)
    if (all.eligible(n)) eligible.push_back(n);
  if (options.failures < 1 || static_cast<size_t>(options.failures) >= eligible.size())
    return core::Error(core::ErrorCategory::Usage,
                       "--failures " + std::to_string(options.failures) + ": must be between 1 and " +
                           std::to_string(eligible.size() > 0 ? eligible.size() - 1 : 0) + " (" +
                           std::to_string(eligible.size()) + " nodes can take guests)");
  const size_t k = static_cast<size_t>(options.failures);
  std::vector<std::string> notes;
  std::vector<size_t> pool = eligible;
  if (combinations(pool.size(), k) > static_cast<double>(options.max_combinations)) {
    std::vector<double> hosted(all.node_count(), 0.0);
    for (size_t g = 0; g < all.guest_count(); ++g)
      if (all.node_of(g) >= 0) hosted[static_cast<size_t>(all.node_of(g))] += all.need(g).memory;
    std::stable_sort(pool.begin(), pool.end(), [&](size_t a, size_t b) { return hosted[a] > hosted[b]; });
    pool.resize(std::min(pool.size(), k + 3));
    notes.push_back("too many combinations: only those of the " + std::to_string(pool.size()) +
                    " nodes hosting the most memory were checked");
  }
  // With HA node-affinity rules, the rules' classes are recomputed among the
  // survivors of each combination (once for all scopes).
  const HaClasses classes(state, all);
  ClusterState without_rules;
  std::optional<Constraints> base;
  if (!classes.empty()) {
    without_rules = state;
    without_rules.node_affinity.clear();
    base.emplace(Constraints::compile(without_rules, config));
  }
  const Constraints& c = base ? *base : all;
  std::vector<std::optional<Outcome>> worst(scopes.size()), tightest(scopes.size());
  size_t checked = 0;
  for_each_combination(pool, k, all.node_count(), [&](const NodeSet& failed) {
    std::optional<std::map<size_t, NodeSet>> ha;
    if (base) ha = classes.allowed(c, failed);
    ++checked;
    for (size_t i = 0; i < scopes.size(); ++i) {
      FailoverOptions scoped = options;
      scoped.scope = scopes[i];
      // Guests still count on their failed node (node_of), and need room elsewhere.
      Outcome o = evaluate(c, failed, scoped, eligible.size(), ha ? &*ha : nullptr);
      auto& w = worst[i];
      if (!o.fits) {
        if (!w || o.short_by.memory > w->short_by.memory ||
            (o.short_by.memory == w->short_by.memory && o.short_by.cpus > w->short_by.cpus))
          w = std::move(o);
      } else if (!tightest[i] || o.displaced_memory > tightest[i]->displaced_memory) {
        tightest[i] = std::move(o);
      }
    }
  });
  std::vector<FailoverResult> results;
  for (size_t i = 0; i < scopes.size(); ++i) {
    Outcome& chosen = worst[i] ? *worst[i] : *tightest[i];
    results.push_back({.scope = scopes[i], .failures = options.failures, .combinations = checked,
                       .failed = chosen.failed, .fits = chosen.fits, .method = chosen.method,
                       .guests = std::move(chosen.guests), .short_by = chosen.short_by, .notes = notes});
  }
  return results;
}

core::Result<FailoverResult> check_failover(const ClusterState& state, const BalanceConfig& config,
                                            const FailoverOptions& options) {
  PVEKIT_ASSIGN(auto results, check_failover(state, config, options, {options.scope}));
  return std::move(results.front());
}

}  // namespace pvekit::balance
