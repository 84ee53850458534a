#include "balance/score.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cmath>
#include <map>
#include <memory>
#include <string_view>

namespace pvekit::balance {
namespace {

// root: std::sqrt(n - 1), which callers with a fixed n compute once.
double coefficient(double s1, double s2, int n, double root) {
  if (n < 2) return 0.0;
  double mean = s1 / n;
  if (mean <= 0.0) return 0.0;
  double variance = std::max(0.0, s2 / n - mean * mean);
  return std::sqrt(variance) / mean / root;
}

double coefficient(double s1, double s2, int n) {
  return coefficient(s1, s2, n, std::sqrt(static_cast<double>(std::max(1, n - 1))));
}

double capacity_or_zero(double total, double reserve) { return std::max(0.0, total - reserve); }

}  // namespace

double truncate_score(double value) {
  if (value == 0.0 || !std::isfinite(value)) return value;
  // Clearing the low mantissa bits truncates toward zero to kScoreBits
  // significant bits: as good as decimal digits for the purpose, and a mask
  // instead of log10/pow keeps it cheap in the planner's inner loop.
  constexpr uint64_t mask = ~((uint64_t{1} << (52 - kScoreBits)) - 1);
  return std::bit_cast<double>(std::bit_cast<uint64_t>(value) & mask);
}

double imbalance_of(const std::vector<double>& usage) {
  double s1 = 0, s2 = 0;
  for (double u : usage) s1 += u, s2 += u * u;
  return coefficient(s1, s2, static_cast<int>(usage.size()));
}

double spread_of(const std::vector<double>& usage_percent) {
  if (usage_percent.empty()) return 0.0;
  auto [lo, hi] = std::minmax_element(usage_percent.begin(), usage_percent.end());
  return *hi - *lo;
}

LoadModel::LoadModel(const ClusterState& state, const BalanceConfig& config) {
  // Filled here only: copies share it.
  auto f = std::make_shared<Fixed>();
  fixed_ = f;
  f->mode = config.balancing.mode;
  f->use_history = config.balancing.history.enable;
  const Weights& w = config.balancing.weights;
  double total = w.memory + w.cpu + w.disk;
  f->weights = {w.memory / total, w.cpu / total, w.disk / total};
  for (size_t r = 0; r < kResources; ++r)
    if (f->weights[r] > 0) f->active.push_back(r);
  size_t n = state.nodes.size();
  load_.assign(n, Vec3{});
  f->capacity.assign(n, Vec3{});
  f->factor.assign(n, Vec3{1.0, 1.0, 1.0});
  f->counted.assign(n, false);
  for (size_t i = 0; i < n; ++i) {
    const Node& node = state.nodes[i];
    f->counted[i] = node.online && !node.maintenance && !node.ignored;
    f->capacity[i] = {
        capacity_or_zero(static_cast<double>(node.memory_total), static_cast<double>(node.reserve.memory)),
        capacity_or_zero(node.cpus, node.reserve.cpus),
        capacity_or_zero(static_cast<double>(node.disk_total), static_cast<double>(node.reserve.disk))};
    if (f->mode == Mode::Psi && node.pressure)
      f->factor[i] = {1 + node.pressure->memory_some, 1 + node.pressure->cpu_some, 1 + node.pressure->io_some};
    if (f->mode != Mode::Assigned)
      load_[i] = {static_cast<double>(node.memory_used) * f->factor[i][kMemory],
                  node.cpu_usage * node.cpus * f->factor[i][kCpu],
                  static_cast<double>(node.disk_used) * f->factor[i][kDisk]};
  }
  std::map<std::string_view, size_t> index;
  for (size_t i = 0; i < n; ++i) index[state.nodes[i].name] = i;
  auto node_index = [&](const std::string& name) {
    auto it = index.find(name);
    return it == index.end() ? -1 : static_cast<int>(it->second);
  };
  for (const auto& g : state.guests) {
    if (f->mode == Mode::Assigned) {
      int at = node_index(g.planned_node());
      if (at < 0) continue;
      Vec3 c = contribution(g);
      for (size_t r = 0; r < kResources; ++r) load_[at][r] += c[r];
    } else if (g.planned_node() != g.node) {
      // The node figures still show a migrating guest where PVE lists it;
      // the balance is judged as it will be once the migration ends.
      int from = node_index(g.node), to = node_index(g.planned_node());
      Vec3 c = contribution(g);
      for (size_t r = 0; r < kResources; ++r) {
        if (from >= 0) load_[from][r] = std::max(0.0, load_[from][r] - c[r] * f->factor[from][r]);
        if (to >= 0) load_[to][r] += c[r] * f->factor[to][r];
      }
    }
  }
  for (size_t r : f->active) {
    int counted = 0;
    for (size_t i = 0; i < n; ++i) counted += f->counted[i] && f->capacity[i][r] > 0;
    f->roots[r] = std::sqrt(static_cast<double>(std::max(1, counted - 1)));
  }
  recompute();
}

Vec3 LoadModel::contribution(const Guest& g) const {
  double disk = static_cast<double>(g.local_disk_bytes);
  if (fixed_->mode == Mode::Assigned) return {static_cast<double>(g.memory_max), g.cpus * 1.0, disk};
  if (g.status != GuestStatus::Running) return {0.0, 0.0, disk};
  if (fixed_->use_history && g.history)
    return {static_cast<double>(g.history->memory_used), g.history->cpu_usage * g.cpus, disk};
  return {static_cast<double>(g.memory_used), g.cpu_usage * g.cpus, disk};
}

double LoadModel::term(size_t node, size_t r, double load) const {
  return load / fixed_->capacity[node][r];
}

void LoadModel::recompute() {
  weighted_.resize(load_.size());
  for (size_t i = 0; i < load_.size(); ++i) weighted_[i] = compute_weighted(i);
  sums_ = Sums{};
  terms_.resize(load_.size());
  for (size_t i = 0; i < load_.size(); ++i) {
    if (!fixed_->counted[i]) continue;
    for (size_t r : fixed_->active) {
      if (fixed_->capacity[i][r] <= 0) continue;
      double u = term(i, r, load_[i][r]);
      terms_[i][r] = u;
      sums_.s1[r] += u;
      sums_.s2[r] += u * u;
      sums_.n[r] += 1;
    }
  }
  imbalance_ = score(sums_);
}

double LoadModel::score(const Sums& sums) const {
  double total = 0.0;
  for (size_t r : fixed_->active)
    total += fixed_->weights[r] * coefficient(sums.s1[r], sums.s2[r], sums.n[r], fixed_->roots[r]);
  return truncate_score(100.0 * total);
}

double LoadModel::imbalance_after(int from, int to, const Vec3& contrib) const {
  Sums s = sums_;
  for (size_t r : fixed_->active) {
    for (int node : {from, to}) {
      if (node < 0 || !fixed_->counted[node] || fixed_->capacity[node][r] <= 0) continue;
      double sign = node == from ? -1.0 : 1.0;
      double before = terms_[node][r];
      double after = term(node, r, load_[node][r] + sign * contrib[r] * fixed_->factor[node][r]);
      s.s1[r] += after - before;
      s.s2[r] += after * after - before * before;
    }
  }
  return score(s);
}

double LoadModel::imbalance_after_swap(int from, int to, const Vec3& a, const Vec3& b) const {
  Vec3 net{};
  for (size_t r = 0; r < kResources; ++r) net[r] = a[r] - b[r];
  // Each node's load changes by the net amount scaled by its own psi factor.
  return imbalance_after(from, to, net);
}

void LoadModel::apply(int from, int to, const Vec3& contrib) {
  for (size_t r = 0; r < kResources; ++r) {
    if (from >= 0) load_[from][r] -= contrib[r] * fixed_->factor[from][r];
    if (to >= 0) load_[to][r] += contrib[r] * fixed_->factor[to][r];
  }
  // Recomputing the sums (O(nodes)) instead of updating them keeps rounding
  // errors from accumulating over hundreds of moves.
  recompute();
}

Vec3 LoadModel::usage(size_t node) const {
  Vec3 u{};
  for (size_t r = 0; r < kResources; ++r)
    u[r] = fixed_->capacity[node][r] > 0 ? load_[node][r] / fixed_->capacity[node][r] : 0.0;
  return u;
}

double LoadModel::weighted_share(size_t node, const Vec3& contrib) const {
  double total = 0.0;
  for (size_t r : fixed_->active)
    if (fixed_->capacity[node][r] > 0)
      total += fixed_->weights[r] * contrib[r] * fixed_->factor[node][r] / fixed_->capacity[node][r];
  return total;
}

double LoadModel::compute_weighted(size_t node) const {
  Vec3 u = usage(node);
  double total = 0.0;
  for (size_t r : fixed_->active) total += fixed_->weights[r] * u[r];
  return total;
}

Vec3 LoadModel::spread_by_resource() const {
  // Called by the planner's stop test after every step: min/max in place, no
  // allocation (same result as spread_of on the counted nodes' percentages).
  Vec3 out{};
  for (size_t r = 0; r < kResources; ++r) {
    bool any = false;
    double lo = 0.0, hi = 0.0;
    for (size_t i = 0; i < load_.size(); ++i) {
      if (!fixed_->counted[i] || fixed_->capacity[i][r] <= 0) continue;
      double p = 100.0 * term(i, r, load_[i][r]);
      lo = any ? std::min(lo, p) : p;
      hi = any ? std::max(hi, p) : p;
      any = true;
    }
    out[r] = hi - lo;
  }
  return out;
}

double LoadModel::spread() const {
  Vec3 by = spread_by_resource();
  double total = 0.0;
  for (size_t r : fixed_->active) total += fixed_->weights[r] * by[r];
  return truncate_score(total);
}

Vec3 LoadModel::max_usage_percent() const {
  Vec3 top{};
  for (size_t i = 0; i < load_.size(); ++i) {
    if (!fixed_->counted[i]) continue;
    Vec3 u = usage(i);
    for (size_t r = 0; r < kResources; ++r) top[r] = std::max(top[r], 100.0 * u[r]);
  }
  return top;
}

}  // namespace pvekit::balance
