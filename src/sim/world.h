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
  // task type (vzcreate, vzstart, imgcopy, ...) -> error of the next such task
  std::map<std::string, std::string> fail_task;

  // The injected error for the next task of `type` ("" when none), consumed.
  std::string take_task_failure(const std::string& type) {
    auto it = fail_task.find(type);
    if (it == fail_task.end()) return "";
    std::string message = it->second;
    fail_task.erase(it);
    return message;
  }
};

// Everything the simulator mutates, guarded as one unit by Simulator.
struct World {
  Cluster cluster;
  TaskList tasks;
  Faults faults;
  uint64_t version = 0;  // bumped on every change; keys the response caches
};

}  // namespace pvekit::sim
