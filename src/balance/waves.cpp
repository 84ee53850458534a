// The plan's contract, in one place: the search's sequential steps become net
// moves (each guest once, from its node in the snapshot straight to its final
// node; round trips vanish), ordered into waves so that capacity, hard rules
// and per-node job limits hold after any subset of every wave. Where no order
// exists (a cycle: A must leave X before B arrives, and A's target is only
// free after B left it), one guest steps aside to a node with room: a parking
// move, listed and costed as such. The waves are built greedily; when that
// leaves a move out, a bounded depth-first search looks for an order of the
// moves one at a time (an early move may block a later one the greedy pass
// took first), first without parking, then with, then letting a guest that
// has no move of its own step aside and come back. See Plan in planner.h.
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>

#include "balance/search.h"

namespace pvekit::balance::detail {
namespace {

// Checks and visited guests each pass of the order search may spend when the
// greedy waves leave a move out: the six passes take 2 ms together on 10,000
// guests (bench_waves), so a large cluster whose moves have no order keeps
// the greedy plan at about its old cost.
constexpr size_t kOrderBudget = 100000;
// Parking moves the bystander passes allow at most, one more per pass, so
// that the order found parks as few guests as they can: seed 2944 of the
// repair oracle test needs three.
constexpr size_t kMaxBystanderParks = 4;

struct Pending {
  Step step;            // from: where the guest is now; to: its final node
  bool parked = false;  // stepped aside once already
};

// What the order search may do besides the net moves: nothing, park a guest
// that has a move of its own, or also park one that has none (a bystander),
// which then moves back home.
enum class Parking { None, Movers, Bystanders };

class Scheduler {
 public:
  Scheduler(const Constraints& c, const BalanceConfig& config)
      : c_(c),
        config_(config),
        per_node_(config.balancing.parallel ? std::max(1, config.balancing.parallel_jobs) : 1),
        parallel_(config.balancing.parallel),
        fit_(c.node_count()),
        node_(c.guest_count()) {
    for (size_t n = 0; n < c.node_count(); ++n) fit_[n] = c.initial_load(n);
    for (size_t g = 0; g < c.guest_count(); ++g) node_[g] = c.node_of(g);
  }

  Schedule run(std::vector<Pending> pending) {
    while (!pending.empty()) {
      open_wave();
      std::vector<size_t> taken;
      for (size_t i = 0; i < pending.size(); ++i) {
        if (!parallel_ && !wave_.empty()) break;
        if (!fits_wave(pending[i].step)) continue;
        add(pending[i].step);
        taken.push_back(i);
      }
      if (taken.empty()) {
        if (!park(pending)) break;
        continue;
      }
      for (auto it = taken.rbegin(); it != taken.rend(); ++it) pending.erase(pending.begin() + *it);
      close_wave();
    }
    for (const Pending& p : pending) {
      // A parked guest whose final move found no order ends where it waited:
      // that step is its one move, no longer a parking one.
      if (p.parked)
        for (Step& s : out_.steps)
          if (s.guest == p.step.guest && s.reason == MoveReason::Parking) s.reason = p.step.reason;
      out_.dropped.push_back(p.step);
    }
    return std::move(out_);
  }

  // An order of `pending`, one move at a time from the snapshot, that keeps
  // capacity and anti-affinity after every move; with `parking`, a guest on
  // a pending move's target may step aside first (once). Depth-first over
  // which move goes next, each reachable placement visited once, every
  // check and visited guest taken from a budget of kOrderBudget.
  std::optional<std::vector<Step>> find_order(std::vector<Pending> pending, Parking parking,
                                              size_t parks = SIZE_MAX) {
    const size_t n = pending.size();
    Order o{std::move(pending), std::vector<bool>(n, false), {}, {}, parking, kOrderBudget, parks, n,
            std::vector<bool>(c_.guest_count(), false)};
    for (const Pending& p : o.pending) o.has_move[p.step.guest] = true;
    open_wave();
    if (!order_from(o)) return std::nullopt;
    return std::move(o.steps);
  }

