#include "balance/planner.h"

#include <algorithm>
#include <optional>

#include "balance/search.h"
#include "core/strings.h"

namespace pvekit::balance {
namespace {

Move to_move(const ClusterState& state, const detail::Step& step, const BalanceConfig& config) {
  const Guest& g = state.guests[step.guest];
  bool running = g.status == GuestStatus::Running;
  Move m;
  m.vmid = g.vmid;
  m.name = g.name;
  m.type = g.type;
  m.from = step.from >= 0 ? state.nodes[step.from].name : g.node;
  m.to = state.nodes[step.to].name;
  m.reason = step.reason;
  m.online = running && config.balancing.live;
  m.memory_bytes = running ? g.memory_used : 0;
  m.local_disk_bytes = g.local_disk_bytes;
  m.gain = step.gain;
  m.cost = step.cost;
  return m;
}

void fill_moves(Plan& plan, const ClusterState& state, const std::vector<detail::Step>& steps,
                const std::vector<std::vector<size_t>>& waves, const BalanceConfig& config) {
  for (size_t w = 0; w < waves.size(); ++w) {
    std::vector<size_t> wave;
    for (size_t i : waves[w]) {
      Move m = to_move(state, steps[i], config);
      m.wave = w;
      plan.bytes_moved += m.memory_bytes + m.local_disk_bytes;
      wave.push_back(plan.moves.size());
      plan.moves.push_back(std::move(m));
    }
    plan.waves.push_back(std::move(wave));
  }
}

// Clusters up to this many guests are planned a second time when the first
// plan leaves rules broken (plan()); a run there takes a few milliseconds.
constexpr size_t kSecondAttemptGuests = 1000;

// One run of the search and the waves of its moves.
struct Attempt {
  detail::Search search;
  detail::Schedule schedule;
  size_t misses = 0;  // required moves left unresolved or without an order
};

Attempt attempt(const Constraints& constraints, const BalanceConfig& config, bool making_room) {
  detail::Search search(constraints, config);
  search.repair(making_room);
  search.balance();
  search.retry();
  search.prune();
  detail::Schedule schedule = detail::schedule(constraints, search.steps(), config);
  size_t misses = search.unresolved().size();
  for (const auto& s : schedule.dropped) misses += s.reason != MoveReason::Balance;
  return {std::move(search), std::move(schedule), misses};
}

}  // namespace

std::string_view to_string(MoveReason reason) {
  switch (reason) {
    case MoveReason::Evacuate: return "evacuate";
    case MoveReason::Affinity: return "affinity";
    case MoveReason::Pin: return "pin";
    case MoveReason::AntiAffinity: return "anti-affinity";
    case MoveReason::Balance: return "balance";
    case MoveReason::Parking: return "parking";
    case MoveReason::MakeRoom: return "make-room";
  }
  return "unknown";
}

ClusterState normalized(ClusterState state) {
  std::sort(state.nodes.begin(), state.nodes.end(),
            [](const Node& a, const Node& b) { return a.name < b.name; });
  std::sort(state.guests.begin(), state.guests.end(),
            [](const Guest& a, const Guest& b) { return a.vmid < b.vmid; });
  return state;
}

namespace {

bool is_normalized(const ClusterState& s) {
  return std::is_sorted(s.nodes.begin(), s.nodes.end(),
                        [](const Node& a, const Node& b) { return a.name < b.name; }) &&
         std::is_sorted(s.guests.begin(), s.guests.end(),
                        [](const Guest& a, const Guest& b) { return a.vmid < b.vmid; });
}

}  // namespace

Plan plan(const ClusterState& input, const BalanceConfig& config) {
  // Copying 10,000 guests costs more than the search; skip it when possible.
  std::optional<ClusterState> copy;
  if (!is_normalized(input)) copy = normalized(input);
  const ClusterState& state = copy ? *copy : input;
  const Constraints constraints = Constraints::compile(state, config);
  const LoadModel before(state, config);
  Attempt first = attempt(constraints, config, false);
  // Repairs made before balancing, without making room, can take the place
  // a later required move needed (an anti-affinity member moves to the only
  // node where a guest pushed aside for a pin could go, and the two then
  // swap with nowhere to wait): the planner tries again making room from
  // the first repair on, and keeps that plan when it leaves fewer rules
  // broken. That second run costs as much as the first: small clusters
  // only, so that 10,000 guests still plan within the time budget.
  std::optional<Attempt> again;
  if (first.misses > 0 && state.guests.size() <= kSecondAttemptGuests) {
    again.emplace(attempt(constraints, config, true));
    if (again->misses >= first.misses) again.reset();
  }
  detail::Search& search = again ? again->search : first.search;
  const detail::Schedule& schedule = again ? again->schedule : first.schedule;
  // Moves no safe order was found for are left out (rare): the plan then
  // predicts the state its moves reach.
  std::optional<LoadModel> replayed;
  if (!schedule.dropped.empty()) {
    replayed.emplace(before);
    for (const auto& s : schedule.steps)
      replayed->apply(s.from, s.to, replayed->contribution(state.guests[s.guest]));
  }
  const LoadModel& after = replayed ? *replayed : search.load();

  Plan plan;
  fill_moves(plan, state, schedule.steps, schedule.waves, config);
  for (const Guest& g : state.guests)
    if (g.migration) plan.running.push_back({g.vmid, *g.migration});
  plan.imbalance_before = before.imbalance();
  plan.imbalance_after = after.imbalance();
  plan.spread_before = before.spread();
  plan.spread_after = after.spread();
  plan.balanciness = config.balancing.balanciness;
  plan.balancing_needed = search.triggered();
  for (size_t n = 0; n < state.nodes.size(); ++n)
    plan.nodes.push_back({state.nodes[n].name, before.usage(n), after.usage(n)});
  plan.conflicts = constraints.conflicts();
  plan.unresolved = std::move(search.unresolved());
  for (const auto& s : schedule.dropped) {
    if (s.reason == MoveReason::Balance) continue;
    const Guest& g = state.guests[s.guest];
    plan.unresolved.push_back({"guest " + std::to_string(g.vmid), {g.vmid},
                               "guest " + std::to_string(g.vmid) + ": no order of the plan's moves lets it reach " +
                                   state.nodes[s.to].name + " with room at every step"});
  }
  return plan;
}

namespace {

// Nodes hosting members of the request's anti-affinity groups are out; with
// an affinity group that already has members, only their nodes are in.
void apply_group_tags(const Constraints& c, const PlacementRequest& request, NodeSet& allowed) {
  auto anti = anti_affinity_groups(request.tags);
  auto with = affinity_groups(request.tags);
  NodeSet together(c.node_count());
  bool has_together = false;
  for (size_t g = 0; g < c.guest_count(); ++g) {
    int node = c.node_of(g);
    if (node < 0) continue;
    const auto& tags = c.state().guests[g].tags;
    for (const auto& name : anti_affinity_groups(tags))
      if (std::find(anti.begin(), anti.end(), name) != anti.end()) allowed.reset(node);
    for (const auto& name : affinity_groups(tags))
      if (std::find(with.begin(), with.end(), name) != with.end()) {
        together.set(node);
        has_together = true;
      }
  }
  if (has_together) allowed &= together;
}

}  // namespace

core::Result<std::string> best_node(const ClusterState& input, const BalanceConfig& config,
                                    const PlacementRequest& request) {
  const ClusterState state = normalized(input);
  const Constraints c = Constraints::compile(state, config);
  const LoadModel load(state, config);
  NodeSet allowed = c.allowed_for(request.tags, request.pool);
  apply_group_tags(c, request, allowed);
  // A new guest is assumed to use all it is given (it has no history yet).
  Vec3 contrib{static_cast<double>(request.memory), static_cast<double>(request.cpus),
               static_cast<double>(request.disk)};
  Amount need{static_cast<double>(request.memory), static_cast<double>(request.cpus),
              static_cast<double>(request.disk)};
  int best = -1;
  std::pair<double, double> best_key;
  for (size_t n = 0; n < c.node_count(); ++n) {
    if (!allowed.test(n) || !Constraints::fits(c.initial_load(n), need, c.limit(n))) continue;
    std::pair<double, double> key{load.imbalance_after(-1, static_cast<int>(n), contrib),
                                  truncate_score(load.weighted_usage(n))};
    if (best < 0 || key < best_key) best = static_cast<int>(n), best_key = key;
  }
  if (best < 0) {
    return core::Error(core::ErrorCategory::Rules,
                       "no node can take a guest with " + core::format_bytes(static_cast<double>(request.memory)) +
                           " memory, " + std::to_string(request.cpus) + " cpus and " +
                           core::format_bytes(static_cast<double>(request.disk)) +
                           " local disk under its tags and pool (" +
                           std::to_string(allowed.count()) + " nodes allowed by rules)");
  }
  return state.nodes[best].name;
}

}  // namespace pvekit::balance
