#pragma once

#include <cstdint>

#include "balance/model.h"

namespace pvekit::balance {

// What the generator adds on top of plain nodes and guests. All fractions
// are probabilities per guest (or per node) in 0..1.
struct GeneratorOptions {
  size_t nodes = 5;
  size_t guests = 50;
  uint64_t seed = 1;
  bool rules = true;           // tags: affinity, anti-affinity, pins, ignore; locks; templates
  bool ha_rules = false;       // PVE HA node- and resource-affinity rules
  double stopped = 0.1;        // stopped guests
  double local_disks = 0.2;    // guests with local disks
  size_t maintenance_nodes = 0;
  size_t offline_nodes = 0;
  // Skew: guests land on the first nodes more often, so there is work to do.
  double skew = 0.5;
};

// A pure function of its options: the same options give the same cluster on
// every platform (its own splitmix64 generator, no std distributions). Node
// names are "node01".., vmids start at 100. Used by tests and benchmarks.
ClusterState generate_cluster(const GeneratorOptions& options);

}  // namespace pvekit::balance
