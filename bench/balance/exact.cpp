#include "exact.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "balance/score.h"

namespace bench_balance {
namespace {

class Search {
 public:
  explicit Search(const pb::ClusterState& state) : state_(state) {
    for (size_t n = 0; n < state.nodes.size(); ++n) {
      const pb::Node& node = state.nodes[n];
      load_.push_back(static_cast<double>(node.memory_used));
      disk_.push_back(static_cast<double>(node.disk_used));
      cap_.push_back(static_cast<double>(node.memory_total - node.reserve.memory));
      disk_cap_.push_back(static_cast<double>(node.disk_total - node.reserve.disk));
    }
    for (size_t g = 0; g < state.guests.size(); ++g) {
      const pb::Guest& guest = state.guests[g];
      if (guest.status != pb::GuestStatus::Running || guest.is_template || !guest.lock.empty()) continue;
      size_t n = node_index(state, guest.node);
      load_[n] -= static_cast<double>(guest.memory_used);
      disk_[n] -= static_cast<double>(guest.local_disk_bytes);
      guests_.push_back(g);
    }
    // Largest first: capacity cuts the tree early.
    std::sort(guests_.begin(), guests_.end(), [&](size_t a, size_t b) {
      return state.guests[a].memory_used > state.guests[b].memory_used;
    });
    node_of_.assign(guests_.size(), 0);
    usage_.resize(state.nodes.size());
  }

  double space() const { return std::pow(static_cast<double>(state_.nodes.size()), static_cast<double>(guests_.size())); }

  ExactResult run() {
    dfs(0);
    ExactResult result;
    if (best_.empty()) return result;  // nothing fits anywhere
    for (size_t k = 0; k < guests_.size(); ++k) result.placement.push_back({guests_[k], best_[k]});
    result.leaves = leaves_;
    return result;
  }

 private:
  void dfs(size_t k) {
    if (k == guests_.size()) return leaf();
    const pb::Guest& g = state_.guests[guests_[k]];
    double mem = static_cast<double>(g.memory_used), disk = static_cast<double>(g.local_disk_bytes);
    for (size_t n = 0; n < load_.size(); ++n) {
      if (load_[n] + mem > cap_[n] || (disk > 0 && disk_[n] + disk > disk_cap_[n])) continue;
      load_[n] += mem, disk_[n] += disk, node_of_[k] = n;
      dfs(k + 1);
      load_[n] -= mem, disk_[n] -= disk;
    }
  }

  void leaf() {
    leaves_ += 1;
    for (size_t n = 0; n < load_.size(); ++n) usage_[n] = load_[n] / cap_[n];
    double score = pb::imbalance_of(usage_);
    if (score < best_score_) best_score_ = score, best_ = node_of_;
  }

  const pb::ClusterState& state_;
  std::vector<double> load_, disk_, cap_, disk_cap_, usage_;
  std::vector<size_t> guests_, node_of_, best_;
  double best_score_ = std::numeric_limits<double>::infinity();
  double leaves_ = 0;
};

}  // namespace

std::optional<ExactResult> exact_optimum(const pb::ClusterState& state, double max_leaves) {
  Search search(state);
  if (search.space() > max_leaves) return std::nullopt;
  Stopwatch watch;
  ExactResult result = search.run();
  result.time = watch.elapsed();
  return result;
}

}  // namespace bench_balance