  // Waves from a found order: each wave takes the next moves of the order
  // while they fit together, so the state between waves is one the order
  // passes through. The first move of a wave fits alone: the order says so.
  Schedule pack(const std::vector<Step>& order) {
    for (size_t i = 0; i < order.size();) {
      open_wave();
      add(order[i++]);
      while (i < order.size() && parallel_ && !moving(order[i].guest) && fits_wave(order[i])) add(order[i++]);
      close_wave();
    }
    return std::move(out_);
  }

 private:
  struct Order {
    std::vector<Pending> pending;
    std::vector<bool> done;
    std::vector<Step> steps;
    std::set<std::vector<int>> seen;  // placements of the pending guests
    Parking parking;
    size_t budget;
    size_t parks;  // parking moves the order may still make
    size_t net;  // pending[net..] are bystanders' moves back home
    std::vector<bool> has_move;  // per guest: in `pending`
  };

  bool spend(Order& o, size_t n) {
    if (o.budget < n) {
      o.budget = 0;
      return false;
    }
    o.budget -= n;
    return true;
  }

  bool order_from(Order& o) {
    if (std::all_of(o.done.begin(), o.done.end(), [](bool d) { return d; })) return true;
    std::vector<int> at;
    for (const Pending& p : o.pending) at.push_back(node_[p.step.guest]);
    // Which bystanders are away matters as much as where.
    for (size_t i = o.net; i < o.pending.size(); ++i) at.push_back(static_cast<int>(o.pending[i].step.guest));
    at.push_back(static_cast<int>(std::min<size_t>(o.parks, INT32_MAX)));
    if (!spend(o, at.size()) || !o.seen.insert(std::move(at)).second) return false;
    for (size_t i = 0; i < o.pending.size(); ++i) {
      if (o.done[i]) continue;
      if (!spend(o, 1)) return false;
      if (!fits_wave(o.pending[i].step)) continue;
      o.done[i] = true;
      if (try_step(o, o.pending[i].step)) return true;
      o.done[i] = false;
    }
    if (o.parking == Parking::None || o.parks == 0) return false;
    for (size_t b = 0; b < o.pending.size(); ++b)
      for (size_t xi = 0; xi < o.pending.size(); ++xi) {
        Pending& x = o.pending[xi];
        if (o.done[b] || xi == b || o.done[xi] || x.parked || node_[x.step.guest] != o.pending[b].step.to)
          continue;
        if (!spend(o, c_.node_count())) return false;
        int p = parking_node(x);
        if (p < 0) continue;
        const Pending before = x;
        x.step.from = p;
        x.parked = true;
        --o.parks;
        if (try_step(o, aside(before, p))) return true;
        ++o.parks;
        o.pending[xi] = before;  // x may dangle: bystanders grow `pending`
      }
    return o.parking == Parking::Bystanders && park_bystander(o);
  }

  // A guest without a move of its own that sits on a pending move's target
  // steps aside (parking) and gets a move back home (make-room), which the
  // order must then fit in too: 106 leaves node02 so that 105 can arrive
  // there before 101, which it waits for, leaves node01 for it. Its final
  // node is unchanged, so the plan's placement and figures are the search's.
  bool park_bystander(Order& o) {
    std::vector<bool> target(c_.node_count(), false);
    for (size_t i = 0; i < o.pending.size(); ++i)
      if (!o.done[i]) target[o.pending[i].step.to] = true;
    if (!spend(o, c_.guest_count())) return false;
    for (size_t g = 0; g < c_.guest_count(); ++g) {
      const int home = node_[g];
      if (home < 0 || !target[home] || o.has_move[g] || !c_.movable(g)) continue;
      if (!spend(o, c_.node_count())) return false;
      const Pending back{{g, c_.unit_of(g), home, home, MoveReason::MakeRoom, 0.0, cost(g)}, false};
      const int p = parking_node(back);
      if (p < 0) continue;
      o.pending.push_back(back);
      o.pending.back().step.from = p;
      o.pending.back().parked = true;
      o.done.push_back(false);
      o.has_move[g] = true;
      --o.parks;
      if (try_step(o, aside(back, p))) return true;
      ++o.parks;
      o.has_move[g] = false;
      o.done.pop_back();
      o.pending.pop_back();
    }
    return false;
  }

