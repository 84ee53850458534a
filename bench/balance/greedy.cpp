#include "greedy.h"

#include <algorithm>
#include <cmath>

namespace bench_balance {
namespace {

class Greedy {
 public:
  Greedy(const pb::ClusterState& state, double balanciness)
      : state_(state), balanciness_(balanciness), on_node_(state.nodes.size()) {
    for (size_t g = 0; g < state_.guests.size(); ++g) {
      const pb::Guest& guest = state_.guests[g];
      size_t n = node_index(state_, guest.node);
      if (n < state_.nodes.size() && movable(guest)) on_node_[n].push_back(g);
    }
    for (auto& list : on_node_) std::sort(list.begin(), list.end(), [&](size_t a, size_t b) { return larger(a, b); });
  }

  GreedyResult run() {
    // A safety bound: every step narrows a gap, but float ties must not loop.
    size_t limit = 4 * state_.guests.size() + 16;
    while (result_.moves.size() < limit && step()) {
    }
    return result_;
  }

 private:
  static bool movable(const pb::Guest& g) {
    return g.status == pb::GuestStatus::Running && !g.is_template && g.lock.empty();
  }
  bool larger(size_t a, size_t b) const {
    const pb::Guest& x = state_.guests[a];
    const pb::Guest& y = state_.guests[b];
    return x.memory_used != y.memory_used ? x.memory_used > y.memory_used : x.vmid < y.vmid;
  }
  double percent(size_t n, double extra = 0.0) const {
    const pb::Node& node = state_.nodes[n];
    double cap = static_cast<double>(node.memory_total - std::min(node.memory_total, node.reserve.memory));
    return cap > 0 ? 100.0 * (static_cast<double>(node.memory_used) + extra) / cap : 0.0;
  }
  bool counted(size_t n) const {
    const pb::Node& node = state_.nodes[n];
    return node.online && !node.maintenance && !node.ignored;
  }

  bool step() {
    size_t hi = state_.nodes.size(), lo = hi;
    for (size_t n = 0; n < state_.nodes.size(); ++n) {
      if (!counted(n)) continue;
      if (hi == state_.nodes.size() || percent(n) > percent(hi)) hi = n;
      if (lo == state_.nodes.size() || percent(n) < percent(lo)) lo = n;
    }
    if (hi == state_.nodes.size() || percent(hi) - percent(lo) <= balanciness_) return false;
    double gap = percent(hi) - percent(lo);
    for (size_t k = 0; k < on_node_[hi].size(); ++k) {
      const pb::Guest& g = state_.guests[on_node_[hi][k]];
      double mem = static_cast<double>(g.memory_used);
      double after = std::fabs(percent(hi, -mem) - percent(lo, mem));
      if (!fits(state_.nodes[lo], g) || after >= gap) continue;
      move(hi, lo, k);
      return true;
    }
    return false;
  }

  void move(size_t from, size_t to, size_t k) {
    size_t g = on_node_[from][k];
    on_node_[from].erase(on_node_[from].begin() + static_cast<std::ptrdiff_t>(k));
    auto at = std::lower_bound(on_node_[to].begin(), on_node_[to].end(), g,
                               [&](size_t a, size_t b) { return larger(a, b); });
    on_node_[to].insert(at, g);
    relocate_one(state_, {g, to});
    result_.moves.push_back({g, to});
    result_.bytes_moved += migration_bytes(state_.guests[g]);
  }

  pb::ClusterState state_;
  double balanciness_;
  std::vector<std::vector<size_t>> on_node_;  // movable guests, largest first
  GreedyResult result_;
};

}  // namespace

GreedyResult greedy_balance(const pb::ClusterState& state, double balanciness) {
  return Greedy(state, balanciness).run();
}

}  // namespace bench_balance
