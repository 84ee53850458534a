#include "sim/simulator.h"

#include "sim/views.h"

namespace pvekit::sim {

Simulator::Simulator(Cluster cluster, core::Clock& clock)
    : clock_(clock), auth_(cluster.access.users), next_due_(std::numeric_limits<double>::infinity()) {
  world_.cluster = std::move(cluster);
}

double Simulator::now() const { return clock_.now_unix() + offset_.load(); }

void Simulator::advance(double seconds) {
  double cur = offset_.load();
  while (!offset_.compare_exchange_weak(cur, cur + seconds)) {
  }
}

void Simulator::tick() {
  const double t = now();
  if (t < next_due_.load()) return;
  write([&](World& w) { return w.tasks.run_due(w, t); });
}

void Simulator::changed() {
  ++world_.version;
  version_.store(world_.version);
  next_due_.store(world_.tasks.next_due());
}

std::shared_ptr<const LiveView> Simulator::live(const World& world) {
  const double t = status_time(now());
  std::lock_guard lock(cache_mutex_);
  if (live_ && live_->version == world.version && live_->time == t) return live_;
  auto view = std::make_shared<LiveView>();
  view->version = world.version;
  view->time = t;
  view->guests.reserve(world.cluster.guests.size());
  for (const Node& n : world.cluster.nodes) view->by_node[n.name];
  for (const auto& [vmid, g] : world.cluster.guests) {
    view->by_node[g.node].push_back(&g);
    view->guests.emplace(vmid, sample_guest(g, world.cluster.seed, t));
  }
  for (const Node& n : world.cluster.nodes) {
    view->nodes.emplace(n.name, sample_node(n, view->by_node[n.name], world.cluster.seed, t));
  }
  live_ = view;
  return live_;
}

std::shared_ptr<const std::string> Simulator::resources_json(const World& world, const std::string& type) {
  auto view = live(world);
  const std::pair<uint64_t, double> key{view->version, view->time};
  auto cached = [&]() -> std::shared_ptr<const std::string> {
    std::lock_guard lock(cache_mutex_);
    auto it = resources_.find(type);
    return it != resources_.end() && it->second.first == key ? it->second.second : nullptr;
  };
  if (auto body = cached()) return body;
  // One render at a time: when the interval turns over, every connection
  // misses at once, and N parallel renders of a 10,000-guest list would
  // starve the machine; the waiters take the fresh result instead.
  std::lock_guard render(render_mutex_);
  if (auto body = cached()) return body;
  auto body = std::make_shared<const std::string>(cluster_resources_body(world, *view, type, view->time));
  std::lock_guard lock(cache_mutex_);
  resources_[type] = {key, body};
  return body;
}

}  // namespace pvekit::sim
