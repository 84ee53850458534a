#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "sim/model.h"
#include "sim/tasks.h"

namespace pvekit::sim {

// State-level faults injected through the /_sim admin interface (request
// faults live in Simulator, see faults.h).
struct Faults {
  std::map<int, std::string> fail_migration;  // vmid -> error of its next migration
};

// Everything the simulator mutates, guarded as one unit by Simulator.
struct World {
  Cluster cluster;
  TaskList tasks;
  Faults faults;
  uint64_t version = 0;  // bumped on every change; keys the response caches
};

}  // namespace pvekit::sim
