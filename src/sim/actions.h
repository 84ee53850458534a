#pragma once

#include <string>

#include "core/result.h"
#include "sim/params.h"
#include "sim/world.h"

namespace pvekit::sim {

// State-changing operations of the API. Each checks PVE's preconditions,
// starts a task and returns its UPID; precondition failures are Errors whose
// message is PVE's (HTTP 500 unless with_http_status says otherwise; 400
// with a detail for parameter-level problems). Callers hold the world lock.

// The guest `vmid` of `type` on `node`, or PVE's "Configuration file ... does
// not exist" error.
core::Result<Guest*> guest_on(World& w, const std::string& node, int vmid, GuestType type);

struct MigrateRequest {
  std::string node;  // source
  int vmid = 0;
  GuestType type = GuestType::Qemu;
  std::string target;
  bool online = false;            // qemu live migration (a running CT: the task fails, as PVE's)
  bool restart = false;           // lxc restart mode
  bool with_local_disks = false;  // qemu
  double timeout = 180;           // lxc shutdown timeout
  bool from_ha = false;           // requested by the HA CRM (no hand-over)
};
core::Result<std::string> start_migration(World& w, const MigrateRequest& req, const std::string& user, double now);

// How long a migration takes in simulated seconds.
double migration_duration(const Guest& guest, const Cluster& c, const MigrateRequest& req);

// action: start | stop | shutdown | suspend | resume | reboot
core::Result<std::string> start_status_action(World& w, const std::string& node, int vmid, GuestType type,
                                              const std::string& action, const std::string& user, double now);

core::Result<std::string> create_lxc(World& w, const std::string& node, const Params& p, const std::string& user,
                                     double now);
core::Result<std::string> destroy_guest(World& w, const std::string& node, int vmid, GuestType type, bool purge,
                                        const std::string& user, double now);

// Puts a snapshot's saved configuration back on its guest (rollback, and
// `config?snapshot=NAME` renders a copy).
void restore_config(Guest& g, const SnapshotConfig& saved);
core::Result<std::string> create_snapshot(World& w, const std::string& node, int vmid, GuestType type,
                                          const std::string& name, const std::string& description,
                                          const std::string& user, double now);
core::Result<std::string> rollback_snapshot(World& w, const std::string& node, int vmid, GuestType type,
                                            const std::string& name, bool start, const std::string& user, double now);
core::Result<std::string> delete_snapshot(World& w, const std::string& node, int vmid, GuestType type,
                                          const std::string& name, const std::string& user, double now);

// A completed upload of `data` as `filename` into node/storage. Of a plain
// .tar template only what PVE 9.1 reads at create time is kept: whether it
// is an OCI image archive and its image config (or why it is unusable).
core::Result<std::string> upload_volume(World& w, const std::string& node, const std::string& storage,
                                        const std::string& content, const std::string& filename,
                                        std::string_view data, const std::string& user, double now);

// HA CRM request: migrate the HA resource `sid` to `node` (online for VMs,
// restart mode for CTs), performed by root@pam as the CRM does.
// DELETE /nodes/{node}/storage/{storage}/content/{volume}: an "imgdel" task.
core::Result<std::string> delete_volume(World& w, const std::string& node, const std::string& storage,
                                        const std::string& volume, const std::string& user, double now);
core::Status ha_migrate(World& w, const std::string& sid, const std::string& node, double now);

}  // namespace pvekit::sim
