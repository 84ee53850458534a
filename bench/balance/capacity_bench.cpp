// Timing of proxlb capacity's pure computation (not part of ctest): the
// statistics, forecasts of every node and the cluster, and both N+1 (or N+k)
// failover verdicts for a generated 50-node / 10,000-guest cluster with a
// month of 30-minute history per node (1,440 rows).
//   bench_capacity [--failures K] [--no-ha-rules]
// Prints the median of 5 runs. Figure: docs/capacity.md, "Performance".
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "balance/capacity.h"
#include "balance/generator.h"

using namespace pvekit::balance;

int main(int argc, char** argv) {
  int failures = 1;
  bool ha_rules = true;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--failures") == 0 && i + 1 < argc) failures = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--no-ha-rules") == 0) ha_rules = false;
  }
  const ClusterState state = generate_cluster({.nodes = 50, .guests = 10000, .seed = 7, .ha_rules = ha_rules});
  std::map<std::string, NodeHistory> history;
  const double now = 1'800'000'000;
  for (const auto& n : state.nodes) {
    NodeHistory h;
    for (int r = 0; r < 1440; ++r) {
      const double t = now - (1440 - r) * 1800.0, d = (t - now) / 86400;
      const double f = 0.5 + 0.002 * d + 0.05 * std::cos(2 * M_PI * d);
      h.memory.push_back({t, f * static_cast<double>(n.memory_total)});
      h.cpu.push_back({t, 0.3 * n.cpus * (1 + 0.2 * std::sin(2 * M_PI * d))});
    }
    history[n.name] = std::move(h);
  }
  CapacityOptions options;
  options.failover.failures = failures;
  const WhatIfResult same{.state = state, .notes = {}, .unplaced = {}};
  std::vector<double> ms;
  for (int run = 0; run < 5; ++run) {
    auto start = std::chrono::steady_clock::now();
    auto report = build_capacity_report(state, history, same, BalanceConfig{}, options);
    auto end = std::chrono::steady_clock::now();
    if (!report) {
      std::fprintf(stderr, "error: %s\n", report.error().to_string().c_str());
      return 1;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("capacity report, 50 nodes / 10000 guests (%s HA rules), month of history, N+%d: median %.0f ms "
              "(min %.0f, max %.0f)\n",
              ha_rules ? "with" : "without", failures, ms[2], ms.front(), ms.back());
  return 0;
}
