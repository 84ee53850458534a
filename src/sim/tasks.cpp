#include "sim/tasks.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pvekit::sim {

std::string TaskList::start(const std::string& node, const std::string& type, const std::string& id,
                            const std::string& user, double now, double duration, std::vector<std::string> log,
                            TaskFinish finish) {
  pve::Upid upid;
  upid.node = node;
  upid.pid = next_pid_++;
  upid.pstart = static_cast<uint32_t>(std::fmod(now * 100, 4e9));
  upid.starttime = static_cast<uint32_t>(now);
  upid.type = type;
  upid.id = id;
  upid.user = user;
  Task task;
  task.upid = upid;
  task.id = upid.to_string();
  task.start = now;
  task.end = now + std::max(0.0, duration);
  task.log = std::move(log);
  task.finish = std::move(finish);
  std::string key = task.id;
  tasks_.emplace(key, std::move(task));
  order_.push_back(key);
  while (order_.size() > kMaxKept) {
    auto it = tasks_.find(order_.front());
    if (it != tasks_.end() && !it->second.finished) break;  // never drop running tasks
    if (it != tasks_.end()) tasks_.erase(it);
    order_.pop_front();
  }
  return key;
}

int TaskList::run_due(World& world, double now) {
  int done = 0;
  for (;;) {
    Task* due = nullptr;
    for (auto& [id, task] : tasks_) {
      if (!task.finished && task.end <= now && (!due || task.end < due->end)) due = &task;
    }
    if (!due) return done;
    const std::string id = due->id;
    std::vector<std::string> log;
    std::string status = due->finish ? due->finish(world, due->end, log) : "OK";
    // finish() may have started tasks; `due` is still valid (std::map nodes are stable).
    Task& task = tasks_.at(id);
    task.log.insert(task.log.end(), log.begin(), log.end());
    // PVE::RESTEnvironment::fork_worker: the error, chomped and on one line,
    // becomes the one "TASK ERROR: ..." line, the last of the log, which is
    // where the exit status is read from.
    while (!status.empty() && status.back() == '\n') status.pop_back();
    std::replace(status.begin(), status.end(), '\n', ' ');
    task.log.push_back(status == "OK" ? "TASK OK" : "TASK ERROR: " + status);
    task.exitstatus = status;
    task.finished = true;
    ++done;
  }
}

double TaskList::next_due() const {
  double next = std::numeric_limits<double>::infinity();
  for (const auto& [id, task] : tasks_) {
    if (!task.finished) next = std::min(next, task.end);
  }
  return next;
}

const Task* TaskList::find(const std::string& upid) const {
  auto it = tasks_.find(upid);
  return it == tasks_.end() ? nullptr : &it->second;
}

std::vector<const Task*> TaskList::list() const {
  std::vector<const Task*> out;
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
    if (const Task* t = find(*it)) out.push_back(t);
  }
  return out;
}

std::pair<std::string, std::string> TaskList::user_and_token(const Task& t) {
  const auto bang = t.upid.user.rfind('!');
  if (bang == std::string::npos) return {t.upid.user, ""};
  return {t.upid.user.substr(0, bang), t.upid.user.substr(bang + 1)};
}

namespace {

// pve-manager's PVE::API2::Tasks $convert_token_task: a task started with an
// API token shows its user and its token name apart.
void add_user(core::Json& j, const Task& t) {
  auto [user, token] = TaskList::user_and_token(t);
  j["user"] = user;
  if (!token.empty()) j["tokenid"] = token;
}

}  // namespace

core::Json TaskList::status_json(const Task& t) {
  core::Json j = {{"upid", t.id},         {"node", t.upid.node},      {"pid", t.upid.pid},
                  {"pstart", t.upid.pstart}, {"starttime", t.upid.starttime}, {"type", t.upid.type},
                  {"id", t.upid.id},      {"status", t.finished ? "stopped" : "running"}};
  add_user(j, t);
  if (t.finished) j["exitstatus"] = t.exitstatus;
  return j;
}

core::Json TaskList::list_entry(const Task& t) {
  core::Json j = {{"upid", t.id},   {"node", t.upid.node}, {"pid", t.upid.pid}, {"pstart", t.upid.pstart},
                  {"starttime", t.upid.starttime}, {"type", t.upid.type}, {"id", t.upid.id}};
  add_user(j, t);
  if (t.finished) {
    j["endtime"] = static_cast<int64_t>(t.end);
    j["status"] = t.exitstatus;
  }
  return j;
}

}  // namespace pvekit::sim