  // Makes `s`, searches on from there, and takes it back if that fails. `s`
  // is a copy: the search may grow `o.pending`, where it may come from.
  bool try_step(Order& o, const Step s) {
    const Amount from = fit_[s.from], to = fit_[s.to];
    fit_[s.from] = fit_[s.from] - c_.need(s.guest);
    fit_[s.to] = fit_[s.to] + c_.need(s.guest);
    node_[s.guest] = s.to;
    o.steps.push_back(s);
    if (order_from(o)) return true;
    o.steps.pop_back();
    node_[s.guest] = s.from;
    fit_[s.from] = from;
    fit_[s.to] = to;
    return false;
  }

  bool moving(size_t guest) const {
    return std::any_of(wave_.begin(), wave_.end(), [&](const Step& s) { return s.guest == guest; });
  }

  // The parking move of `x` to node `p`: no gain, its own migration's cost.
  Step aside(const Pending& x, int p) const {
    Step s = x.step;
    s.to = p;
    s.reason = MoveReason::Parking;
    s.gain = 0.0;
    s.cost = cost(x.step.guest);
    return s;
  }

  bool fits_wave(const Step& s) const {
    if (jobs_[s.to] >= per_node_ || jobs_[s.from] >= per_node_) return false;
    if (!Constraints::fits(fit_[s.to] + incoming_[s.to], c_.need(s.guest), c_.limit(s.to)))
      return false;
    return anti_ok(s);
  }

  // Units of `group` on `node` at the wave start (they may leave last) or
  // arriving in this wave, other than `unit`.
  int present(size_t group, size_t node, size_t unit) const {
    std::set<size_t> units;
    for (size_t u : c_.anti_groups()[group].units) {
      if (u == unit) continue;
      for (size_t m : c_.units()[u].members)
        if (node_[m] == static_cast<int>(node)) units.insert(u);
    }
    for (const Step& a : wave_)
      if (a.unit != unit && a.to == static_cast<int>(node)) {
        const auto& groups = c_.units()[a.unit].anti_groups;
        if (std::find(groups.begin(), groups.end(), group) != groups.end()) units.insert(a.unit);
      }
    return static_cast<int>(units.size());
  }

  bool anti_ok(const Step& s) const {
    for (size_t g : c_.units()[s.unit].anti_groups)
      if (present(g, s.to, s.unit) >= c_.anti_groups()[g].max_per_node) return false;
    return true;
  }

  void open_wave() {
    wave_.clear();
    incoming_.assign(c_.node_count(), Amount{});
    jobs_.assign(c_.node_count(), 0);
  }

  void add(const Step& s) {
    wave_.push_back(s);
    incoming_[s.to] = incoming_[s.to] + c_.need(s.guest);
    ++jobs_[s.to];
    ++jobs_[s.from];
  }

  void close_wave() {
    Schedule& out = out_;
    std::vector<size_t> indices;
    for (const Step& s : wave_) {
      fit_[s.from] = fit_[s.from] - c_.need(s.guest);
      fit_[s.to] = fit_[s.to] + c_.need(s.guest);
      node_[s.guest] = s.to;
      indices.push_back(out.steps.size());
      out.steps.push_back(s);
    }
    out.waves.push_back(std::move(indices));
    wave_.clear();
  }

  // Whether `s` could run alone now if guest `away` were not on its node.
  bool fits_without(const Step& s, size_t away) {
    int home = node_[away];
    fit_[home] = fit_[home] - c_.need(away);
    node_[away] = -1;
    open_wave();
    bool ok = fits_wave(s);
    node_[away] = home;
    fit_[home] = fit_[home] + c_.need(away);
    return ok;
  }

  // A node where guest `x` may wait: allowed, with room, no anti-affinity
  // break; the least used by memory (ties: the first).
  int parking_node(const Pending& x) {
    open_wave();
    int best = -1;
    double best_share = 0.0;
    for (size_t p = 0; p < c_.node_count(); ++p) {
      int n = static_cast<int>(p);
      if (n == x.step.from || n == x.step.to || !c_.eligible(p) || !c_.allowed(x.step.guest, p))
        continue;
      Step trial = x.step;
      trial.to = n;
      if (!fits_wave(trial)) continue;
      double share = c_.limit(p).memory > 0 ? fit_[p].memory / c_.limit(p).memory : 1.0;
      if (best < 0 || share < best_share) best = n, best_share = share;
    }
    return best;
  }

