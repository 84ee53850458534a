// /nodes, /nodes/{node}/{status,version,rrddata,tasks}.
#include <algorithm>

#include "core/strings.h"
#include "pve/upid.h"
#include "sim/api.h"
#include "sim/views.h"

namespace pvekit::sim {
namespace {

using core::Error;
using core::ErrorCategory;
using core::Json;
using core::Result;

Result<Reply> node_status_route(Ctx& c) {
  return Reply(node_status(*c.world.cluster.find_node(c.node()), *c.sim.live(c.world), c.now));
}

Result<Reply> node_rrd_route(Ctx& c) {
  auto live = c.sim.live(c.world);
  const auto& guests = live->by_node.at(c.node());
  return Reply(node_rrd(*c.world.cluster.find_node(c.node()), guests, c.world.cluster.seed, c.now,
                        c.str("timeframe"), c.str("cf") == "MAX"));
}

Error upid_error(const std::string& message) {
  return Error(ErrorCategory::Api, "Parameter verification failed.").with_http_status(400).with_detail("upid", message);
}

// The task of the request's UPID on its node: nullptr for a well-formed UPID
// of no task there (PVE looks for the UPID's log file on the node the request
// is for), PVE's parameter error for a malformed one.
Result<const Task*> find_task(Ctx& c) {
  const std::string upid = c.str("upid");
  if (!pve::parse_upid(upid).ok()) return upid_error("unable to parse worker upid");
  const Task* t = c.world.tasks.find(upid);
  return t && t->upid.node == c.node() ? t : nullptr;
}

// PVE::API2::Tasks read_task_status: "no such task" when the log file is missing.
Result<Reply> task_status(Ctx& c) {
  PVEKIT_ASSIGN(const Task* t, find_task(c));
  if (!t) return upid_error("no such task");
  if (!task_visible(c.access, *t)) return permission_denied("/nodes/" + c.node() + ", Sys.Audit");
  return Reply(TaskList::status_json(*t));
}

Result<Reply> task_log(Ctx& c) {
  PVEKIT_ASSIGN(const Task* t, find_task(c));
  // read_task_log does not check the file; PVE::Tools::dump_logfile answers
  // with one line when it cannot open it.
  if (!t) return Reply(Json::array({{{"n", 1}, {"t", "unable to open file - No such file or directory"}}}));
  if (!task_visible(c.access, *t)) return permission_denied("/nodes/" + c.node() + ", Sys.Audit");
  const int64_t start = param_int(c.params, "start", 0);
  const int64_t limit = param_int(c.params, "limit", 50);
  Json out = Json::array();
  for (int64_t i = start; i < static_cast<int64_t>(t->log.size()) && (limit <= 0 || i < start + limit); ++i) {
    out.push_back({{"n", i + 1}, {"t", t->log[static_cast<size_t>(i)]}});
  }
  if (out.empty() && !t->finished && start == 0) out.push_back({{"n", 1}, {"t", "no content"}});
  return Reply(out);
}

bool task_matches(const Ctx& c, const Task& t) {
  if (t.upid.node != c.node()) return false;
  if (c.params.count("vmid") && t.upid.id != c.str("vmid")) return false;
  // As PVE::API2::Tasks node_tasks: the type exactly, the user (without
  // its token name) as a case-insensitive substring (m/\Q$userfilter\E/i).
  if (c.params.count("typefilter") && t.upid.type != c.str("typefilter")) return false;
  if (c.params.count("userfilter") &&
      core::to_lower(TaskList::user_and_token(t).first).find(core::to_lower(c.str("userfilter"))) ==
          std::string::npos) {
    return false;
  }
  if (param_bool(c.params, "errors") && (!t.finished || t.exitstatus == "OK")) return false;
  const std::string source = c.str("source", "archive");
  if (source == "active" && t.finished) return false;
  if (source == "archive" && !t.finished) return false;
  if (c.params.count("since") && t.start < static_cast<double>(param_int(c.params, "since"))) return false;
  if (c.params.count("until") && t.start > static_cast<double>(param_int(c.params, "until"))) return false;
  if (c.params.count("statusfilter")) {
    const std::string state = !t.finished ? "running" : (t.exitstatus == "OK" ? "ok" : "error");
    const auto wanted = core::split(c.str("statusfilter"), ',', true);
    if (std::find(wanted.begin(), wanted.end(), state) == wanted.end()) return false;
  }
  return true;
}

Result<Reply> node_tasks(Ctx& c) {
  const int64_t start = param_int(c.params, "start", 0);
  const int64_t limit = param_int(c.params, "limit", 50);
  Json out = Json::array();
  int64_t index = 0;
  for (const Task* t : c.world.tasks.list()) {
    if (!task_matches(c, *t) || !task_visible(c.access, *t)) continue;
    if (index++ < start) continue;
    if (static_cast<int64_t>(out.size()) >= limit) break;
    out.push_back(TaskList::list_entry(*t));
  }
  return Reply(out);
}

}  // namespace

std::vector<Route> node_routes() {
  return {
      {"GET", "/nodes", {},
       [](Ctx& c) -> Result<Reply> {
         return Reply(visible_entries(c.access, nodes_list(c.world, *c.sim.live(c.world), c.sim.fingerprint(), c.now)));
       }},
      {"GET", "/nodes/{node}/status", {p_node()}, node_status_route},
      {"GET", "/nodes/{node}/network",
       {p_node(), p_enum("type", {"bridge", "bond", "eth", "alias", "vlan", "fabric", "OVSBridge", "OVSBond",
                                  "OVSPort", "OVSIntPort", "vnet", "any_bridge", "any_local_bridge", "include_sdn"})},
       [](Ctx& c) -> Result<Reply> {
         return Reply(node_network(*c.world.cluster.find_node(c.node()), c.str("type")));
       }},
      {"GET", "/nodes/{node}/version", {p_node()}, [](Ctx&) -> Result<Reply> { return Reply(version_info()); }},
      {"GET", "/nodes/{node}/rrddata",
       {p_node(), p_enum("timeframe", {"hour", "day", "week", "month", "year", "decade"}, true),
        p_enum("cf", {"AVERAGE", "MAX"})},
       node_rrd_route},
      {"GET", "/nodes/{node}/tasks",
       {p_node(), p_bool("errors"), p_int("limit", false, 0), p_int("since"), p_enum("source", {"archive", "active", "all"}),
        p_int("start", false, 0), p_str("statusfilter"), p_str("typefilter"), p_int("until"), p_str("userfilter"),
        p_int("vmid", false, 100, 999999999)},
       node_tasks},
      {"GET", "/nodes/{node}/tasks/{upid}/status", {p_node(), p_str("upid", true)}, task_status},
      {"GET", "/nodes/{node}/tasks/{upid}/log",
       {p_node(), p_str("upid", true), p_bool("download"), p_int("limit", false, 0), p_int("start", false, 0)},
       task_log},
  };
}

}  // namespace pvekit::sim
