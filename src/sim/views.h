#pragma once

#include <string>

#include "core/json.h"
#include "sim/simulator.h"

namespace pvekit::sim {

// JSON renderings of the world in PVE 9.1's shapes. All take the world under
// the caller's lock and the live figures of the current status interval.
// Booleans are rendered 0/1 and numbers as numbers, as PVE does.

// /cluster/resources; `type` is "", vm, storage, node or sdn and keeps
// exactly those entries; without it pool and network entries come too.
core::Json cluster_resources(const World& w, const LiveView& live, const std::string& type, double now);
// The same as the complete response body {"data":[...]}, written directly for
// speed (10,000 guests); parses to the same JSON as cluster_resources().
std::string cluster_resources_body(const World& w, const LiveView& live, const std::string& type, double now);
core::Json cluster_status(const World& w);
core::Json nodes_list(const World& w, const LiveView& live, const std::string& fingerprint, double now);
core::Json node_status(const Node& node, const LiveView& live, double now);
core::Json version_info();

core::Json guest_list_entry(const World& w, const Guest& g, const LiveView& live, double now, bool full);
core::Json guest_status(const World& w, const Guest& g, const LiveView& live, double now);
// The config as GET .../config shows it; `digest` is PVE's: the SHA-1 (40
// lower-case hex digits) of config_file_text().
core::Json guest_config(const Guest& g);
// The guest's config file as PVE would write it (main section, then one
// "[snapshot]" section per snapshot).
std::string config_file_text(const Guest& g);
core::Json snapshot_list(const Guest& g);

core::Json storage_config_list(const World& w, const std::string& type_filter);
core::Json node_storage_list(const World& w, const std::string& node, const std::string& content_filter,
                             double now);
core::Json storage_content(const World& w, const std::string& node, const Storage& s, const std::string& content,
                           int vmid);

core::Json pools_list(const World& w);
core::Json pool_detail(const World& w, const Pool& p, const LiveView& live, double now, const std::string& type);

core::Json ha_resources(const World& w, const std::string& type);
core::Json ha_rules(const World& w, const std::string& type, const std::string& resource);
core::Json ha_groups(const World& w);
// GET /nodes/{node}/network: the node's interfaces; `type` as PVE's filter
// (an interface type, any_bridge, any_local_bridge or include_sdn).
core::Json node_network(const Node& node, const std::string& type);
core::Json access_domains();
core::Json ha_status_current(const World& w, double now);
core::Json ha_manager_status(const World& w, double now);

// A storage's use on a node at `now` (as its status shows it): the guests'
// volumes on it plus its other volumes (templates, ISOs, uploads).
uint64_t storage_used(const World& w, const Storage& s, const std::string& node, double now);
std::vector<const Guest*> guests_on_storage(const World& w, const Storage& s, const std::string& node);
uint64_t storage_volumes(const World& w, const Storage& s, const std::string& node);

}  // namespace pvekit::sim
