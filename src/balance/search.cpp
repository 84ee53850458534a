// Phase 1 of planning (rule repair) and the working state shared with the
// balancing phase in search_balance.cpp.
#include "balance/search.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/strings.h"

namespace pvekit::balance::detail {
namespace {

// Room-making (make_room): units moved aside get room made for them in turn
// up to kRoomDepth levels deep, on clusters of up to kNestedRoomGuests guests
// (each attempt copies the working state); above, they must find room
// directly.
constexpr int kRoomDepth = 3;
constexpr size_t kNestedRoomGuests = 500;
// Nodes tried per unit (least loaded first), and units tried as the single
// one whose leaving frees enough (smallest first).
constexpr size_t kRoomTargets = 4;
constexpr size_t kRoomSingles = 4;
// Copies of the working state per plan, counted in guests copied so that
// large clusters stay within the plan-time budget (10,000 guests: 100
// copies), and at most kRoomCopies on the smallest.
constexpr size_t kRoomWork = 1000000;
constexpr size_t kRoomCopies = 20000;

}  // namespace

Search::Search(const Constraints& constraints, const BalanceConfig& config)
    : c_(constraints),
      config_(config),
      s_{.load = LoadModel(constraints.state(), config)},
      info_store_(std::make_shared<const std::vector<UnitInfo>>(unit_info())),
      info_(*info_store_) {
  const auto& guests = c_.state().guests;
  s_.guest_node.resize(guests.size());
  for (size_t g = 0; g < guests.size(); ++g) s_.guest_node[g] = c_.node_of(g);
  s_.base = s_.guest_node;
  s_.fit.resize(c_.node_count());
  for (size_t n = 0; n < c_.node_count(); ++n) s_.fit[n] = c_.initial_load(n);
  s_.units_on.resize(c_.node_count());
  s_.unit_at.resize(c_.units().size());
  for (size_t u = 0; u < c_.units().size(); ++u) s_.unit_at[u] = locate(u);
  for (size_t u = 0; u < c_.units().size(); ++u)
    if (int node = unit_node(u); node >= 0) s_.units_on[node].push_back(u);
  s_.anti_count.assign(c_.anti_groups().size(), std::vector<int>(c_.node_count(), 0));
  for (size_t u = 0; u < c_.units().size(); ++u) count_anti(u, +1);
  triggered_ = balancing_needed();
}

std::vector<Search::UnitInfo> Search::unit_info() const {
  std::vector<UnitInfo> info(c_.units().size());
  for (size_t u = 0; u < c_.units().size(); ++u) {
    for (size_t m : c_.units()[u].members) {
      Vec3 contrib = s_.load.contribution(c_.state().guests[m]);
      for (size_t r = 0; r < kResources; ++r) info[u].contrib[r] += contrib[r];
      info[u].need = info[u].need + c_.need(m);
      info[u].gib += guest_gib(m);
    }
    info[u].size = info[u].need.memory;
  }
  return info;
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
  int node = s_.guest_node[members.front()];
  for (size_t m : members)
    if (s_.guest_node[m] != node) return -1;
  return node;
}

std::vector<int> Search::unit_nodes(size_t unit) const {
  std::set<int> nodes;
  for (size_t m : c_.units()[unit].members)
    if (s_.guest_node[m] >= 0) nodes.insert(s_.guest_node[m]);
  return {nodes.begin(), nodes.end()};
}

void Search::count_anti(size_t unit, int delta) {
  const auto& groups = c_.units()[unit].anti_groups;
  if (groups.empty()) return;
  for (int node : unit_nodes(unit))
    for (size_t g : groups) s_.anti_count[g][node] += delta;
}

bool Search::anti_ok(size_t unit, size_t node, int ignore_unit) const {
  for (size_t g : c_.units()[unit].anti_groups) {
    int present = s_.anti_count[g][node];
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
  if (!Constraints::fits(s_.fit[node], info_[unit].need, c_.limit(node))) return false;
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
  int from = s_.guest_node[guest];
  if (from != s_.base[guest]) --s_.displaced;
  if (reason != MoveReason::Balance) s_.base[guest] = static_cast<int>(node);
  if (static_cast<int>(node) != s_.base[guest]) ++s_.displaced;
  s_.steps.push_back({guest, c_.unit_of(guest), from, static_cast<int>(node), reason, gain, cost});
  s_.load.apply(from, static_cast<int>(node), s_.load.contribution(c_.state().guests[guest]));
  if (from >= 0) s_.fit[from] = s_.fit[from] - c_.need(guest);
  s_.fit[node] = s_.fit[node] + c_.need(guest);
  s_.guest_node[guest] = static_cast<int>(node);
  s_.unit_at[c_.unit_of(guest)] = locate(c_.unit_of(guest));
}

void Search::move_unit(size_t unit, size_t node, MoveReason reason, double gain, double cost) {
  int old = unit_node(unit);
  count_anti(unit, -1);
  if (old >= 0) {
    auto& list = s_.units_on[old];
    list.erase(std::find(list.begin(), list.end(), unit));
  }
  for (size_t m : c_.units()[unit].members)
    if (s_.guest_node[m] != static_cast<int>(node)) move_guest(m, node, reason, gain, cost);
  count_anti(unit, +1);
  auto& list = s_.units_on[node];
  list.insert(std::lower_bound(list.begin(), list.end(), unit), unit);
}

int Search::displacement(size_t unit, int node) const {
  int delta = 0;
  for (size_t m : c_.units()[unit].members)
    delta += (node != s_.base[m]) - (s_.guest_node[m] != s_.base[m]);
  return delta;
}

bool Search::admits(const Candidate& c) const {
  long delta = displacement(c.unit, c.to);
  if (c.kind == Kind::Swap) delta += displacement(c.partner, c.from);
  if (c.kind == Kind::Chain) delta += displacement(c.partner, c.via);
  return static_cast<long>(s_.displaced) + delta <= static_cast<long>(config_.balancing.max_moves);
}

int Search::best_target(size_t unit, const std::vector<bool>* excluded) const {
  int from = unit_node(unit);
  int best = -1;
  double best_score = 0.0;
  for (size_t t = 0; t < c_.node_count(); ++t) {
    if ((excluded && (*excluded)[t]) || !can_place(unit, t)) continue;
    double score = s_.load.imbalance_after(from, static_cast<int>(t), info_[unit].contrib);
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

void Search::repair(bool making_room) {
  if (making_room) {
    room_budget_ = 32;
    room_copies_ = std::min(kRoomCopies, kRoomWork / std::max<size_t>(1, c_.guest_count()));
  }
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
  room_budget_ = 0;
}

// What `unit` adds to node t when it gathers or moves there: its members
// not on t yet.
Amount Search::arriving(size_t unit, size_t t) const {
  Amount need;
  for (size_t m : c_.units()[unit].members)
    if (s_.guest_node[m] != static_cast<int>(t)) need = need + c_.need(m);
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
    if (s_.guest_node[m] != static_cast<int>(t) && (!c_.movable(m) || !c_.allowed(m, t))) return false;
  if (!Constraints::fits(s_.fit[t], arriving(unit, t), c_.limit(t))) return false;
  return anti_ok_arriving(unit, t);
}

// anti_ok() for a unit that may be split (its own members do not count).
bool Search::anti_ok_arriving(size_t unit, size_t t) const {
  return unit_node(unit) >= 0 ? anti_ok(unit, t) : anti_ok(unit, t, static_cast<int>(unit));
}

// Whether units a and b are in a common anti-affinity group.
bool Search::apart(size_t a, size_t b) const {
  for (size_t g : c_.units()[a].anti_groups) {
    const auto& other = c_.units()[b].anti_groups;
    if (std::find(other.begin(), other.end(), g) != other.end()) return true;
  }
  return false;
}

// Making room for a required move (evacuation, pin, affinity gathering,
// anti-affinity split) that finds none: a bounded depth-first search. On the
// nodes `unit` may end on (least loaded first), the members of its
// anti-affinity groups leave first, then units are moved aside in a few
// orders: each single unit whose leaving frees enough (smallest first), the
// largest first, and (small clusters) the smallest first, until `unit` fits.
// A unit moved aside goes where it evens the cluster most; when it finds no
// room, room is made for it in turn (clear_for, one level deeper). A node
// being cleared takes it only if the unit waiting for that node still fits.
// Every node and order is first tried with `unit` where it is, then with its
// place counted as free (capacity and anti-affinity: units may take it; the
// waves order or park the moves, waves.cpp). Returns the node, or -1 and no
// change. The moves are required ones (MakeRoom): they count against no
// limit, and a guest moved more than once is one net move.
int Search::make_room(size_t unit) {
  if (room_budget_ <= 0) return -1;
  --room_budget_;
  Room room{std::vector<bool>(c_.node_count(), false), std::vector<int>(c_.node_count(), -1), room_copies_};
  int target = clear_for(unit, c_.guest_count() > kNestedRoomGuests ? 0 : kRoomDepth, room);
  room_copies_ = room.copies;
  return target;
}

int Search::clear_for(size_t unit, int depth, Room& room) {
  const Unit& u = c_.units()[unit];
  std::vector<size_t> targets;
  for (size_t t = 0; t < c_.node_count(); ++t) {
    if (room.reserved[t]) continue;
    if (u.anchor >= 0 ? static_cast<int>(t) != u.anchor : !u.allowed.test(t)) continue;
    if (!c_.eligible(t) || unit_node(unit) == static_cast<int>(t)) continue;
    targets.push_back(t);
  }
  std::sort(targets.begin(), targets.end(), [&](size_t a, size_t b) {
    double ua = truncate_score(s_.load.weighted_usage(a)), ub = truncate_score(s_.load.weighted_usage(b));
    return ua != ub ? ua < ub : a < b;
  });
  if (targets.size() > kRoomTargets) targets.resize(kRoomTargets);
  // Counting the unit's place as free helps only where others may go.
  bool liftable = false;
  for (size_t m : u.members)
    liftable = liftable || (s_.guest_node[m] >= 0 && c_.eligible(static_cast<size_t>(s_.guest_node[m])));
  for (int lifted = 0; lifted < 1 + liftable; ++lifted)
    if (int t = clear_one_of(unit, targets, lifted, depth, room); t >= 0) return t;
  return -1;
}

// clear_for() on each of `targets` in turn, `lifted`: with the unit's place
// counted as free.
int Search::clear_one_of(size_t unit, const std::vector<size_t>& targets, bool lifted, int depth, Room& room) {
  for (size_t t : targets) {
    const Amount need = arriving(unit, t);
    // Units in one of its anti-affinity groups leave first (clear_node), so
    // the orders below start from the room that leaves.
    std::vector<size_t> out;
    Amount free_of_apart = s_.fit[t];
    for (size_t v : s_.units_on[t])
      if (v != unit && c_.units()[v].movable) {
        out.push_back(v);
        if (apart(unit, v)) free_of_apart = free_of_apart - info_[v].need;
      }
    // So do groups of them still gathering with members on t: moved aside,
    // they gather elsewhere.
    for (size_t g : c_.units()[unit].anti_groups)
      for (size_t v : c_.anti_groups()[g].units) {
        const auto& members = c_.units()[v].members;
        auto on_t = [&](size_t m) { return s_.guest_node[m] == static_cast<int>(t); };
        if (v == unit || unit_node(v) >= 0 || !c_.units()[v].movable ||
            std::find(out.begin(), out.end(), v) != out.end() ||
            std::none_of(members.begin(), members.end(), on_t))
          continue;
        out.push_back(v);
        free_of_apart = free_of_apart - (info_[v].need - arriving(v, t));
      }
    if (out.empty()) continue;
    std::sort(out.begin(), out.end(), [&](size_t a, size_t b) {
      if (info_[a].need.memory != info_[b].need.memory) return info_[a].need.memory < info_[b].need.memory;
      return c_.units()[a].vmid < c_.units()[b].vmid;
    });
    const size_t singles = std::min(out.size(), kRoomSingles);
    room.reserved[t] = true;
    room.waiting[t] = static_cast<int>(unit);
    // Smallest first moves many units on large nodes: small clusters only.
    const size_t orders = singles + (c_.guest_count() > kNestedRoomGuests ? 1 : 2);
    for (size_t order = 0; order < orders && room.copies > 0; ++order) {
      if (order < singles && (apart(unit, out[order]) ||
                              !Constraints::fits(free_of_apart - info_[out[order]].need, need, c_.limit(t))))
        continue;
      --room.copies;
      Search trial(*this);
      if (lifted) trial.lift(unit, t, true);
      bool cleared = trial.clear_node(unit, t, out, order, depth, room);
      if (lifted) trial.lift(unit, t, false);
      if (cleared && trial.can_end_on(unit, t)) {
        room.reserved[t] = false;
        adopt(trial);
        return static_cast<int>(t);
      }
    }
    room.reserved[t] = false;
  }
  return -1;
}

// One order of clear_for() on this (a trial copy): `out` are the movable
// units on t, smallest first.
bool Search::clear_node(size_t unit, size_t t, const std::vector<size_t>& out, size_t order, int depth,
                        Room& room) {
  const Amount need = arriving(unit, t);
  // A member that cannot leave (pinned to t) leaves the others to try.
  for (size_t v : out)
    if (!anti_ok_arriving(unit, t) && apart(unit, v)) move_aside(v, depth, room);
  if (!anti_ok_arriving(unit, t)) return false;
  const size_t singles = std::min(out.size(), kRoomSingles);
  if (order < singles) return Constraints::fits(s_.fit[t], need, c_.limit(t)) || move_aside(out[order], depth, room);
  const bool largest_first = order == singles;
  for (size_t i = 0; i < out.size(); ++i) {
    if (Constraints::fits(s_.fit[t], need, c_.limit(t))) return true;
    size_t v = largest_first ? out[out.size() - 1 - i] : out[i];
    if (unit_node(v) == static_cast<int>(t)) move_aside(v, depth, room);
  }
  return Constraints::fits(s_.fit[t], need, c_.limit(t));
}

bool Search::move_aside(size_t unit, int depth, Room& room) {
  int to = best_target(unit, &room.reserved);
  // A node being cleared takes it when the unit waiting for the node still
  // fits beside it.
  for (size_t t = 0; to < 0 && t < c_.node_count(); ++t) {
    if (!room.reserved[t] || !can_place(unit, t)) continue;
    size_t waiting = static_cast<size_t>(room.waiting[t]);
    if (!apart(unit, waiting) &&
        Constraints::fits(s_.fit[t] + info_[unit].need, arriving(waiting, t), c_.limit(t)))
      to = static_cast<int>(t);
  }
  if (to < 0 && depth > 0) to = clear_for(unit, depth - 1, room);
  if (to < 0) return false;
  move_unit(unit, static_cast<size_t>(to), MoveReason::MakeRoom, 0.0, 0.0);
  return true;
}

// Takes the capacity of the unit's members that are not on t off their
// nodes, and the unit out of its anti-affinity counts there (`off`), or puts
// them back. Where members of a gathering group already are on t the count
// stays: the group ends there, and anti_ok_arriving() discounts it itself.
void Search::lift(size_t unit, size_t t, bool off) {
  for (int n : unit_nodes(unit))
    if (n != static_cast<int>(t))
      for (size_t g : c_.units()[unit].anti_groups) s_.anti_count[g][n] += off ? -1 : +1;
  for (size_t m : c_.units()[unit].members) {
    int n = s_.guest_node[m];
    if (n < 0 || n == static_cast<int>(t)) continue;
    s_.fit[n] = off ? s_.fit[n] - c_.need(m) : s_.fit[n] + c_.need(m);
  }
}

std::string Search::check_invariants() const {
  std::vector<int> node(c_.guest_count());
  std::vector<int> base(c_.guest_count());
  for (size_t g = 0; g < c_.guest_count(); ++g) node[g] = base[g] = c_.node_of(g);
  std::vector<Amount> fit(c_.node_count());
  for (size_t n = 0; n < c_.node_count(); ++n) fit[n] = c_.initial_load(n);
  for (const Step& s : s_.steps) {
    if (node[s.guest] != s.from) return "step of guest " + std::to_string(s.guest) + " starts elsewhere";
    if (s.from >= 0) fit[s.from] = fit[s.from] - c_.need(s.guest);
    fit[s.to] = fit[s.to] + c_.need(s.guest);
    node[s.guest] = s.to;
    if (s.reason != MoveReason::Balance) base[s.guest] = s.to;
  }
  if (node != s_.guest_node) return "s_.guest_node is not the snapshot with s_.steps applied";
  if (base != s_.base) return "s_.base";
  size_t displaced = 0;
  for (size_t g = 0; g < c_.guest_count(); ++g) displaced += node[g] != base[g];
  if (displaced != s_.displaced) return "s_.displaced";
  if (s_.displaced > static_cast<size_t>(config_.balancing.max_moves)) return "s_.displaced above max_moves";
  auto near = [](double a, double b) { return std::abs(a - b) <= 1e-6 * std::max(1.0, std::abs(b)); };
  for (size_t n = 0; n < c_.node_count(); ++n)
    if (!near(fit[n].memory, s_.fit[n].memory) || !near(fit[n].cpus, s_.fit[n].cpus) || !near(fit[n].disk, s_.fit[n].disk))
      return "s_.fit of node " + std::to_string(n);
  std::vector<std::vector<size_t>> on(c_.node_count());
  for (size_t u = 0; u < c_.units().size(); ++u) {
    if (s_.unit_at[u] != locate(u)) return "s_.unit_at of unit " + std::to_string(u);
    if (s_.unit_at[u] >= 0) on[s_.unit_at[u]].push_back(u);
  }
  if (on != s_.units_on) return "s_.units_on";
  for (size_t g = 0; g < c_.anti_groups().size(); ++g)
    for (size_t n = 0; n < c_.node_count(); ++n) {
      int count = 0;
      for (size_t u : c_.anti_groups()[g].units) {
        auto nodes = unit_nodes(u);
        count += std::find(nodes.begin(), nodes.end(), static_cast<int>(n)) != nodes.end();
      }
      if (count != s_.anti_count[g][n]) return "s_.anti_count of group " + std::to_string(g);
    }
  return {};
}

void Search::retry() {
  if (unresolved_.empty()) return;
  size_t before = s_.steps.size();
  unresolved_.clear();  // repair() reports again what still finds no room
  repair(true);
  if (s_.steps.size() > before && config_.balancing.enable && balancing_needed()) balance_pass();
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
      if (s_.guest_node[m] == static_cast<int>(t)) continue;
      allowed = allowed && c_.movable(m) && c_.allowed(m, t);
      need = need + c_.need(m);
      bytes += c_.need(m).memory + c_.need(m).disk;
    }
    if (!allowed || !Constraints::fits(s_.fit[t], need, c_.limit(t)) ||
        !anti_ok(unit, t, static_cast<int>(unit)))
      continue;
    std::pair<double, double> key{bytes, truncate_score(s_.load.weighted_usage(t))};
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
    if (s_.guest_node[m] != target) move_guest(m, target, MoveReason::Affinity, 0.0, 0.0);
  count_anti(unit, +1);
  auto& list = s_.units_on[target];
  list.insert(std::lower_bound(list.begin(), list.end(), unit), unit);
}

void Search::evacuate() {
  std::vector<size_t> leaving;
  for (size_t n = 0; n < c_.node_count(); ++n) {
    if (!c_.evacuate(n)) continue;
    for (size_t u : s_.units_on[n]) {
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
    while (s_.anti_count[group][n] > g.max_per_node) {
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
        double s = s_.load.imbalance_after(static_cast<int>(n), t, info_[here[i]].contrib);
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
