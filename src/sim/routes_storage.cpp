// /nodes/{node}/storage...
#include "sim/actions.h"
#include "sim/api.h"
#include "sim/dynamics.h"
#include "sim/views.h"

namespace pvekit::sim {
namespace {

using core::Error;
using core::ErrorCategory;
using core::Json;
using core::Result;

Result<const Storage*> storage_on(Ctx& c) {
  const Storage* s = c.world.cluster.find_storage(c.str("storage"));
  if (!s || !c.world.cluster.storage_on_node(*s, c.node())) {
    return Error(ErrorCategory::NotFound, "storage '" + c.str("storage") + "' does not exist").with_http_status(500);
  }
  return s;
}

Result<Reply> content(Ctx& c) {
  PVEKIT_ASSIGN(const Storage* s, storage_on(c));
  return Reply(storage_content(c.world, c.node(), *s, c.str("content"), c.params.count("vmid") ? c.vmid() : 0));
}

// pve-manager's API2::Storage::Status rrddata reads the storage's RRD file
// on the node without checking the storage: an unknown one is an RRD error.
Result<Reply> rrddata(Ctx& c) {
  const Storage* s = c.world.cluster.find_storage(c.str("storage"));
  if (!s || !c.world.cluster.storage_on_node(*s, c.node())) {
    return Error(ErrorCategory::NotFound, "RRD error: opening '/var/lib/rrdcached/db/pve-storage-9.0/" + c.node() +
                                              "/" + c.str("storage") + "': No such file or directory")
        .with_http_status(500);
  }
  return Reply(storage_rrd(s->total, storage_volumes(c.world, *s, c.node()), guests_on_storage(c.world, *s, c.node()),
                           c.now, c.str("timeframe"), c.str("cf") == "MAX"));
}

Result<Reply> upload(Ctx& c) {
  PVEKIT_ASSIGN(std::string upid, upload_volume(c.world, c.node(), c.str("storage"), c.str("content"),
                                                c.str("filename"), c.upload, c.who.upid_user(), c.now));
  return Reply(Json(upid));
}

// PVE::API2::Storage::Content delete: Datastore.Allocate on the volume's
// storage (pvesim keeps no backups, whose owners could use AllocateSpace).
Result<Reply> remove_volume(Ctx& c) {
  const std::string volume = c.str("volume");
  const auto colon = volume.find(':');
  const std::string sid = colon == std::string::npos ? c.str("storage") : volume.substr(0, colon);
  PVEKIT_TRY(c.access.require("/storage/" + sid, {"Datastore.Allocate"}));
  PVEKIT_ASSIGN(std::string upid, delete_volume(c.world, c.node(), c.str("storage"), c.str("volume"),
                                                c.who.upid_user(), c.now));
  return Reply(Json(upid));
}

}  // namespace

std::vector<Route> storage_routes() {
  return {
      {"GET", "/nodes/{node}/storage",
       {p_node(), p_str("content"), p_bool("enabled"), p_bool("format"), p_str("storage"), p_str("target")},
       [](Ctx& c) -> Result<Reply> {
         Json list = visible_entries(c.access, node_storage_list(c.world, c.node(), c.str("content"), c.now));
         if (c.params.count("storage")) {
           Json filtered = Json::array();
           for (auto& s : list) {
             if (s["storage"] == c.str("storage")) filtered.push_back(s);
           }
           list = filtered;
         }
         return Reply(list);
       }},
      {"GET", "/nodes/{node}/storage/{storage}/content",
       {p_node(), p_str("storage", true), p_str("content"), p_int("vmid", false, 100, 999999999)}, content},
      {"GET", "/nodes/{node}/storage/{storage}/rrddata",
       {p_node(), p_str("storage", true), p_enum("timeframe", {"hour", "day", "week", "month", "year"}, true),
        p_enum("cf", {"AVERAGE", "MAX"})},
       rrddata},
      {"POST", "/nodes/{node}/storage/{storage}/upload",
       {p_node(), p_str("storage", true), p_enum("content", {"iso", "vztmpl", "import"}, true),
        p_str("filename", true), p_str("checksum"),
        p_enum("checksum-algorithm", {"md5", "sha1", "sha224", "sha256", "sha384", "sha512"}), p_str("tmpfilename")},
       upload},
      {"DELETE", "/nodes/{node}/storage/{storage}/content/{volume}",
       {p_node(), p_str("storage", true), p_str("volume", true), p_int("delay", false, 1, 30)}, remove_volume},
  };
}

}  // namespace pvekit::sim
