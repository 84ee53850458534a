#include "pve/api.h"
#include "pve/api_internal.h"

namespace pvekit::pve {

core::Result<std::vector<NodeSummary>> get_nodes(Client& client) {
  return detail::parse_answer(client.get("/nodes"), "GET /nodes", parse_nodes);
}

core::Result<NodeStatus> get_node_status(Client& client, const std::string& node) {
  const std::string path = node_path(node) + "/status";
  return detail::parse_answer(client.get(path), "GET " + path, parse_node_status);
}

core::Result<std::vector<Guest>> list_guests(Client& client, const std::string& node, GuestType type) {
  const std::string path = node_path(node) + "/" + std::string(to_string(type));
  return detail::parse_answer(client.get(path), "GET " + path,
                              [type](const core::Json& data) { return parse_guests(data, type); });
}

core::Result<GuestConfig> get_guest_config(Client& client, const std::string& node, GuestType type,
                                           int64_t vmid) {
  const std::string path = guest_path(node, type, vmid) + "/config";
  return detail::parse_answer(client.get(path), "GET " + path, parse_guest_config);
}

core::Result<Guest> get_guest_status(Client& client, const std::string& node, GuestType type, int64_t vmid) {
  const std::string path = guest_path(node, type, vmid) + "/status/current";
  return detail::parse_answer(client.get(path), "GET " + path, [type](const core::Json& data) -> core::Result<Guest> {
    PVEKIT_ASSIGN(auto guests, parse_guests(core::Json::array({data}), type));
    return guests.front();
  });
}

namespace {

core::Result<std::vector<RrdRow>> rrddata(Client& client, const std::string& path, Timeframe timeframe,
                                          Consolidation cf) {
  Params params{{"timeframe", std::string(to_string(timeframe))}, {"cf", std::string(to_string(cf))}};
  return detail::parse_answer(client.get(path, params), "GET " + path, parse_rrddata);
}

}  // namespace

core::Result<std::vector<RrdRow>> get_node_rrddata(Client& client, const std::string& node,
                                                   Timeframe timeframe, Consolidation cf) {
  return rrddata(client, node_path(node) + "/rrddata", timeframe, cf);
}

core::Result<std::vector<RrdRow>> get_storage_rrddata(Client& client, const std::string& node,
                                                      const std::string& storage, Timeframe timeframe,
                                                      Consolidation cf) {
  return rrddata(client, node_path(node) + "/storage/" + encode_path_segment(storage) + "/rrddata", timeframe, cf);
}

core::Result<std::vector<RrdRow>> get_guest_rrddata(Client& client, const std::string& node,
                                                    GuestType type, int64_t vmid, Timeframe timeframe,
                                                    Consolidation cf) {
  return rrddata(client, guest_path(node, type, vmid) + "/rrddata", timeframe, cf);
}

}  // namespace pvekit::pve
