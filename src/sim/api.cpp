#include "sim/api.h"

#include <chrono>
#include <thread>

#include <algorithm>

#include "core/strings.h"

namespace pvekit::sim {
namespace {

using core::Error;
using core::ErrorCategory;
using core::Json;

Error http_error(int status, const std::string& message, ErrorCategory cat = ErrorCategory::Api) {
  return Error(cat, message).with_http_status(status);
}

// Takes one unit off the fail-next-requests counter, if any is left.
bool take_failure(std::atomic<int>& counter) {
  int cur = counter.load();
  while (cur > 0) {
    if (counter.compare_exchange_weak(cur, cur - 1)) return true;
  }
  return false;
}

// {"METHOD /path": permissions} of every method of PVE's API schema.
const Json& schema_permissions() {
  static const Json table = Json::parse(
#include "sim/schema_permissions.inc"
  );
  return table;
}

}  // namespace

bool task_visible(const PermissionEnv& access, const Task& task) {
  const std::string& owner = task.upid.user;
  if (owner == access.subject || subject_user(owner) == access.subject) return true;
  return access.allowed("/nodes/" + task.upid.node, {"Sys.Audit"});
}

namespace {

bool entry_visible(const PermissionEnv& access, Json& e) {
  const std::string type = e.value("type", "");
  if (type == "qemu" || type == "lxc") return access.allowed("/vms/" + std::to_string(e.value("vmid", 0)), {"VM.Audit"});
  if (type == "node") {
    if (!access.allowed("/nodes/" + e.value("node", ""), {"Sys.Audit"})) {
      for (const char* k : {"uptime", "maxcpu", "cpu", "mem", "maxmem", "disk", "maxdisk"}) e.erase(k);
    }
    return true;
  }
  if (type == "sdn" || type == "network") {
    return access.allowed("/sdn/zones/" + e.value("sdn", e.value("zone", "localnetwork")), {"SDN.Audit", "SDN.Allocate"},
                          true);
  }
  if (type == "pool") return access.allowed("/pool/" + e.value("pool", ""), {"Pool.Audit"});
  if (e.contains("storage")) {
    return access.allowed("/storage/" + e.value("storage", ""), {"Datastore.Audit", "Datastore.AllocateSpace"}, true);
  }
  if (e.contains("poolid")) return access.allowed("/pool/" + e.value("poolid", ""), {"Pool.Audit"});
  return true;
}

}  // namespace

Json visible_entries(const PermissionEnv& access, Json list) {
  if (sees_everything(access)) return list;
  Json out = Json::array();
  for (Json& e : list) {
    if (entry_visible(access, e)) out.push_back(std::move(e));
  }
  return out;
}

bool sees_everything(const PermissionEnv& access) {
  if (access.subject == "root@pam") return true;
  if (subject_user(access.subject) != "root@pam") return false;
  const User* root = access.access.find_user("root@pam");
  if (!root) return false;
  const std::string name = access.subject.substr(access.subject.find('!') + 1);
  return std::any_of(root->tokens.begin(), root->tokens.end(),
                     [&](const ApiToken& t) { return t.id == name && !t.privsep; });
}

PoolMembers pool_members(const Cluster& cluster) {
  PoolMembers out;
  // Members matter only through ACLs on pools; without any, skip the walk
  // over every guest (every request pays for this).
  const auto& acl = cluster.access.acl;
  if (std::none_of(acl.begin(), acl.end(), [](const AclEntry& e) { return core::starts_with(e.path, "/pool/"); })) {
    return out;
  }
  for (const auto& [vmid, g] : cluster.guests) {
    if (!g.pool.empty()) out["/vms/" + std::to_string(vmid)] = g.pool;
  }
  for (const Pool& p : cluster.pools) {
    for (const std::string& s : p.storages) out["/storage/" + s] = p.id;
  }
  return out;
}

std::string reason_phrase(std::string_view message) {
  return http::safe_reason(message.substr(0, message.find('\n')));
}

ApiResponse json_response(const Json& data) {
  Json envelope = {{"data", data}};
  return {200, "OK", envelope.dump()};
}

ApiResponse error_response(const Error& error) {
  int status = error.http_status();
  if (status == 0) status = error.category() == ErrorCategory::Auth ? 401 : 500;
  Json body = {{"data", nullptr}};
  if (status == 400 && !error.details().empty()) {
    body["message"] = "Parameter verification failed.\n";
    body["errors"] = error.details();
    return {400, "Parameter verification failed.", body.dump()};
  }
  body["message"] = error.message() + "\n";
  return {status, reason_phrase(error.message()), body.dump()};
}

Api::Api(Simulator& sim) : sim_(sim) {
  for (auto* table : {&access_routes, &user_routes, &cluster_routes, &node_routes, &guest_routes, &storage_routes, &ha_routes}) {
    for (Route& r : (*table)()) routes_.push_back(std::move(r));
  }
  const Json& table = schema_permissions();
  for (const Route& r : routes_) {
    segments_.push_back(core::split(r.path, '/', true));
    auto it = table.find(r.method + " " + r.path);
    permissions_.push_back(it == table.end() ? Json(nullptr) : *it);
  }
}

Api::Match Api::match(const std::string& method, const std::string& path) const {
  const auto parts = core::split(path, '/', true);
  Match best;
  for (size_t i = 0; i < routes_.size(); ++i) {
    const auto& segs = segments_[i];
    // PVE volume ids ("local:vztmpl/x.tar.gz") contain '/', and the decoded
    // path splits them: a trailing {volume} takes the rest of the path.
    const bool tail = !segs.empty() && segs.back() == "{volume}";
    if (routes_[i].method != method || segs.size() > parts.size() || (!tail && segs.size() != parts.size())) continue;
    Params captured;
    bool ok = true;
    for (size_t k = 0; k < segs.size() && ok; ++k) {
      if (tail && k + 1 == segs.size()) {
        captured["volume"] = core::join(std::vector<std::string>(parts.begin() + static_cast<long>(k), parts.end()), "/");
      } else if (segs[k].size() > 2 && segs[k].front() == '{') {
        captured[segs[k].substr(1, segs[k].size() - 2)] = parts[k];
      } else {
        ok = segs[k] == parts[k];
      }
    }
    // Literal segments win over placeholders: take the match with fewest captures.
    if (ok && (!best.route || captured.size() < best.path_params.size())) best = {&routes_[i], std::move(captured)};
  }
  return best;
}

core::Result<Identity> Api::authenticate(const Route& route, const ApiRequest& req) const {
  if (route.public_route) return Identity{};
  if (auto it = req.headers.find("authorization"); it != req.headers.end()) {
    return sim_.auth().verify_api_token(it->second);
  }
  auto cookie = req.cookies.find("PVEAuthCookie");
  if (cookie == req.cookies.end() || cookie->second.empty()) return http_error(401, "No ticket", ErrorCategory::Auth);
  const double now = sim_.now();
  PVEKIT_ASSIGN(std::string user, sim_.auth().verify_ticket(cookie->second, now));
  if (req.method != "GET") {
    auto csrf = req.headers.find("csrfpreventiontoken");
    if (csrf == req.headers.end() || !sim_.auth().verify_csrf(csrf->second, user, now)) {
      return http_error(401, "Permission denied - invalid csrf token", ErrorCategory::Auth);
    }
  }
  return Identity{user, "", true};
}

ApiResponse Api::handle(const ApiRequest& req) {
  sim_.api_requests().fetch_add(1, std::memory_order_relaxed);
  RequestFaults& faults = sim_.request_faults();
  if (int delay = faults.delay_ms.load(); delay > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay));
  if (faults.path_matches(req.path) && take_failure(faults.fail_requests)) {
    if (faults.hang.load()) std::this_thread::sleep_for(std::chrono::milliseconds(faults.hang_ms.load()));
    return error_response(http_error(500, "simulated failure (pvesim fault injection)", ErrorCategory::Internal));
  }
  sim_.tick();
  Match m = match(req.method, req.path);
  if (!m.route) return error_response(http_error(501, "Method '" + req.method + " " + req.path + "' not implemented"));
  auto who = authenticate(*m.route, req);
  if (!who.ok()) return error_response(who.error());
  Params params = req.params;
  params.erase("_dc");  // ExtJS cache buster, ignored by PVE too
  for (auto& [k, v] : m.path_params) params[k] = v;
  return dispatch(*m.route, req, std::move(params), *who);
}

