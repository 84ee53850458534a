#include <spdlog/spdlog.h>

#include "pve/api.h"
#include "pve/api_internal.h"
#include "pve/upid.h"

namespace pvekit::pve {

using core::Error;
using core::ErrorCategory;

namespace {

core::Result<std::string> task_path(const std::string& upid) {
  PVEKIT_ASSIGN(Upid parsed, parse_upid(upid));
  return node_path(parsed.node) + "/tasks/" + encode_path_segment(upid);
}

}  // namespace

core::Result<std::vector<TaskStatus>> get_cluster_tasks(Client& client) {
  return detail::parse_answer(client.get("/cluster/tasks"), "GET /cluster/tasks", parse_task_list);
}

core::Result<TaskStatus> get_task_status(Client& client, const std::string& upid) {
  PVEKIT_ASSIGN(std::string path, task_path(upid));
  path += "/status";
  return detail::parse_answer(client.get(path), "GET " + path, parse_task_status);
}

core::Result<std::vector<TaskLogLine>> get_task_log(Client& client, const std::string& upid,
                                                    int64_t start, int64_t limit) {
  PVEKIT_ASSIGN(std::string path, task_path(upid));
  path += "/log";
  Params params;
  params.set("start", start).set("limit", limit);
  return detail::parse_answer(client.get(path, params), "GET " + path, parse_task_log);
}

core::Result<TaskStatus> wait_task(Client& client, const std::string& upid, const WaitOptions& options) {
  const std::string context = "task " + upid;
  core::Clock& clock = client.clock();
  const auto deadline = clock.monotonic() + options.timeout;
  for (;;) {
    auto status = get_task_status(client, upid);
    if (!status.ok()) return std::move(status).error().wrap(context);
    if (!status->running()) {
      if (status->succeeded()) return status;
      std::string text = status->exitstatus.empty() ? "task failed without an exit status" : status->exitstatus;
      spdlog::warn("pve: task {} failed: {}", upid, text);
      return Error(ErrorCategory::Api, text).wrap(context);
    }
    auto now = clock.monotonic();
    if (now >= deadline) {
      auto secs = std::chrono::duration_cast<std::chrono::seconds>(options.timeout).count();
      return Error(ErrorCategory::Api, "still running after " + std::to_string(secs) + " s").wrap(context);
    }
    clock.sleep_for(std::min(options.poll_interval, deadline - now));
  }
}

}  // namespace pvekit::pve
