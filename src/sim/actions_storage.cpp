// Snapshots, uploads and HA requests.
#include <algorithm>
#include <regex>

#include "core/strings.h"
#include "sim/actions.h"

namespace pvekit::sim {
namespace {

using core::Error;
using core::ErrorCategory;
using core::Result;

Error api_error(const std::string& message) { return Error(ErrorCategory::Conflict, message).with_http_status(500); }

std::string label(GuestType t) { return t == GuestType::Qemu ? "VM" : "CT"; }
std::string prefix(GuestType t) { return t == GuestType::Qemu ? "qm" : "vz"; }

core::Status check_lock(const Guest& g) {
  if (g.lock.empty()) return core::ok();
  return api_error(label(g.type) + " " + std::to_string(g.vmid) + " is locked (" + g.lock + ")");
}

Snapshot* find_snapshot(Guest& g, const std::string& name) {
  auto it = std::find_if(g.snapshots.begin(), g.snapshots.end(), [&](const Snapshot& s) { return s.name == name; });
  return it == g.snapshots.end() ? nullptr : &*it;
}

// Locks the guest for the task and releases the lock when it ends.
TaskFinish locked(int vmid, std::function<void(Guest&, double)> change) {
  return [vmid, change = std::move(change)](World& w, double now, std::vector<std::string>&) -> std::string {
    Guest* g = w.cluster.find_guest(vmid);
    if (!g) return "guest " + std::to_string(vmid) + " vanished";
    g->lock.clear();
    change(*g, now);
    return "OK";
  };
}

// What PVE 9.1 finds in a plain .tar template when a container is created from it.
std::optional<OciTemplate> oci_template(std::string_view data) {
  auto files = pve::tar_files(data);
  if (!files.ok()) return OciTemplate{std::nullopt, files.error().message()};
  if (!pve::is_oci_archive(*files)) return std::nullopt;  // a rootfs tarball
  auto image = pve::read_oci_image(*files);
  if (!image.ok()) return OciTemplate{std::nullopt, image.error().message()};
  return OciTemplate{std::move(*image), ""};
}

}  // namespace

void restore_config(Guest& g, const SnapshotConfig& saved) {
  g.name = saved.name;
  g.cpus = saved.cpus;
  g.maxmem = saved.maxmem;
  g.swap = saved.swap;
  g.maxdisk = saved.maxdisk;
  g.tags = saved.tags;
  g.config = saved.config;
}

Result<std::string> create_snapshot(World& w, const std::string& node, int vmid, GuestType type,
                                    const std::string& name, const std::string& description,
                                    const std::string& user, double now) {
  static const std::regex kConfigId("^[A-Za-z][A-Za-z0-9_\\-]+$");
  if (!std::regex_match(name, kConfigId)) {
    return param_error("snapname", "invalid format - invalid configuration ID '" + name + "'");
  }
  PVEKIT_ASSIGN(Guest* g, guest_on(w, node, vmid, type));
  PVEKIT_TRY(check_lock(*g));
  if (name == "current") return api_error("snapshot name 'current' is reserved");
  if (find_snapshot(*g, name)) return api_error("snapshot name '" + name + "' already used");
  g->lock = "snapshot";
  return w.tasks.start(node, prefix(type) + "snapshot", std::to_string(vmid), user, now, 2, {},
                       locked(vmid, [name, description](Guest& guest, double t) {
                         SnapshotConfig saved{guest.name, guest.cpus, guest.maxmem, guest.swap, guest.maxdisk,
                                              guest.tags, guest.config};
                         saved.config.erase("parent");
                         Snapshot s{name, description, static_cast<int64_t>(t), guest.config["parent"],
                                    std::move(saved)};
                         guest.snapshots.push_back(s);
                         guest.config["parent"] = name;
                       }));
}

Result<std::string> rollback_snapshot(World& w, const std::string& node, int vmid, GuestType type,
                                      const std::string& name, bool start, const std::string& user, double now) {
  PVEKIT_ASSIGN(Guest* g, guest_on(w, node, vmid, type));
  PVEKIT_TRY(check_lock(*g));
  if (!find_snapshot(*g, name)) return api_error("snapshot '" + name + "' does not exist");
  g->lock = "rollback";
  return w.tasks.start(node, prefix(type) + "rollback", std::to_string(vmid), user, now, 2, {},
                       // As PVE: a running guest is stopped first, and only
                       // `start` brings it back.
                       locked(vmid, [name, start](Guest& guest, double t) {
                         if (const Snapshot* snap = find_snapshot(guest, name)) restore_config(guest, snap->saved);
                         guest.config["parent"] = name;
                         guest.status = start ? "running" : "stopped";
                         guest.suspended = false;
                         if (start) guest.started_at = t;
                       }));
}

Result<std::string> delete_snapshot(World& w, const std::string& node, int vmid, GuestType type,
                                    const std::string& name, const std::string& user, double now) {
  PVEKIT_ASSIGN(Guest* g, guest_on(w, node, vmid, type));
  PVEKIT_TRY(check_lock(*g));
  if (!find_snapshot(*g, name)) return api_error("snapshot '" + name + "' does not exist");
  g->lock = "snapshot-delete";
  return w.tasks.start(node, prefix(type) + "delsnapshot", std::to_string(vmid), user, now, 1, {},
                       locked(vmid, [name](Guest& guest, double) {
                         Snapshot* gone = find_snapshot(guest, name);
                         if (!gone) return;  // already gone: deleting twice is fine
                         const std::string parent = gone->parent;
                         for (Snapshot& s : guest.snapshots) {
                           if (s.parent == name) s.parent = parent;
                         }
                         if (guest.config["parent"] == name) guest.config["parent"] = parent;
                         guest.snapshots.erase(guest.snapshots.begin() + (gone - guest.snapshots.data()));
                       }));
}

Result<std::string> upload_volume(World& w, const std::string& node, const std::string& storage_id,
                                  const std::string& content, const std::string& filename, std::string_view data,
                                  const std::string& user, double now) {
  const Storage* s = w.cluster.find_storage(storage_id);
  if (!s || !w.cluster.storage_on_node(*s, node)) {
    return api_error("storage '" + storage_id + "' does not exist on node '" + node + "'");
  }
  if (std::find(s->content.begin(), s->content.end(), content) == s->content.end()) {
    return api_error("storage '" + storage_id + "' does not support content-type '" + content + "'");
  }
  // PVE 9.1 (pve-storage's VZTMPL_EXT_RE_1) also takes a plain .tar: an OCI image archive.
  static const std::regex kVztmpl(R"(.+\.(tar|tar\.(gz|xz|zst|bz2))$)", std::regex::icase);
  static const std::regex kIso(R"(.+\.(iso|img)$)", std::regex::icase);
  static const std::regex kImport(R"(.+\.(ova|ovf|qcow2|raw|vmdk)$)", std::regex::icase);
  const std::regex& ext = content == "vztmpl" ? kVztmpl : (content == "iso" ? kIso : kImport);
  if (!std::regex_match(filename, ext)) return param_error("filename", "wrong file extension");
  std::string clean = filename.substr(filename.find_last_of("/\\") + 1);
  for (char& c : clean) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  }
  const uint64_t size = data.size();
  Volume v{storage_id + ":" + content + "/" + clean, content, clean.substr(clean.find_last_of('.') + 1), size,
           static_cast<int64_t>(now), 0};
  if (content == "vztmpl" && v.format == "tar") v.oci = oci_template(data);
  const std::string key = Cluster::volume_key(*s, node);
  std::vector<std::string> log = {"starting file import from: /var/tmp/pveupload-" + std::to_string(size),
                                  "target node: " + node, "file size is: " + std::to_string(size)};
  return w.tasks.start(node, "imgcopy", "", user, now, 1, log,
                       [key, v](World& world, double, std::vector<std::string>& out) {
                         auto& list = world.cluster.volumes[key];
                         list.erase(std::remove_if(list.begin(), list.end(),
                                                   [&](const Volume& x) { return x.volid == v.volid; }),
                                    list.end());
                         list.push_back(v);
                         out.push_back("finished file import successfully");
                         return std::string("OK");
                       });
}

