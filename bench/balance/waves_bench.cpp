// Timing of the waves' order search at its worst (not part of ctest): a
// 50-node / 10,000-guest cluster whose net moves hold a swap of two 12 GiB
// guests between two nearly full nodes, with no node that could hold either
// while it waits, beside 500 small moves that fit in any order. The greedy
// waves leave the swap out, and both passes of the order search (without,
// then with parking) spend their whole budget before giving up.
//   bench_waves
// Prints the median of 5 runs of detail::schedule and of the greedy waves
// alone (a plan whose moves all fit). Figure: docs/balancing.md, "Order search".
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "balance/search.h"

using namespace pvekit::balance;

namespace {

constexpr size_t kNodes = 50, kPerNode = 200, kSmallMoves = 500;

ClusterState cluster() {
  ClusterState s;
  for (size_t n = 0; n < kNodes; ++n) {
    Node node;
    node.name = "node" + std::to_string(n);
    node.cpus = 1000;
    node.memory_total = 100 * kGiB;
    node.disk_total = 1024 * kGiB;
    s.nodes.push_back(node);
  }
  uint32_t vmid = 100;
  auto add = [&](size_t n, uint64_t bytes) {
    Guest g;
    g.vmid = vmid++;
    g.name = "vm" + std::to_string(g.vmid);
    g.node = s.nodes[n].name;
    g.memory_max = g.memory_used = bytes;
    g.cpus = 1;
    s.nodes[n].memory_used += bytes;
    s.guests.push_back(g);
  };
  // Nodes 0 and 1: a 12 GiB guest and 2.5 GiB free; the others 10 GiB free.
  for (size_t n = 0; n < kNodes; ++n) {
    const bool full = n < 2;
    if (full) add(n, 12 * kGiB);
    for (size_t i = full ? 1 : 0; i < kPerNode; ++i) add(n, (full ? 85 * kGiB / 190 : 90 * kGiB / 200));
  }
  return s;
}

double median_ms(const std::function<void()>& run) {
  std::vector<double> ms;
  for (int r = 0; r < 5; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    run();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[2];
}

}  // namespace

int main() {
  const ClusterState state = cluster();
  BalanceConfig config;
  const Constraints c = Constraints::compile(state, config);
  std::vector<detail::Step> small;
  for (size_t i = 0; i < kSmallMoves; ++i) {
    size_t guest = 2 * kPerNode + 1 + i * 7;
    int from = c.node_of(guest), to = 2 + static_cast<int>((static_cast<size_t>(from) + 1 + i) % (kNodes - 2));
    if (to == from) to = 2 + (to - 1) % static_cast<int>(kNodes - 2);
    small.push_back({guest, c.unit_of(guest), from, to, MoveReason::Balance, 1.0, 0.1});
  }
  std::vector<detail::Step> swap = small;
  swap.insert(swap.begin(), {{0, c.unit_of(0), 0, 1, MoveReason::Balance, 1.0, 0.1},
                             {kPerNode, c.unit_of(kPerNode), 1, 0, MoveReason::Balance, 1.0, 0.1}});
  size_t dropped = 0, scheduled = 0;
  double greedy = median_ms([&] { scheduled = detail::schedule(c, small, config).steps.size(); });
  double search = median_ms([&] { dropped = detail::schedule(c, swap, config).dropped.size(); });
  std::printf("%zu guests on %zu nodes: greedy waves for %zu moves %.1f ms; with an unorderable swap "
              "(%zu moves left out after the order search) %.1f ms\n",
              state.guests.size(), state.nodes.size(), scheduled, greedy, dropped, search);
  return 0;
}