ApiResponse Api::dispatch(const Route& route, const ApiRequest& req, Params params, const Identity& who) {
  auto errors = validate_params(route.params, params);
  if (!errors.empty()) {
    Error e(ErrorCategory::Api, "Parameter verification failed.");
    e.with_http_status(400);
    for (auto& [k, v] : errors) e.with_detail(k, v);
    return error_response(e);
  }
  const bool node_scoped = core::starts_with(route.path, "/nodes/{node}");
  const bool writes = req.method != "GET";
  auto run = [&](World& world) -> core::Result<Reply> {
    if (node_scoped) {
      // PVE serves "localhost" itself, never proxying it (pve-manager's
      // PVE::HTTPServer: $node ne 'localhost' && $node ne nodename()), and
      // its handlers then act on the local node.
      if (const Node* local = world.cluster.local_node(); local && params.at("node") == "localhost") {
        params["node"] = local->name;
      }
      const Node* n = world.cluster.find_node(params.at("node"));
      const std::string& name = params.at("node");
      if (!n) {
        return http_error(500, "hostname lookup '" + name + "' failed - failed to get address info for: " + name +
                                   ": Name or service not known");
      }
      if (!n->online) return http_error(595, "No route to host", ErrorCategory::Transport);
    }
    if (writes && !route.public_route && !world.cluster.quorate) {
      return http_error(500, "cluster not ready - no quorum?", ErrorCategory::Conflict);
    }
    const bool root = who.upid_user() == "root@pam";
    const PoolMembers pools = root ? PoolMembers{} : pool_members(world.cluster);
    const PermissionEnv access{world.cluster.access, pools, route.public_route ? "" : who.upid_user()};
    PVEKIT_TRY(check_api_permissions(permissions_[static_cast<size_t>(&route - routes_.data())], access, params));
    Ctx ctx{sim_, world, params, who, sim_.now(), req.upload, access};
    return route.handler(ctx);
  };
  // GET handlers never change the world; they get it under the shared lock.
  core::Result<Reply> result = writes ? sim_.write(run)
                                      : sim_.read([&](const World& w) { return run(const_cast<World&>(w)); });
  if (!result.ok()) return error_response(result.error());
  if (result->raw) return {200, "OK", "", result->raw};
  return json_response(result->data);
}

Json Api::route_table() const {
  Json out = Json::array();
  for (const Route& r : routes_) {
    Json names = Json::array(), specs = Json::object();
    for (const ParamSpec& p : r.params) {
      names.push_back(p.name);
      Json spec = {{"type", to_string(p.type)}};
      if (p.minimum) spec["minimum"] = *p.minimum;
      if (p.maximum) spec["maximum"] = *p.maximum;
      specs[p.name] = spec;
    }
    out.push_back({{"method", r.method}, {"path", r.path}, {"parameters", names}, {"specs", specs}});
  }
  return out;
}

}  // namespace pvekit::sim