Result<std::string> delete_volume(World& w, const std::string& node, const std::string& storage_id,
                                  const std::string& volume, const std::string& user, double now) {
  const Storage* s = w.cluster.find_storage(storage_id);
  if (!s || !w.cluster.storage_on_node(*s, node)) {
    return api_error("storage '" + storage_id + "' does not exist on node '" + node + "'");
  }
  // PVE takes the full volume id or the name on the storage.
  const std::string volid = volume.find(':') == std::string::npos ? storage_id + ":" + volume : volume;
  if (volid.substr(0, volid.find(':')) != storage_id) {
    return param_error("volume", "volume '" + volid + "' is not on storage '" + storage_id + "'");
  }
  const std::string key = Cluster::volume_key(*s, node);
  auto& list = w.cluster.volumes[key];
  if (std::none_of(list.begin(), list.end(), [&](const Volume& v) { return v.volid == volid; })) {
    return api_error("volume '" + volid + "' does not exist");
  }
  // PVE starts imgdel tasks without an id (a volume id would not fit the UPID).
  return w.tasks.start(node, "imgdel", "", user, now, 1, {"removing volume '" + volid + "'"},
                       [key, volid](World& world, double, std::vector<std::string>&) {
                         auto& vols = world.cluster.volumes[key];
                         vols.erase(std::remove_if(vols.begin(), vols.end(),
                                                   [&](const Volume& x) { return x.volid == volid; }),
                                    vols.end());
                         return std::string("OK");
                       });
}

core::Status ha_migrate(World& w, const std::string& sid, const std::string& node, double now) {
  const HaResource* res = w.cluster.find_ha(sid);
  if (!res) return api_error("service '" + sid + "' not defined");
  const auto colon = sid.find(':');
  const auto vmid = core::parse_int(sid.substr(colon + 1));
  const Guest* g = vmid ? w.cluster.find_guest(static_cast<int>(*vmid)) : nullptr;
  if (!g) return api_error("service '" + sid + "' not defined");
  if (!w.cluster.find_node(node)) return api_error("no such cluster node '" + node + "'");
  if (g->node == node) return core::ok();  // already there: the CRM has nothing to do
  MigrateRequest req{g->node, g->vmid, g->type, node, g->type == GuestType::Qemu, g->type == GuestType::Lxc, true};
  req.from_ha = true;
  auto upid = start_migration(w, req, "root@pam", now);
  if (!upid.ok()) return std::move(upid).error();
  return core::ok();
}

}  // namespace pvekit::sim
