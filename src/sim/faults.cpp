// The /_sim admin interface: fault injection and simulated-time control.
// Unauthenticated on purpose: pvesim is a test tool bound to loopback by
// default (run_app refuses other addresses unless --allow-remote-admin), and
// tests must be able to break it without credentials; --admin-token-file
// makes it require a bearer token.
#include <cmath>
#include <limits>

#include "core/strings.h"
#include "http/auth.h"
#include "sim/api.h"

namespace pvekit::sim {
namespace {

using core::Error;
using core::ErrorCategory;
using core::Json;

// The admin interface checks its parameters as the API does (params.h) and
// refuses bad ones with PVE's parameter error: 400, `errors` naming each.
// Counts and durations are held in int: their limit is INT_MAX.
std::optional<ApiResponse> refused(const std::vector<ParamSpec>& specs, const Params& params) {
  Error e(ErrorCategory::Usage, "Parameter verification failed.");
  e.with_http_status(400);
  for (const ParamSpec& spec : specs) {
    auto it = params.find(spec.name);
    if (it == params.end()) {
      if (!spec.optional) e.with_detail(spec.name, "property is missing and it is not optional");
    } else if (auto message = check_param(spec, it->second)) {
      e.with_detail(spec.name, *message);
    }
  }
  if (e.details().empty()) return std::nullopt;
  return error_response(e);
}

constexpr int64_t kIntMax = std::numeric_limits<int>::max();

ApiResponse set_node_online(Simulator& sim, const std::string& name, bool online) {
  const bool found = sim.write([&](World& w) {
    Node* n = w.cluster.find_node(name);
    if (n) n->online = online;
    return n != nullptr;
  });
  if (!found) return error_response(Error(ErrorCategory::NotFound, "no such node '" + name + "'").with_http_status(404));
  return json_response({{"node", name}, {"online", online ? 1 : 0}});
}

ApiResponse fail_requests(Simulator& sim, const Params& p) {
  if (auto bad = refused({p_int("count", false, 0, kIntMax), p_enum("mode", {"500", "hang"}),
                          p_int("hang_ms", false, 0, kIntMax)},
                         p)) {
    return *bad;
  }
  const int64_t count = param_int(p, "count", 1);
  const std::string mode = param_str(p, "mode", "500");
  RequestFaults& f = sim.request_faults();
  f.set_path_filter(param_str(p, "path"));
  f.hang.store(mode == "hang");
  f.hang_ms.store(static_cast<int>(param_int(p, "hang_ms", 30000)));
  f.fail_requests.store(static_cast<int>(count));
  return json_response({{"count", count}, {"mode", mode}, {"path", param_str(p, "path")}});
}

ApiResponse state(Simulator& sim) {
  RequestFaults& f = sim.request_faults();
  return sim.read([&](const World& w) {
    Json offline = Json::array();
    for (const Node& n : w.cluster.nodes) {
      if (!n.online) offline.push_back(n.name);
    }
    Json fail_migration = Json::object();
    for (const auto& [vmid, msg] : w.faults.fail_migration) fail_migration[std::to_string(vmid)] = msg;
    Json fail_task(w.faults.fail_task);
    return json_response({{"now", sim.now()}, {"version", w.version}, {"quorate", w.cluster.quorate ? 1 : 0},
                          {"offline_nodes", offline}, {"fail_requests", f.fail_requests.load()},
                          {"fail_mode", f.hang.load() ? "hang" : "500"}, {"delay_ms", f.delay_ms.load()},
                          {"fail_migration", fail_migration}, {"fail_task", fail_task},
                          {"guests", w.cluster.guests.size()}, {"api_requests", sim.api_requests().load()}});
  });
}

ApiResponse reset(Simulator& sim) {
  RequestFaults& f = sim.request_faults();
  f.fail_requests.store(0);
  f.hang.store(false);
  f.delay_ms.store(0);
  f.set_path_filter("");
  sim.write([](World& w) {
    for (Node& n : w.cluster.nodes) n.online = true;
    w.cluster.quorate = true;
    w.faults.fail_migration.clear();
    w.faults.fail_task.clear();
    return 0;
  });
  return json_response(nullptr);
}

}  // namespace

namespace {

// A guest's load profile changed at run time (a spike or a lasting shift in
// a test); only the fields given change.
ApiResponse set_guest_load(Simulator& sim, const std::string& vmid_text, const Params& params) {
  if (auto bad = refused({p_vmid()}, {{"vmid", vmid_text}})) return *bad;
  const std::vector<ParamSpec> fractions = {p_num("cpu", 0, 1), p_num("cpu_amp", 0, 1), p_num("mem", 0, 1),
                                            p_num("mem_amp", 0, 1), p_num("noise", 0, 1)};
  if (auto bad = refused(fractions, params)) return *bad;
  const int vmid = static_cast<int>(param_int({{"vmid", vmid_text}}, "vmid"));
  auto load = sim.write([&](World& w) -> std::optional<LoadProfile> {
    Guest* g = w.cluster.find_guest(vmid);
    if (!g) return std::nullopt;
    for (auto [name, field] : {std::pair{"cpu", &LoadProfile::cpu}, {"cpu_amp", &LoadProfile::cpu_amp},
                               {"mem", &LoadProfile::mem}, {"mem_amp", &LoadProfile::mem_amp},
                               {"noise", &LoadProfile::noise}}) {
      if (params.count(name)) g->load.*field = param_num(params, name);
    }
    return g->load;
  });
  if (!load) {
    return error_response(
        Error(ErrorCategory::NotFound, "Configuration file 'nodes/*/" + vmid_text + ".conf' does not exist")
            .with_http_status(500));
  }
  return json_response({{"vmid", vmid}, {"cpu", load->cpu}, {"cpu_amp", load->cpu_amp}, {"mem", load->mem},
                        {"mem_amp", load->mem_amp}, {"noise", load->noise}});
}

}  // namespace

ApiResponse Api::handle_admin(const ApiRequest& req) {
  if (!admin_token_.empty() && !http::bearer_token_matches(req.headers, admin_token_)) {
    return error_response(
        Error(ErrorCategory::Auth, "permission denied - /_sim/ requires 'Authorization: Bearer <admin token>'")
            .with_http_status(401));
  }
  const auto parts = core::split(req.path, '/', true);  // "/_sim/..." without the prefix
  const std::string& m = req.method;
  if (m == "GET" && parts.size() == 1 && parts[0] == "state") return state(sim_);
  if (m != "POST") return error_response(Error(ErrorCategory::Api, "Method '" + m + " /_sim" + req.path + "' not implemented").with_http_status(501));
  if (parts.size() == 3 && parts[0] == "node" && (parts[2] == "offline" || parts[2] == "online")) {
    return set_node_online(sim_, parts[1], parts[2] == "online");
  }
  if (parts.size() == 2 && parts[0] == "quorum" && (parts[1] == "lost" || parts[1] == "ok")) {
    sim_.write([&](World& w) { return w.cluster.quorate = parts[1] == "ok"; });
    return json_response({{"quorate", parts[1] == "ok" ? 1 : 0}});
  }
  if (parts.size() == 1 && parts[0] == "fail-requests") return fail_requests(sim_, req.params);
  if (parts.size() == 2 && parts[0] == "fail-migration") {
    if (auto bad = refused({p_vmid()}, {{"vmid", parts[1]}})) return *bad;
    const int vmid = static_cast<int>(param_int({{"vmid", parts[1]}}, "vmid"));
    const std::string msg = param_str(req.params, "message", "simulated migration failure");
    sim_.write([&](World& w) { return w.faults.fail_migration[vmid] = msg; });
    return json_response({{"vmid", vmid}, {"message", msg}});
  }
  if (parts.size() == 3 && parts[0] == "guest" && parts[2] == "load") return set_guest_load(sim_, parts[1], req.params);
  if (parts.size() == 2 && parts[0] == "fail-task") {
    const std::string msg = param_str(req.params, "message", "simulated task failure");
    sim_.write([&](World& w) { return w.faults.fail_task[parts[1]] = msg; });
    return json_response({{"type", parts[1]}, {"message", msg}});
  }
  if (parts.size() == 1 && parts[0] == "delay") {
    if (auto bad = refused({p_int("ms", false, 0, kIntMax)}, req.params)) return *bad;
    const int64_t ms = param_int(req.params, "ms", 0);
    sim_.request_faults().delay_ms.store(static_cast<int>(ms));
    return json_response({{"delay_ms", ms}});
  }
  if (parts.size() == 1 && parts[0] == "advance") {
    // Simulated time stays below 2^32: UPID start times have 8 hex digits.
    const auto room = static_cast<int64_t>(std::floor(4294967295.0 - sim_.now()));
    ParamSpec seconds = p_num("seconds", 0, std::max<int64_t>(0, room));
    seconds.optional = false;
    if (auto bad = refused({seconds}, req.params)) return *bad;
    sim_.advance(param_num(req.params, "seconds"));
    sim_.tick();
    return json_response({{"now", sim_.now()}});
  }
  if (parts.size() == 1 && parts[0] == "reset") return reset(sim_);
  return error_response(Error(ErrorCategory::Api, "Method '" + m + " /_sim" + req.path + "' not implemented").with_http_status(501));
}

}  // namespace pvekit::sim
