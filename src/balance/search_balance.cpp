// Phase 2 of planning: best-improvement local search over (unit, target)
// moves, with swaps and then compound moves (search_compound.cpp) when no
// single move pays, and a second run ranked by gain alone when the first
// ends above the limits. See docs/balancing.md.
#include <algorithm>
#include <utility>

#include "balance/search.h"

namespace pvekit::balance::detail {
namespace {

// Allowed targets tried per unit, least loaded first. A move that lowers
// the variance takes load from an above-mean node to a less loaded one, and
// the least loaded targets give the largest gains.
constexpr size_t kTargetsPerUnit = 3;
// Swap search bounds: the most loaded node against the least loaded nodes.
constexpr size_t kSwapTargets = 4;
constexpr size_t kSwapOut = 12;
constexpr size_t kSwapIn = 24;

}  // namespace

std::vector<size_t> Search::ranked_nodes() const {
  std::vector<size_t> nodes;
  std::vector<double> usage(c_.node_count(), 0.0);
  for (size_t n = 0; n < c_.node_count(); ++n) {
    if (!c_.eligible(n)) continue;
    nodes.push_back(n);
    usage[n] = truncate_score(s_.load.weighted_usage(n));
  }
  std::sort(nodes.begin(), nodes.end(), [&](size_t a, size_t b) {
    return usage[a] != usage[b] ? usage[a] > usage[b] : a < b;
  });
  return nodes;
}

bool Search::better(const Candidate& a, const Candidate& b) const {
  if (b.to < 0) return true;
  if (a.score != b.score) return a.score > b.score;
  if (config_.balancing.balance_larger_guests_first && info_[a.unit].size != info_[b.unit].size)
    return info_[a.unit].size > info_[b.unit].size;
  uint32_t va = c_.units()[a.unit].vmid, vb = c_.units()[b.unit].vmid;
  if (va != vb) return va < vb;
  if (a.to != b.to) return a.to < b.to;
  uint32_t pa = c_.units()[a.partner].vmid, pb = c_.units()[b.partner].vmid;
  if (pa != pb) return pa < pb;
  return a.via < b.via;
}

void Search::consider(size_t unit, size_t from, size_t to, Candidate& best) const {
  double after = s_.load.imbalance_after(static_cast<int>(from), static_cast<int>(to), info_[unit].contrib);
  double gain = truncate_score(s_.load.imbalance() - after);
  double cost = move_cost(info_[unit].gib, 1);
  if (gain <= 0.0 || gain < cost) return;  // does not pay for itself
  Candidate cand{.unit = unit, .partner = unit, .from = static_cast<int>(from), .to = static_cast<int>(to),
                 .gain = gain, .cost = cost, .score = rank(gain, cost)};
  if (better(cand, best) && admits(cand)) best = cand;
}

// Every paying move from the above-mean nodes, the best target per unit,
// best first.
std::vector<Search::Candidate> Search::collect(const std::vector<size_t>& sources,
                                               const std::vector<size_t>& targets) const {
  std::vector<Candidate> found;
  double lowest = targets.empty() ? 0.0 : s_.load.weighted_usage(targets.front());
  for (size_t s : sources) {
    double source_usage = s_.load.weighted_usage(s);
    for (size_t u : s_.units_on[s]) {
      if (!balancable(u)) continue;
      // A unit larger than the gap to the least loaded node would only turn
      // the target into the new hot spot (exact for one resource on equal
      // nodes, a cheap filter otherwise).
      if (s_.load.weighted_share(s, info_[u].contrib) > 2 * (source_usage - lowest)) continue;
      Candidate best;
      size_t tried = 0;
      for (size_t t : targets) {
        if (s_.load.weighted_usage(t) >= source_usage || tried == kTargetsPerUnit) break;
        if (!can_place(u, t)) continue;
        ++tried;
        consider(u, s, t, best);
      }
      if (best.to >= 0) found.push_back(best);
    }
  }
  std::sort(found.begin(), found.end(),
            [&](const Candidate& a, const Candidate& b) { return better(a, b); });
  return found;
}

void Search::consider_swap(size_t a, size_t b, size_t s, size_t t, Candidate& best) const {
  const Unit& ua = c_.units()[a];
  const Unit& ub = c_.units()[b];
  if (!ua.allowed.test(t) || !ub.allowed.test(s)) return;
  const Amount& na = info_[a].need;
  const Amount& nb = info_[b].need;
  bool b_first = Constraints::fits(s_.fit[s], nb, c_.limit(s)) &&
                 Constraints::fits(s_.fit[t] - nb, na, c_.limit(t));
  bool a_first = Constraints::fits(s_.fit[t], na, c_.limit(t)) &&
                 Constraints::fits(s_.fit[s] - na, nb, c_.limit(s));
  if (!a_first && !b_first) return;
  double after = s_.load.imbalance_after_swap(static_cast<int>(s), static_cast<int>(t),
                                            info_[a].contrib, info_[b].contrib);
  double gain = truncate_score(s_.load.imbalance() - after);
  double cost = move_cost(info_[a].gib + info_[b].gib, 2);
  if (gain <= 0.0 || gain < cost) return;
  Candidate cand{.kind = Kind::Swap, .unit = a, .partner = b, .partner_first = !a_first,
                 .from = static_cast<int>(s), .to = static_cast<int>(t), .gain = gain, .cost = cost,
                 .score = rank(gain, cost)};
  if (better(cand, best) && admits(cand)) best = cand;
}

bool Search::find_swap(const std::vector<size_t>& ranked, Candidate& best) const {
  auto pick = [&](size_t node, bool largest, size_t limit) {
    std::vector<size_t> units;
    for (size_t u : s_.units_on[node]) {
      // Anti-affinity members are left out: checking a group against a node
      // that loses one member while gaining another is not worth the code.
      if (balancable(u) && c_.units()[u].anti_groups.empty()) units.push_back(u);
    }
    std::sort(units.begin(), units.end(), [&](size_t x, size_t y) {
      if (info_[x].size != info_[y].size) return largest ? info_[x].size > info_[y].size
                                                         : info_[x].size < info_[y].size;
      return x < y;
    });
    if (units.size() > limit) units.resize(limit);
    return units;
  };
  size_t s = ranked.front();
  auto out = pick(s, true, kSwapOut);
  for (size_t i = 0; i < kSwapTargets && i + 1 < ranked.size(); ++i) {
    size_t t = ranked[ranked.size() - 1 - i];
    for (size_t b : pick(t, false, kSwapIn))
      for (size_t a : out) consider_swap(a, b, s, t, best);
  }
  return best.to >= 0;
}

void Search::apply(const Candidate& c) {
  if (c.kind == Kind::Chain) {
    size_t via = static_cast<size_t>(c.via);
    if (c.partner_first) move_unit(c.partner, via, MoveReason::Balance, c.gain, c.cost);
    move_unit(c.unit, c.to, MoveReason::Balance, c.gain, c.cost);
    if (!c.partner_first) move_unit(c.partner, via, MoveReason::Balance, c.gain, c.cost);
  } else if (c.kind == Kind::Move) {
    move_unit(c.unit, c.to, MoveReason::Balance, c.gain, c.cost);
  } else if (c.partner_first) {
    move_unit(c.partner, c.from, MoveReason::Balance, c.gain, c.cost);
    move_unit(c.unit, c.to, MoveReason::Balance, c.gain, c.cost);
  } else {
    move_unit(c.unit, c.to, MoveReason::Balance, c.gain, c.cost);
    move_unit(c.partner, c.from, MoveReason::Balance, c.gain, c.cost);
  }
}

// Applies candidates best first, at most one move per node and round. Each
// is re-evaluated against the state the earlier ones left, on the targets
// not yet touched this round (units tend to share the same best target); the
// first always applies, so every round makes progress. See docs/balancing.md.
size_t Search::apply_round(const std::vector<Candidate>& candidates,
                           const std::vector<size_t>& targets) {
  std::vector<bool> touched(c_.node_count(), false);
  size_t applied = 0;
  // O(nodes) to evaluate: only a move applied changes it.
  bool needed = balancing_needed();
  for (const Candidate& cand : candidates) {
    if (!needed) break;
    if (touched[cand.from] || unit_node(cand.unit) != cand.from) continue;
    Candidate now;
    double source_usage = s_.load.weighted_usage(cand.from);
    size_t tried = 0;
    for (size_t t : targets) {
      if (s_.load.weighted_usage(t) >= source_usage || tried == kTargetsPerUnit) break;
      if (touched[t] || !can_place(cand.unit, t)) continue;
      ++tried;
      consider(cand.unit, cand.from, t, now);
    }
    if (now.to < 0) continue;  // no longer pays
    apply(now);
    touched[now.from] = touched[now.to] = true;
    ++applied;
    needed = balancing_needed();
  }
  return applied;
}

double Search::rank(double gain, double cost) const {
  return by_gain_ || cost <= 0 ? gain : truncate_score(gain / cost);
}

void Search::adopt(Search& other) {
  s_ = std::move(other.s_);
}

// Ranking by gain per cost prefers cheap moves, which on small clusters can
// lead into a basin no move, swap or chain leaves. When that run ends above
// the limits, a second run from the same start ranks by gain alone (every
// move still pays for itself) and is kept if it ends more even; on small
// clusters polish() then looks beyond the basin.
void Search::balance() {
  if (!config_.balancing.enable) return;
  start_imbalance_ = s_.load.imbalance();
  const Search start(*this);
  balance_pass();
  if (balancing_needed()) {
    Search alt(start);
    alt.by_gain_ = true;
    alt.balance_pass();
    if (!alt.balancing_needed() || alt.s_.load.imbalance() < s_.load.imbalance()) adopt(alt);
    polish(start);
  }
  cheapest(start);
}

bool Search::balancable(size_t unit) const {
  const Unit& u = c_.units()[unit];
  return u.movable && u.running && info_[unit].gib < gib_cap_;
}

void Search::balance_pass() {
  // Every candidate passes admits(): max_moves bounds the net balancing
  // moves; required moves come on top. Each applied move lowers the
  // imbalance, so the loop ends.
  while (balancing_needed()) {
    auto ranked = ranked_nodes();
    if (ranked.size() < 2) return;
    double mean = 0.0;
    for (size_t n : ranked) mean += s_.load.weighted_usage(n);
    mean /= static_cast<double>(ranked.size());
    std::vector<size_t> sources;
    for (size_t n : ranked)
      if (s_.load.weighted_usage(n) > mean) sources.push_back(n);
    std::vector<size_t> targets(ranked.rbegin(), ranked.rend());
    auto candidates = collect(sources, targets);
    if (!candidates.empty()) {
      // A second round on the same (re-checked) list before collecting
      // again halves the evaluations at little cost in quality.
      if (apply_round(candidates, targets) == 0) return;
      apply_round(candidates, targets);
      continue;
    }
    Candidate swap;
    if (!find_swap(ranked, swap) && !find_chain(ranked, swap)) return;
    apply(swap);
  }
}

}  // namespace pvekit::balance::detail
