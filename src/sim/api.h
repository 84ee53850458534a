#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/result.h"
#include "http/server.h"
#include "sim/auth.h"
#include "sim/params.h"
#include "sim/perm_check.h"
#include "sim/simulator.h"

namespace pvekit::sim {

// A request as the HTTP layer hands it over: path below /api2/json (or the
// /_sim admin path), query and body parameters merged, header names lower-case.
struct ApiRequest {
  std::string method;
  std::string path;
  Params params;
  std::map<std::string, std::string> headers;
  std::map<std::string, std::string> cookies;
  std::string upload;  // the multipart file part, if any
};

// The answer: HTTP status, reason phrase (PVE puts error messages there) and
// the JSON body.
struct ApiResponse {
  int status = 200;
  std::string reason = "OK";
  std::string body;
  // When set, the body is this shared, immutable string instead (caches).
  std::shared_ptr<const std::string> shared_body;

  const std::string& text() const { return shared_body ? *shared_body : body; }
};

// What a handler returns: JSON data, or an already serialised complete body
// {"data": ...} (caches).
struct Reply {
  Reply(core::Json d) : data(std::move(d)) {}  // NOLINT: implicit by design
  Reply(std::shared_ptr<const std::string> r) : raw(std::move(r)) {}  // NOLINT
  core::Json data;
  std::shared_ptr<const std::string> raw;
};

// Everything a handler sees. `world` is locked shared for GET routes and
// exclusively for the others.
struct Ctx {
  Simulator& sim;
  World& world;
  const Params& params;
  const Identity& who;
  double now;
  std::string_view upload;  // the uploaded file (ApiRequest::upload)
  // The caller's privileges, for handlers that filter by them (PVE lists
  // only the guests one may VM.Audit, ...).
  const PermissionEnv& access;

  const std::string& node() const { return params.at("node"); }
  int vmid() const { return static_cast<int>(param_int(params, "vmid")); }
  std::string str(const std::string& name, const std::string& fallback = "") const {
    return param_str(params, name, fallback);
  }
};

using Handler = std::function<core::Result<Reply>(Ctx&)>;

// One served route: method, path template ("/nodes/{node}/status") and its
// parameters as the PVE schema names them (path placeholders included).
struct Route {
  std::string method;
  std::string path;
  std::vector<ParamSpec> params;
  Handler handler;
  bool public_route = false;  // no authentication (POST /access/ticket)
};

// Route tables by area (routes_*.cpp).
std::vector<Route> access_routes();
std::vector<Route> user_routes();
std::vector<Route> cluster_routes();
std::vector<Route> node_routes();
std::vector<Route> guest_routes();
std::vector<Route> storage_routes();
std::vector<Route> ha_routes();

// The PVE API over a Simulator, without sockets: routing, authentication,
// CSRF, parameter verification, node proxying (offline nodes), quorum,
// request faults, the {"data": ...} envelope and PVE's error shapes.
class Api {
 public:
  explicit Api(Simulator& sim);

  // A request below /api2/json.
  ApiResponse handle(const ApiRequest& req);
  // A request below /_sim (the fault / admin interface): unauthenticated,
  // or with `Authorization: Bearer <token>` once set_admin_token was given one.
  ApiResponse handle_admin(const ApiRequest& req);
  // Requires this bearer token on /_sim; empty: none required.
  void set_admin_token(std::string token) { admin_token_ = std::move(token); }

  // [{method, path, parameters: [names], specs: {name: {type, minimum?,
  // maximum?}}}] for --list-routes.
  core::Json route_table() const;

 private:
  struct Match {
    const Route* route = nullptr;
    Params path_params;
  };
  Match match(const std::string& method, const std::string& path) const;
  core::Result<Identity> authenticate(const Route& route, const ApiRequest& req) const;
  ApiResponse dispatch(const Route& route, const ApiRequest& req, Params params, const Identity& who);

  Simulator& sim_;
  std::string admin_token_;  // never logged
  std::vector<Route> routes_;
  std::vector<std::vector<std::string>> segments_;  // split path templates, parallel to routes_
  // The schema's `permissions` of each route, parallel to routes_ (null:
  // none listed, root@pam only).
  std::vector<core::Json> permissions_;
};

// PVE's rule for a task's status, log and list entries: its owner (a user
// also sees its tokens' tasks) or whoever holds Sys.Audit on /nodes/<node>.
bool task_visible(const PermissionEnv& access, const Task& task);

// Whether the caller's view of listings needs no filtering: root@pam and
// its tokens without privilege separation.
bool sees_everything(const PermissionEnv& access);

// PVE's filtering of /cluster/resources, /nodes, /storage and /pools
// entries: guests need VM.Audit on /vms/<vmid>, storages Datastore.Audit or
// Datastore.AllocateSpace on /storage/<id>, pools Pool.Audit, SDN zones
// SDN.Audit; nodes are always listed, with their figures only for Sys.Audit
// on /nodes/<node> (stripped from `entry` otherwise). Keeps the visible
// entries of `list`.
core::Json visible_entries(const PermissionEnv& access, core::Json list);

// Roles pool members inherit: "/vms/<vmid>" and "/storage/<id>" -> pool;
// empty while no ACL names a pool.
PoolMembers pool_members(const Cluster& cluster);

// Response helpers shared by the dispatcher and the admin interface.
ApiResponse json_response(const core::Json& data);
// PVE's error shapes: 400 with `errors` for parameter errors, otherwise the
// error's status (500 by default, 401 for Auth) and its message; the reason
// phrase is reason_phrase(message).
ApiResponse error_response(const core::Error& error);

// The HTTP reason phrase PVE sends for `message` (pve-http-server's
// PVE::APIServer::AnyEvent::response takes its first line), made safe for a
// status line by http::safe_reason (control characters become spaces, cut
// on a UTF-8 character boundary to kMaxReasonBytes). Messages can echo
// client input.
inline constexpr size_t kMaxReasonBytes = http::kMaxReasonBytes;
std::string reason_phrase(std::string_view message);

}  // namespace pvekit::sim
