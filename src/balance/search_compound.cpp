// Phase 2, last resort: compound moves (2-step ejection chains). When no
// single move or swap pays, unit A leaves a hot node for a node X where it
// does not fit or does not pay alone, and unit B leaves X for a third node Y
// (or the source): the pair is made when its combined gain pays for both
// migrations and capacity holds after each step. See docs/balancing.md.
#include <algorithm>

#include "balance/search.h"

namespace pvekit::balance::detail {
namespace {

// Bounds, so large clusters stay fast: the hottest nodes' largest units, each
// against the least loaded nodes, and the units there against the least
// loaded nodes again.
constexpr size_t kChainSources = 4;
constexpr size_t kChainOut = 8;
constexpr size_t kChainIn = 12;
constexpr size_t kChainTargets = 8;

}  // namespace

// Movable running units of `node` outside anti-affinity groups (a group's
// count would change on three nodes), largest first, at most `limit`.
std::vector<size_t> Search::chain_units(size_t node, size_t limit) const {
  std::vector<size_t> units;
  for (size_t u : s_.units_on[node])
    if (balancable(u) && c_.units()[u].anti_groups.empty()) units.push_back(u);
  std::sort(units.begin(), units.end(), [&](size_t x, size_t y) {
    return info_[x].size != info_[y].size ? info_[x].size > info_[y].size : x < y;
  });
  if (units.size() > limit) units.resize(limit);
  return units;
}

// Whether A (s -> x) and B (x -> y) fit in one of the two orders; A first is
// preferred. Capacity is checked on the state after each step.
bool Search::chain_fits(size_t a, size_t b, size_t s, size_t x, size_t y, bool& b_first) const {
  const Amount& na = info_[a].need;
  const Amount& nb = info_[b].need;
  Amount y_after_a = y == s ? s_.fit[y] - na : s_.fit[y];
  if (Constraints::fits(s_.fit[x], na, c_.limit(x)) &&
      Constraints::fits(y_after_a, nb, c_.limit(y))) {
    b_first = false;
    return true;
  }
  b_first = true;
  return Constraints::fits(s_.fit[y], nb, c_.limit(y)) &&
         Constraints::fits(s_.fit[x] - nb, na, c_.limit(x));
}

// Every chain that starts with unit `a` going from `s` to `x`.
void Search::chain_from(size_t a, size_t s, size_t x, const std::vector<size_t>& ranked,
                        Candidate& best) const {
  LoadModel after_a = s_.load;
  after_a.apply(static_cast<int>(s), static_cast<int>(x), info_[a].contrib);
  double before = s_.load.imbalance();
  for (size_t b : chain_units(x, kChainIn)) {
    const Unit& ub = c_.units()[b];
    size_t tried = 0;
    for (auto it = ranked.rbegin(); it != ranked.rend() && tried < kChainTargets; ++it) {
      size_t y = *it;
      if (y == x) continue;
      ++tried;
      bool b_first = false;
      if (!ub.allowed.test(y) || !chain_fits(a, b, s, x, y, b_first)) continue;
      double after =
          after_a.imbalance_after(static_cast<int>(x), static_cast<int>(y), info_[b].contrib);
      double gain = truncate_score(before - after);
      double cost = move_cost(info_[a].gib + info_[b].gib, 2);
      if (gain <= 0.0 || gain < cost) continue;
      Candidate cand{.kind = Kind::Chain, .unit = a, .partner = b, .partner_first = b_first,
                     .from = static_cast<int>(s), .to = static_cast<int>(x), .via = static_cast<int>(y),
                     .gain = gain, .cost = cost, .score = rank(gain, cost)};
      if (better(cand, best) && admits(cand)) best = cand;
    }
  }
}

bool Search::find_chain(const std::vector<size_t>& ranked, Candidate& best) const {
  for (size_t i = 0; i < kChainSources && i < ranked.size(); ++i) {
    size_t s = ranked[i];
    for (size_t a : chain_units(s, kChainOut)) {
      const Unit& ua = c_.units()[a];
      size_t tried = 0;
      for (auto it = ranked.rbegin(); it != ranked.rend() && tried < kChainTargets; ++it) {
        size_t x = *it;
        if (x == s) continue;
        ++tried;
        if (ua.allowed.test(x)) chain_from(a, s, x, ranked, best);
      }
    }
  }
  return best.to >= 0;
}

}  // namespace pvekit::balance::detail
