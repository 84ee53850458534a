// Phase 1 of planning (rule repair) and the working state shared with the
// balancing phase in search_balance.cpp.
#include "balance/search.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/strings.h"

namespace pvekit::balance::detail {
namespace {

// make_room() clears nested (room for a unit that must leave the node being
// cleared) only up to this many guests.
constexpr size_t kNestedRoomGuests = 500;

}  // namespace

Search::Search(const Constraints& constraints, const BalanceConfig& config)
    : c_(constraints), config_(config), load_(constraints.state(), config) {
  const auto& guests = c_.state().guests;
  guest_node_.resize(guests.size());
  for (size_t g = 0; g < guests.size(); ++g) guest_node_[g] = c_.node_of(g);
  base_ = guest_node_;
  fit_.resize(c_.node_count());
  for (size_t n = 0; n < c_.node_count(); ++n) fit_[n] = c_.initial_load(n);
  info_.resize(c_.units().size());
  units_on_.resize(c_.node_count());
  unit_at_.resize(c_.units().size());
  for (size_t u = 0; u < c_.units().size(); ++u) unit_at_[u] = locate(u);
  for (size_t u = 0; u < c_.units().size(); ++u) {
    for (size_t m : c_.units()[u].members) {
      const Guest& g = guests[m];
      Vec3 contrib = load_.contribution(g);
      for (size_t r = 0; r < kResources; ++r) info_[u].contrib[r] += contrib[r];
      info_[u].need = info_[u].need + c_.need(m);
      info_[u].gib += guest_gib(m);
    }
    info_[u].size = info_[u].need.memory;
    if (int node = unit_node(u); node >= 0) units_on_[node].push_back(u);
  }
  anti_count_.assign(c_.anti_groups().size(), std::vector<int>(c_.node_count(), 0));
  for (size_t u = 0; u < c_.units().size(); ++u) count_anti(u, +1);
  triggered_ = balancing_needed();
}

bool Search::needs_balancing(const LoadModel& load) const {
  const auto& b = config_.balancing;
  // ProxLB's balanciness: the max-min spread of node usage in points.
  if (load.spread() > b.balanciness) return true;
  if (b.imbalance_threshold && load.imbalance() > *b.imbalance_threshold) return true;
  Vec3 top = load.max_usage_percent();
  return (b.memory_threshold && top[kMemory] > *b.memory_threshold) ||
         (b.cpu_threshold && top[kCpu] > *b.cpu_threshold) ||
         (b.disk_threshold && top[kDisk] > *b.disk_threshold);
}

int Search::locate(size_t unit) const {
  const auto& members = c_.units()[unit].members;
  int node = guest_node_[members.front()];
  for (size_t m : members)
    if (guest_node_[m] != node) return -1;
  return node;
}

std::vector<int> Search::unit_nodes(size_t unit) const {
  std::set<int> nodes;
  for (size_t m : c_.units()[unit].members)
    if (guest_node_[m] >= 0) nodes.insert(guest_node_[m]);
  return {nodes.begin(), nodes.end()};
}

void Search::count_anti(size_t unit, int delta) {
  const auto& groups = c_.units()[unit].anti_groups;
  if (groups.empty()) return;
  for (int node : unit_nodes(unit))
    for (size_t g : groups) anti_count_[g][node] += delta;
}

bool Search::anti_ok(size_t unit, size_t node, int ignore_unit) const {
  for (size_t g : c_.units()[unit].anti_groups) {
    int present = anti_count_[g][node];
    if (ignore_unit >= 0) {
      auto nodes = unit_nodes(static_cast<size_t>(ignore_unit));
      if (std::find(nodes.begin(), nodes.end(), static_cast<int>(node)) != nodes.end()) --present;
    }
    if (present >= c_.anti_groups()[g].max_per_node) return false;
  }
  return true;
}

bool Search::can_place(size_t unit, size_t node) const {
  const Unit& u = c_.units()[unit];
  if (!u.allowed.test(node) || unit_node(unit) == static_cast<int>(node)) return false;
  if (!Constraints::fits(fit_[node], info_[unit].need, c_.limit(node))) return false;
  return anti_ok(unit, node);
}

double Search::guest_gib(size_t guest) const {
  const Guest& g = c_.state().guests[guest];
  double ram = g.status == GuestStatus::Running ? static_cast<double>(g.memory_used) : 0.0;
  return (ram + static_cast<double>(g.local_disk_bytes)) / static_cast<double>(kGiB);
}

double Search::move_cost(double gib, int moves) const {
  const auto& cost = config_.balancing.migration_cost;
  return truncate_score(moves * cost.min_gain + cost.per_gib * gib);
}

void Search::move_guest(size_t guest, size_t node, MoveReason reason, double gain, double cost) {
  int from = guest_node_[guest];
  if (from != base_[guest]) --displaced_;
  if (reason != MoveReason::Balance) base_[guest] = static_cast<int>(node);
  if (static_cast<int>(node) != base_[guest]) ++displaced_;
  steps_.push_back({guest, c_.unit_of(guest), from, static_cast<int>(node), reason, gain, cost});
  load_.apply(from, static_cast<int>(node), load_.contribution(c_.state().guests[guest]));
  if (from >= 0) fit_[from] = fit_[from] - c_.need(guest);
  fit_[node] = fit_[node] + c_.need(guest);
  guest_node_[guest] = static_cast<int>(node);
  unit_at_[c_.unit_of(guest)] = locate(c_.unit_of(guest));
}

void Search::move_unit(size_t unit, size_t node, MoveReason reason, double gain, double cost) {
  int old = unit_node(unit);
  count_anti(unit, -1);
  if (old >= 0) {
    auto& list = units_on_[old];
    list.erase(std::find(list.begin(), list.end(), unit));
  }
  for (size_t m : c_.units()[unit].members)
    if (guest_node_[m] != static_cast<int>(node)) move_guest(m, node, reason, gain, cost);
  count_anti(unit, +1);
  auto& list = units_on_[node];
  list.insert(std::lower_bound(list.begin(), list.end(), unit), unit);
}

int Search::displacement(size_t unit, int node) const {
  int delta = 0;
  for (size_t m : c_.units()[unit].members)
    delta += (node != base_[m]) - (guest_node_[m] != base_[m]);
  return delta;
}

bool Search::admits(const Candidate& c) const {
  long delta = displacement(c.unit, c.to);
  if (c.swap) delta += displacement(c.partner, c.from);
  if (c.chain) delta += displacement(c.partner, c.via);
  return static_cast<long>(displaced_) + delta <= static_cast<long>(config_.balancing.max_moves);
}

// The allowed node where the unit leaves the cluster most even.
int Search::best_target(size_t unit) const {
  int from = unit_node(unit);
  int best = -1;
  double best_score = 0.0;
  for (size_t t = 0; t < c_.node_count(); ++t) {
    if (!can_place(unit, t)) continue;
    double score = load_.imbalance_after(from, static_cast<int>(t), info_[unit].contrib);
    if (best < 0 || score < best_score) best = static_cast<int>(t), best_score = score;
  }
  return best;
}

void Search::report(size_t unit, const std::string& what) {
  std::vector<uint32_t> vmids;
  for (size_t m : c_.units()[unit].members) vmids.push_back(c_.state().guests[m].vmid);
  const Unit& u = c_.units()[unit];
  std::string who = u.members.size() > 1 ? "affinity group " + u.group
                                          : "guest " + std::to_string(u.vmid);
  unresolved_.push_back({u.members.size() > 1 ? u.group : "guest " + std::to_string(u.vmid),
                         std::move(vmids), who + ": " + what});
}

void Search::repair() {
  const auto& b = config_.balancing;
  bool affinity = b.enforce_affinity || triggered_;
  for (size_t u = 0; u < c_.units().size(); ++u) {
    if (c_.units()[u].members.size() < 2 || unit_node(u) >= 0) continue;
    auto nodes = unit_nodes(u);
    bool on_maintenance = std::any_of(nodes.begin(), nodes.end(), [&](int n) { return c_.evacuate(n); });
    if (affinity || on_maintenance) gather(u);
  }
  evacuate();
  if (b.enforce_pinning || triggered_) repair_pins();
  if (affinity)
    for (size_t g = 0; g < c_.anti_groups().size(); ++g) repair_anti(g);
}

// What `unit` adds to node t when it gathers or moves there: its members
// not on t yet.
Amount Search::arriving(size_t unit, size_t t) const {
  Amount need;
  for (size_t m : c_.units()[unit].members)
    if (guest_node_[m] != static_cast<int>(t)) need = need + c_.need(m);
  return need;
}

// Whether `unit` (whole elsewhere, or split: an affinity group gathering)
// can end whole on node t: allowed (the anchor of its frozen members, if
// any), eligible, room for the members that arrive, and no anti-affinity
// group over its limit.
bool Search::can_end_on(size_t unit, size_t t) const {
  const Unit& u = c_.units()[unit];
  if (u.anchor >= 0 ? static_cast<int>(t) != u.anchor : !u.allowed.test(t)) return false;
  if (!c_.eligible(t) || unit_node(unit) == static_cast<int>(t)) return false;
  for (size_t m : u.members)
    if (guest_node_[m] != static_cast<int>(t) && (!c_.movable(m) || !c_.allowed(m, t))) return false;
  if (!Constraints::fits(fit_[t], arriving(unit, t), c_.limit(t))) return false;
  return unit_node(unit) >= 0 ? anti_ok(unit, t) : anti_ok(unit, t, static_cast<int>(unit));
}

// Making room for a required move (evacuation, pin, affinity gathering,
// anti-affinity split) that finds none: tries the least loaded nodes `unit`
// may end on, and moves units off one (the single smallest whose leaving
// suffices, else the largest first, each where it evens the cluster most)
// until `unit` fits. A unit that finds no room elsewhere gets room made for
// it in turn, `depth` levels deep. Returns the node, or -1 and no change.
// The moves are required ones (MakeRoom): they count against no limit.
int Search::make_room(size_t unit, int depth) {
  if (room_budget_ <= 0) return -1;
  --room_budget_;
  // Each level copies the working state per node tried: nested clearing
  // only where that is cheap.
  if (c_.guest_count() > kNestedRoomGuests) depth = 0;
  const Unit& u = c_.units()[unit];
  std::vector<size_t> targets;
  for (size_t t = 0; t < c_.node_count(); ++t) {
    if (u.anchor >= 0 ? static_cast<int>(t) != u.anchor : !u.allowed.test(t)) continue;
    if (!c_.eligible(t) || unit_node(unit) == static_cast<int>(t)) continue;
    bool anti = unit_node(unit) >= 0 ? anti_ok(unit, t) : anti_ok(unit, t, static_cast<int>(unit));
    if (anti) targets.push_back(t);
  }
  std::sort(targets.begin(), targets.end(), [&](size_t a, size_t b) {
    double ua = truncate_score(load_.weighted_usage(a)), ub = truncate_score(load_.weighted_usage(b));
    return ua != ub ? ua < ub : a < b;
  });
  if (targets.size() > 3) targets.resize(3);
  for (size_t t : targets) {
    const Amount need = arriving(unit, t);
    std::vector<size_t> out;
    for (size_t v : units_on_[t])
      if (v != unit && c_.units()[v].movable) out.push_back(v);
    std::sort(out.begin(), out.end(), [&](size_t a, size_t b) {
      if (info_[a].need.memory != info_[b].need.memory) return info_[a].need.memory < info_[b].need.memory;
      return c_.units()[a].vmid < c_.units()[b].vmid;
    });
    Search trial(*this);
    bool single = false;
    auto place = [&](size_t v) {
      int to = trial.best_target(v);
      return to >= 0 || depth <= 0 ? to : trial.make_room(v, depth - 1);
    };
    for (size_t v : out) {  // smallest first: the first that frees enough
      if (!Constraints::fits(fit_[t] - info_[v].need, need, c_.limit(t))) continue;
      int to = place(v);
      if (to < 0) continue;
      trial.move_unit(v, static_cast<size_t>(to), MoveReason::MakeRoom, 0.0, 0.0);
      single = true;
      break;
    }
    for (auto it = out.rbegin(); !single && it != out.rend(); ++it) {
      if (Constraints::fits(trial.fit_[t], need, c_.limit(t))) break;
      int to = place(*it);
      if (to >= 0) trial.move_unit(*it, static_cast<size_t>(to), MoveReason::MakeRoom, 0.0, 0.0);
    }
    if (trial.can_end_on(unit, t)) {
      adopt(trial);
      return static_cast<int>(t);
    }
  }
  return -1;
}

std::string Search::check_invariants() const {
  std::vector<int> node(c_.guest_count());
  std::vector<int> base(c_.guest_count());
  for (size_t g = 0; g < c_.guest_count(); ++g) node[g] = base[g] = c_.node_of(g);
  std::vector<Amount> fit(c_.node_count());
  for (size_t n = 0; n < c_.node_count(); ++n) fit[n] = c_.initial_load(n);
  for (const Step& s : steps_) {
    if (node[s.guest] != s.from) return "step of guest " + std::to_string(s.guest) + " starts elsewhere";
    if (s.from >= 0) fit[s.from] = fit[s.from] - c_.need(s.guest);
    fit[s.to] = fit[s.to] + c_.need(s.guest);
    node[s.guest] = s.to;
    if (s.reason != MoveReason::Balance) base[s.guest] = s.to;
  }
  if (node != guest_node_) return "guest_node_ is not the snapshot with steps_ applied";
  if (base != base_) return "base_";
  size_t displaced = 0;
  for (size_t g = 0; g < c_.guest_count(); ++g) displaced += node[g] != base[g];
  if (displaced != displaced_) return "displaced_";
  if (displaced_ > static_cast<size_t>(config_.balancing.max_moves)) return "displaced_ above max_moves";
  auto near = [](double a, double b) { return std::abs(a - b) <= 1e-6 * std::max(1.0, std::abs(b)); };
  for (size_t n = 0; n < c_.node_count(); ++n)
    if (!near(fit[n].memory, fit_[n].memory) || !near(fit[n].cpus, fit_[n].cpus) || !near(fit[n].disk, fit_[n].disk))
      return "fit_ of node " + std::to_string(n);
  std::vector<std::vector<size_t>> on(c_.node_count());
  for (size_t u = 0; u < c_.units().size(); ++u) {
    if (unit_at_[u] != locate(u)) return "unit_at_ of unit " + std::to_string(u);
    if (unit_at_[u] >= 0) on[unit_at_[u]].push_back(u);
  }
  if (on != units_on_) return "units_on_";
  for (size_t g = 0; g < c_.anti_groups().size(); ++g)
    for (size_t n = 0; n < c_.node_count(); ++n) {
      int count = 0;
      for (size_t u : c_.anti_groups()[g].units) {
        auto nodes = unit_nodes(u);
        count += std::find(nodes.begin(), nodes.end(), static_cast<int>(n)) != nodes.end();
      }
      if (count != anti_count_[g][n]) return "anti_count_ of group " + std::to_string(g);
    }
  return {};
}

void Search::retry() {
  if (unresolved_.empty()) return;
  size_t before = steps_.size();
  unresolved_.clear();  // repair() reports again what still finds no room
  room_budget_ = 32;
  repair();
  room_budget_ = 0;
  if (steps_.size() > before && config_.balancing.enable && balancing_needed()) balance_pass();
}

int Search::gather_target(size_t unit) const {
  const Unit& u = c_.units()[unit];
  int best = -1;
  std::pair<double, double> best_key;
  for (size_t t = 0; t < c_.node_count(); ++t) {
    if (u.anchor >= 0 ? static_cast<int>(t) != u.anchor : !u.allowed.test(t)) continue;
    Amount need;
    double bytes = 0.0;
    bool allowed = c_.eligible(t);
    for (size_t m : u.members) {
      if (guest_node_[m] == static_cast<int>(t)) continue;
      allowed = allowed && c_.movable(m) && c_.allowed(m, t);
      need = need + c_.need(m);
      bytes += c_.need(m).memory + c_.need(m).disk;
    }
    if (!allowed || !Constraints::fits(fit_[t], need, c_.limit(t)) ||
        !anti_ok(unit, t, static_cast<int>(unit)))
      continue;
    std::pair<double, double> key{bytes, truncate_score(load_.weighted_usage(t))};
    if (best < 0 || key < best_key) best = static_cast<int>(t), best_key = key;
  }
  return best;
}

void Search::gather(size_t unit) {
  int target = gather_target(unit);
  if (target < 0) target = make_room(unit);
  if (target < 0) {
    report(unit, "cannot be brought together: no allowed node has room for the members that would move");
    return;
  }
  count_anti(unit, -1);
  for (size_t m : c_.units()[unit].members)
    if (guest_node_[m] != target) move_guest(m, target, MoveReason::Affinity, 0.0, 0.0);
  count_anti(unit, +1);
  auto& list = units_on_[target];
  list.insert(std::lower_bound(list.begin(), list.end(), unit), unit);
}

void Search::evacuate() {
  std::vector<size_t> leaving;
  for (size_t n = 0; n < c_.node_count(); ++n) {
    if (!c_.evacuate(n)) continue;
    for (size_t u : units_on_[n]) {
      if (c_.units()[u].movable) leaving.push_back(u);
      else if (c_.units()[u].anchor < 0 || c_.units()[u].members.size() == 1)
        report(u, "stays on maintenance node " + c_.state().nodes[n].name + ": " +
                      c_.frozen_reason(c_.units()[u].members.front()));
      else report(u, "stays on maintenance node " + c_.state().nodes[n].name + ": a member cannot move");
    }
  }
  // Largest first: big guests have the fewest places to go.
  std::sort(leaving.begin(), leaving.end(), [&](size_t a, size_t b) {
    if (info_[a].need.memory != info_[b].need.memory) return info_[a].need.memory > info_[b].need.memory;
    return c_.units()[a].vmid < c_.units()[b].vmid;
  });
  for (size_t u : leaving) {
    int from = unit_node(u);
    int target = best_target(u);
    if (target < 0) target = make_room(u);
    if (target < 0) {
      report(u, "cannot leave maintenance node " + c_.state().nodes[from].name +
                    ": no allowed node has room");
      continue;
    }
    move_unit(u, target, MoveReason::Evacuate, 0.0, 0.0);
  }
}

void Search::repair_pins() {
  for (size_t u = 0; u < c_.units().size(); ++u) {
    const Unit& unit = c_.units()[u];
    int node = unit_node(u);
    if (node < 0 || !unit.movable || unit.allowed.test(node) || unit.allowed.empty()) continue;
    if (!c_.eligible(node) && !c_.evacuate(node)) continue;
    int target = best_target(u);
    if (target < 0) target = make_room(u);
    if (target < 0) {
      report(u, "runs on " + c_.state().nodes[node].name +
                    " outside its allowed nodes, and no allowed node has room");
      continue;
    }
    move_unit(u, target, MoveReason::Pin, 0.0, 0.0);
  }
}

void Search::repair_anti(size_t group) {
  const AntiGroup& g = c_.anti_groups()[group];
  for (size_t n = 0; n < c_.node_count(); ++n) {
    while (anti_count_[group][n] > g.max_per_node) {
      // Any member may move (pinned, ignored or locked ones cannot): the one
      // whose move evens the cluster most (ties: lower vmid).
      std::vector<size_t> here;
      for (size_t u : g.units)
        if (unit_node(u) == static_cast<int>(n)) here.push_back(u);
      int chosen = -1, chosen_target = -1;
      double chosen_score = 0.0;
      for (size_t i = 0; i < here.size(); ++i) {
        if (!c_.units()[here[i]].movable) continue;
        int t = best_target(here[i]);
        if (t < 0) continue;
        double s = load_.imbalance_after(static_cast<int>(n), t, info_[here[i]].contrib);
        if (chosen < 0 || s < chosen_score)
          chosen = static_cast<int>(here[i]), chosen_target = t, chosen_score = s;
      }
      // No member finds room: make room for one, the lowest vmid first.
      for (size_t i = 0; chosen < 0 && i < here.size(); ++i) {
        if (!c_.units()[here[i]].movable) continue;
        int t = make_room(here[i]);
        if (t >= 0) chosen = static_cast<int>(here[i]), chosen_target = t;
      }
      if (chosen < 0) {
        unresolved_.push_back({g.rule, {}, g.rule + ": members share node " +
                                               c_.state().nodes[n].name + " and none can move elsewhere"});
        for (size_t u : here) unresolved_.back().vmids.push_back(c_.units()[u].vmid);
        break;
      }
      move_unit(static_cast<size_t>(chosen), chosen_target, MoveReason::AntiAffinity, 0.0, 0.0);
    }
  }
}

}  // namespace pvekit::balance::detail
