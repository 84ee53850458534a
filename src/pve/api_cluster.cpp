#include "pve/api.h"
#include "pve/api_internal.h"
#include "pve/json_fields.h"
#include "pve/params.h"

namespace pvekit::pve {

using core::Error;
using core::ErrorCategory;
using core::Json;

namespace detail {

core::Result<std::string> expect_upid(core::Result<Json> data, const std::string& context) {
  if (!data.ok()) return std::move(data).error();
  if (!data->is_string() || data->get_ref<const std::string&>().empty())
    return Error(ErrorCategory::Parse, "expected a task UPID, got " + core::json_type_name(*data))
        .wrap(context);
  return data->get<std::string>();
}

}  // namespace detail

std::string node_path(const std::string& node) { return "/nodes/" + encode_path_segment(node); }

std::string guest_path(const std::string& node, GuestType type, int64_t vmid) {
  return node_path(node) + "/" + std::string(to_string(type)) + "/" + std::to_string(vmid);
}

core::Result<Version> get_version(Client& client) {
  return detail::parse_answer(client.get("/version"), "GET /version", parse_version);
}

core::Result<ClusterStatus> get_cluster_status(Client& client) {
  return detail::parse_answer(client.get("/cluster/status"), "GET /cluster/status", parse_cluster_status);
}

core::Result<std::vector<ClusterResource>> get_cluster_resources(Client& client, ResourceFilter filter) {
  Params params;
  switch (filter) {
    case ResourceFilter::All: break;
    case ResourceFilter::Vm: params.set("type", "vm"); break;
    case ResourceFilter::Storage: params.set("type", "storage"); break;
    case ResourceFilter::Node: params.set("type", "node"); break;
    case ResourceFilter::Sdn: params.set("type", "sdn"); break;
  }
  return detail::parse_answer(client.get("/cluster/resources", params), "GET /cluster/resources",
                              parse_cluster_resources);
}

core::Result<int64_t> get_next_vmid(Client& client) {
  PVEKIT_ASSIGN(Json data, client.get("/cluster/nextid"));
  // PVE answers with a string ("100") although the schema says integer.
  Json wrapper = {{"id", data}};
  int64_t id = fields::int_or(wrapper, "id", -1);
  if (id < 100)
    return Error(ErrorCategory::Parse, "expected a vmid, got " + data.dump()).wrap("GET /cluster/nextid");
  return id;
}

core::Result<std::vector<Pool>> get_pools(Client& client) {
  return detail::parse_answer(client.get("/pools"), "GET /pools", parse_pools);
}

core::Result<std::vector<HaResource>> get_ha_resources(Client& client) {
  return detail::parse_answer(client.get("/cluster/ha/resources"), "GET /cluster/ha/resources",
                              parse_ha_resources);
}

core::Result<std::vector<HaRule>> get_ha_rules(Client& client, const std::string& type) {
  Params params;
  params.set_nonempty("type", type);
  return detail::parse_answer(client.get("/cluster/ha/rules", params), "GET /cluster/ha/rules",
                              parse_ha_rules);
}

core::Result<HaManagerStatus> get_ha_manager_status(Client& client) {
  const std::string path = "/cluster/ha/status/manager_status";
  return detail::parse_answer(client.get(path), "GET " + path, parse_ha_manager_status);
}

core::Result<CrsOptions> get_crs_options(Client& client) {
  return detail::parse_answer(client.get("/cluster/options"), "GET /cluster/options", parse_crs_options);
}

core::Result<HaMigrateResult> ha_migrate(Client& client, const std::string& sid, const std::string& node) {
  const std::string path = "/cluster/ha/resources/" + encode_path_segment(sid) + "/migrate";
  return detail::parse_answer(client.post(path, Params{{"node", node}}), "POST " + path,
                              parse_ha_migrate_result);
}

}  // namespace pvekit::pve