  // No pending move fits even alone. Park a pending guest that blocks one:
  // first one whose leaving lets a blocked move run, else any on a blocked
  // move's target. Each guest parks at most once, so this ends.
  bool park(std::vector<Pending>& pending) {
    for (int pass = 0; pass < 2; ++pass)
      for (const Pending& blocked : pending)
        for (Pending& x : pending) {
          if (&x == &blocked || x.parked || node_[x.step.guest] != blocked.step.to) continue;
          if (pass == 0 && !fits_without(blocked.step, x.step.guest)) continue;
          int p = parking_node(x);
          if (p < 0) continue;
          open_wave();
          add(aside(x, p));
          close_wave();
          x.step.from = p;
          x.parked = true;
          return true;
        }
    return false;
  }

  double cost(size_t guest) const {
    const Guest& g = c_.state().guests[guest];
    double ram = g.status == GuestStatus::Running ? static_cast<double>(g.memory_used) : 0.0;
    double gib = (ram + static_cast<double>(g.local_disk_bytes)) / static_cast<double>(kGiB);
    const auto& m = config_.balancing.migration_cost;
    return truncate_score(m.min_gain + m.per_gib * gib);
  }

  const Constraints& c_;
  const BalanceConfig& config_;
  int per_node_;
  bool parallel_;
  std::vector<Amount> fit_;
  std::vector<int> node_;
  std::vector<Step> wave_;
  std::vector<Amount> incoming_;
  std::vector<int> jobs_;
  Schedule out_;
};

}  // namespace

std::vector<Step> net_moves(const Constraints& constraints, const std::vector<Step>& steps) {
  struct Net {
    size_t first = 0;  // index of the guest's first step: its rank in the schedule
    Step step;
    bool required = false;
  };
  std::map<size_t, Net> by_guest;
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    auto [it, fresh] = by_guest.try_emplace(s.guest);
    Net& n = it->second;
    if (fresh) {
      n.first = i;
      n.step = s;
      n.step.from = constraints.node_of(s.guest);
      n.step.gain = 0.0;
      n.step.cost = 0.0;
    }
    n.step.to = s.to;
    // The move is required when any of its steps was; a balancing move
    // carries what its steps gained and the dearest of their costs.
    if (s.reason != MoveReason::Balance) {
      n.step.reason = s.reason;
      n.required = true;
    } else if (!n.required) {
      n.step.reason = MoveReason::Balance;
    }
    n.step.gain += s.gain;
    n.step.cost = std::max(n.step.cost, s.cost);
  }
  std::vector<std::pair<size_t, Step>> ranked;
  for (const auto& [guest, n] : by_guest)
    if (n.step.to != n.step.from && n.step.from >= 0) ranked.emplace_back(n.first, n.step);
  std::sort(ranked.begin(), ranked.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Step> out;
  for (auto& [rank, step] : ranked) out.push_back(step);
  return out;
}

Schedule schedule(const Constraints& constraints, const std::vector<Step>& steps,
                  const BalanceConfig& config) {
  std::vector<Pending> pending;
  for (const Step& s : net_moves(constraints, steps)) pending.push_back({s, false});
  Schedule greedy = Scheduler(constraints, config).run(pending);
  if (greedy.dropped.empty()) return greedy;
  for (Parking parking : {Parking::None, Parking::Movers})
    if (auto order = Scheduler(constraints, config).find_order(pending, parking))
      return Scheduler(constraints, config).pack(*order);
  for (size_t parks = 1; parks <= kMaxBystanderParks; ++parks)
    if (auto order = Scheduler(constraints, config).find_order(pending, Parking::Bystanders, parks))
      return Scheduler(constraints, config).pack(*order);
  return greedy;
}

}  // namespace pvekit::balance::detail
