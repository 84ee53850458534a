#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/json.h"
#include "pve/upid.h"

namespace pvekit::sim {

struct World;

// What a task does when its simulated duration is over: changes the world and
// returns the exit status ("OK" or the error text). It may append log lines;
// the final "TASK OK" / "TASK ERROR: <status>" line is added by the TaskList.
using TaskFinish = std::function<std::string(World& world, double now, std::vector<std::string>& log)>;

struct Task {
  pve::Upid upid;
  std::string id;  // the UPID string
  double start = 0;
  double end = 0;  // planned end, simulated Unix seconds
  bool finished = false;
  std::string exitstatus;  // empty while running
  std::vector<std::string> log;
  TaskFinish finish;
};

// All tasks of the cluster, running and finished (the newest kMaxKept are kept).
class TaskList {
 public:
  static constexpr size_t kMaxKept = 5000;

  // Starts a task on `node` of `type` for `id` by `user`, lasting `duration`
  // simulated seconds; returns its UPID string.
  std::string start(const std::string& node, const std::string& type, const std::string& id, const std::string& user,
                    double now, double duration, std::vector<std::string> log, TaskFinish finish);

  // Runs the finish actions of every task due at `now` (in end-time order);
  // returns how many finished. Finish actions may start new tasks.
  int run_due(World& world, double now);
  // Earliest end of a running task; +inf when none runs.
  double next_due() const;

  const Task* find(const std::string& upid) const;
  // Newest first.
  std::vector<const Task*> list() const;

  // The UPID's user split as PVE's task API shows it: ("user@realm", "")
  // or, for an API token, ("user@realm", "tokenname").
  static std::pair<std::string, std::string> user_and_token(const Task& task);

  // PVE's JSON forms (user and tokenid apart).
  static core::Json status_json(const Task& task);
  static core::Json list_entry(const Task& task);

 private:
  std::map<std::string, Task> tasks_;
  std::deque<std::string> order_;  // oldest first
  uint32_t next_pid_ = 100000;
};

}  // namespace pvekit::sim
