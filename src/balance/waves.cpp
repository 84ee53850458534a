#include <algorithm>
#include <set>

#include "balance/search.h"

namespace pvekit::balance::detail {
namespace {

class WaveBuilder {
 public:
  WaveBuilder(const Constraints& c, const BalanceConfig& config)
      : c_(c),
        per_node_(config.balancing.parallel ? config.balancing.parallel_jobs : 1),
        parallel_(config.balancing.parallel),
        fit_(c.node_count()),
        node_(c.guest_count()) {
    for (size_t n = 0; n < c.node_count(); ++n) fit_[n] = c.initial_load(n);
    for (size_t g = 0; g < c.guest_count(); ++g) node_[g] = c.node_of(g);
    open_wave();
  }

  void add(size_t index, const Step& step) {
    if (!waves_.back().empty() && !fits_wave(step)) {
      close_wave();
      open_wave();
    }
    waves_.back().push_back(index);
    steps_.push_back(step);
    incoming_[step.to] = incoming_[step.to] + c_.need(step.guest);
    ++jobs_[step.to];
    if (step.from >= 0) ++jobs_[step.from];
    moving_.insert(step.guest);
    arrivals_.push_back(step);
  }

  std::vector<std::vector<size_t>> finish() {
    if (waves_.back().empty()) waves_.pop_back();
    return std::move(waves_);
  }

 private:
  bool fits_wave(const Step& s) const {
    if (!parallel_) return false;
    if (moving_.count(s.guest)) return false;
    if (jobs_[s.to] >= per_node_ || (s.from >= 0 && jobs_[s.from] >= per_node_)) return false;
    if (!Constraints::fits(fit_[s.to] + incoming_[s.to], c_.need(s.guest), c_.limit(s.to)))
      return false;
    return anti_ok(s);
  }

  // Units of `group` present on `node` at the wave start or arriving in this
  // wave, other than `unit` itself.
  int present(size_t group, size_t node, size_t unit) const {
    std::set<size_t> units;
    for (size_t u : c_.anti_groups()[group].units) {
      if (u == unit) continue;
      for (size_t m : c_.units()[u].members)
        if (node_[m] == static_cast<int>(node)) units.insert(u);
    }
    for (const Step& a : arrivals_)
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
    waves_.emplace_back();
    incoming_.assign(c_.node_count(), Amount{});
    jobs_.assign(c_.node_count(), 0);
    moving_.clear();
    arrivals_.clear();
  }

  void close_wave() {
    for (size_t i : waves_.back()) {
      const Step& s = steps_[i];
      if (s.from >= 0) {
        fit_[s.from].memory -= c_.need(s.guest).memory;
        fit_[s.from].cpus -= c_.need(s.guest).cpus;
        fit_[s.from].disk -= c_.need(s.guest).disk;
      }
      fit_[s.to] = fit_[s.to] + c_.need(s.guest);
      node_[s.guest] = s.to;
    }
  }

  const Constraints& c_;
  int per_node_;
  bool parallel_;
  std::vector<Amount> fit_;
  std::vector<int> node_;
  std::vector<Step> steps_;
  std::vector<std::vector<size_t>> waves_;
  std::vector<Amount> incoming_;
  std::vector<int> jobs_;
  std::set<size_t> moving_;
  std::vector<Step> arrivals_;
};

}  // namespace

std::vector<std::vector<size_t>> build_waves(const Constraints& constraints,
                                             const std::vector<Step>& steps,
                                             const BalanceConfig& config) {
  WaveBuilder builder(constraints, config);
  for (size_t i = 0; i < steps.size(); ++i) builder.add(i, steps[i]);
  return builder.finish();
}

}  // namespace pvekit::balance::detail
