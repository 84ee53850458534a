#include "sim/actions.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <regex>

#include "core/strings.h"
#include "core/utc_time.h"
#include "pve/tags.h"

namespace pvekit::sim {
namespace {

using core::Error;
using core::ErrorCategory;
using core::Result;

constexpr double kGiB = 1024.0 * 1024 * 1024;

Error api_error(const std::string& message, ErrorCategory cat = ErrorCategory::Conflict) {
  return Error(cat, message).with_http_status(500);
}

std::string label(GuestType t) { return t == GuestType::Qemu ? "VM" : "CT"; }
std::string prefix(GuestType t) { return t == GuestType::Qemu ? "qm" : "vz"; }

std::string stamp(double now) { return core::format_utc(static_cast<std::time_t>(now), "%Y-%m-%d %H:%M:%S"); }

std::string hms(double seconds) {
  const int s = static_cast<int>(seconds);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
  return buf;
}

core::Status check_lock(const Guest& g) {
  if (g.lock.empty()) return core::ok();
  return api_error(label(g.type) + " " + std::to_string(g.vmid) + " is locked (" + g.lock + ")");
}

bool has_local_disk(const Cluster& c, const Guest& g) {
  const Storage* s = c.find_storage(g.storage);
  return s && !s->shared;
}

// Runs `change` on the guest when the task ends, if it still exists.
TaskFinish on_guest(int vmid, std::function<std::string(World&, Guest&, double, std::vector<std::string>&)> change) {
  return [vmid, change = std::move(change)](World& w, double now, std::vector<std::string>& log) -> std::string {
    Guest* g = w.cluster.find_guest(vmid);
    if (!g) return "guest " + std::to_string(vmid) + " vanished";
    return change(w, *g, now, log);
  };
}

core::Status check_migration(const World& w, const Guest& g, const MigrateRequest& req) {
  PVEKIT_TRY(check_lock(g));
  const bool running = g.status == "running";
  if (g.type == GuestType::Qemu) {
    if (running && !req.online) return api_error("can't migrate running VM without --online");
    if (running && has_local_disk(w.cluster, g) && !req.with_local_disks) {
      return api_error("can't live migrate attached local disks without with-local-disks option");
    }
  }
  // A running CT: the API's early check is in start_migration, the refusal
  // of online migration in lxc_prepare_failure.
  const Storage* s = w.cluster.find_storage(g.storage);
  if (s && !w.cluster.storage_on_node(*s, req.target)) {
    return api_error("storage '" + s->id + "' is not available on node '" + req.target + "'");
  }
  return core::ok();
}

std::string finish_migration(World& w, Guest& g, double now, double start, const MigrateRequest& req,
                             bool was_running, std::string fault, std::vector<std::string>& log) {
  g.lock.clear();
  const Node* target = w.cluster.find_node(req.target);
  if (fault.empty() && (!target || !target->online)) fault = "Can't connect to destination address using public key";
  if (!fault.empty()) {
    if (g.type == GuestType::Lxc && was_running) g.status = "running";
    log.push_back(stamp(now) + " ERROR: " + fault);
    log.push_back(stamp(now) + " ERROR: migration aborted (duration " + hms(now - start) + "): " + fault);
    return "migration aborted";
  }
  g.node = req.target;
  if (g.type == GuestType::Lxc && was_running) {
    g.status = "running";
    g.started_at = now;
    log.push_back(stamp(now) + " start container on target node");
  }
  log.push_back(stamp(now) + " migration finished successfully (duration " + hms(now - start) + ")");
  return "OK";
}

}  // namespace

Result<Guest*> guest_on(World& w, const std::string& node, int vmid, GuestType type) {
  Guest* g = w.cluster.find_guest(vmid);
  if (!g || g->node != node || g->type != type) {
    const std::string dir = type == GuestType::Qemu ? "qemu-server" : "lxc";
    return Error(ErrorCategory::NotFound, "Configuration file 'nodes/" + node + "/" + dir + "/" +
                                              std::to_string(vmid) + ".conf' does not exist")
        .with_http_status(500);
  }
  return g;
}

double migration_duration(const Guest& g, const Cluster& c, const MigrateRequest& req) {
  const bool running = g.status == "running";
  double d = 2;
  if (g.type == GuestType::Qemu && running) d += 3 + 2.0 * static_cast<double>(g.maxmem) / kGiB;
  if (g.type == GuestType::Lxc && running) d += 5 + std::min(req.timeout, 30.0) / 10;
  const bool copies_disk = has_local_disk(c, g) && (g.type == GuestType::Lxc || !running || req.with_local_disks);
  if (copies_disk) d += 1.0 * static_cast<double>(g.maxdisk) / kGiB;
  return d;
}

// What PVE::LXC::Migrate::prepare dies of in the vzmigrate task before
// anything moves; empty when it goes on.
std::string lxc_prepare_failure(const Guest& g, const MigrateRequest& req) {
  if (g.type == GuestType::Lxc && g.status == "running" && req.online) {
    return "lxc live migration is currently not implemented";
  }
  return "";
}

Result<std::string> start_migration(World& w, const MigrateRequest& req, const std::string& user, double now) {
  PVEKIT_ASSIGN(Guest* g, guest_on(w, req.node, req.vmid, req.type));
  if (req.target == req.node) return param_error("target", "target is local node.");
  const Node* target = w.cluster.find_node(req.target);
  if (!target) return api_error("no such cluster node '" + req.target + "'", ErrorCategory::NotFound);
  // pve-container's migrate_vm "tries to detect errors early", before the HA hand-over.
  if (g->type == GuestType::Lxc && g->status == "running" && !req.online && !req.restart) {
    return api_error("can't migrate running container without --online or --restart");
  }
  const std::string sid = ha_sid(*g);
  const HaResource* ha = w.cluster.find_ha(sid);
  if (ha && ha->state != "disabled" && !req.from_ha) {
    std::vector<std::string> log = {"Requesting HA migration for " + label(g->type) + " " + std::to_string(g->vmid) +
                                    " to node " + req.target};
    return w.tasks.start(req.node, "hamigrate", std::to_string(req.vmid), user, now, 1, log,
                         [sid, target = req.target](World& world, double t, std::vector<std::string>& out) {
                           auto st = ha_migrate(world, sid, target, t);
                           if (!st.ok()) out.push_back("ERROR: " + st.error().message());
                           return std::string("OK");
                         });
  }
  PVEKIT_TRY(check_lock(*g));
  if (std::string why = lxc_prepare_failure(*g, req); !why.empty()) {
    // PVE::AbstractMigrate::migrate logs the failed prepare and dies with
    // "migration aborted"; the CT stays where and as it was.
    return w.tasks.start(req.node, "vzmigrate", std::to_string(req.vmid), user, now, 0, {},
                         [why](World&, double t, std::vector<std::string>& out) {
                           out.push_back(stamp(t) + " ERROR: migration aborted (duration 00:00:00): " + why);
                           return std::string("migration aborted");
                         });
  }
  PVEKIT_TRY(check_migration(w, *g, req));
  std::string fault;
  if (auto it = w.faults.fail_migration.find(req.vmid); it != w.faults.fail_migration.end()) {
    fault = it->second;
    w.faults.fail_migration.erase(it);
  }
  const bool was_running = g->status == "running";
  const double duration = migration_duration(*g, w.cluster, req);
  std::vector<std::string> log = {
      stamp(now) + " starting migration of " + label(g->type) + " " + std::to_string(g->vmid) + " to node '" +
      req.target + "' (" + target->ip + ")"};
  if (g->type == GuestType::Lxc && was_running) {
    log.push_back(stamp(now) + " shutdown CT " + std::to_string(g->vmid));
    g->status = "stopped";
  }
  g->lock = "migrate";
  return w.tasks.start(req.node, g->type == GuestType::Qemu ? "qmigrate" : "vzmigrate", std::to_string(req.vmid),
                       user, now, duration, log,
                       on_guest(req.vmid, [req, now, was_running, fault](World& world, Guest& guest, double t,
                                                                         std::vector<std::string>& out) {
                         return finish_migration(world, guest, t, now, req, was_running, fault, out);
                       }));
}

namespace {

// The power action itself: PVE's checks, then a qmstart/vzstop/... task.
Result<std::string> run_status_action(World& w, const std::string& node, int vmid, GuestType type,
                                      const std::string& action, const std::string& user, double now) {
  PVEKIT_ASSIGN(Guest* g, guest_on(w, node, vmid, type));
  PVEKIT_TRY(check_lock(*g));
  const std::string who = label(type) + " " + std::to_string(vmid);
  const bool running = g->status == "running";
  if (action == "start" && running) return api_error(who + " already running");
  if (action != "start" && !running) return api_error(who + " not running");
  if (action == "suspend" && g->suspended) return api_error(who + " is already suspended");
  if (action == "resume" && !g->suspended) return api_error(who + " is not suspended");
  double duration = action == "shutdown" ? 4 : (action == "start" || action == "reboot" ? 2 : 1);
  const std::string fault = w.faults.take_task_failure(prefix(type) + action);
  return w.tasks.start(node, prefix(type) + action, std::to_string(vmid), user, now, duration, {},
                       on_guest(vmid, [action, fault](World&, Guest& guest, double t, std::vector<std::string>&) {
                         if (!fault.empty()) return fault;
                         if (action == "start" || action == "reboot") {
                           guest.status = "running";
                           guest.started_at = t;
                           guest.suspended = false;
                         } else if (action == "stop" || action == "shutdown") {
                           guest.status = "stopped";
                           guest.suspended = false;
                         } else {
                           guest.suspended = action == "suspend";
                         }
                         return std::string("OK");
                       }));
}

}  // namespace

// qemu-server's vm_start/vm_stop/vm_shutdown and pve-container's
// vm_start/vm_stop/vm_shutdown: for an HA-managed guest
// (PVE::HA::Config::vm_is_ha_managed) the API only asks the HA manager
// ("Requesting HA start for VM 100", ha-manager set vm:100 --state started
// / stopped) in an hastart or hastop task; the CRM then has the guest
// started or stopped by root@pam on its node.
Result<std::string> start_status_action(World& w, const std::string& node, int vmid, GuestType type,
                                        const std::string& action, const std::string& user, double now) {
  PVEKIT_ASSIGN(Guest* g, guest_on(w, node, vmid, type));
  const std::string sid = ha_sid(*g);
  const bool ha_action = action == "start" || action == "stop" || action == "shutdown";
  if (!ha_action || !w.cluster.find_ha(sid)) return run_status_action(w, node, vmid, type, action, user, now);
  const bool start = action == "start";
  const std::vector<std::string> log = {"Requesting HA " + std::string(start ? "start" : "stop") + " for " +
                                        label(type) + " " + std::to_string(vmid)};
  return w.tasks.start(node, start ? "hastart" : "hastop", std::to_string(vmid), user, now, 1, log,
                       [sid, vmid, type, action, start](World& world, double t, std::vector<std::string>& out) {
                         for (HaResource& r : world.cluster.ha_resources) {
                           if (r.sid == sid) r.state = start ? "started" : "stopped";
                         }
                         const Guest* guest = world.cluster.find_guest(vmid);
                         const bool running = guest && guest->status == "running";
                         if (guest && guest->lock.empty() && running != start) {
                           auto crm = run_status_action(world, guest->node, vmid, type, action, "root@pam", t);
                           if (!crm.ok()) out.push_back("HA " + action + " failed: " + crm.error().message());
                         }
                         return std::string("OK");
                       });
}

namespace {

// The rootfs of a create call, read as pve-container's create_vm does.
struct Rootfs {
  std::string storage;             // the storage of the volume ("" for a path)
  std::string volume;              // the volume: "local-lvm:8", "local-lvm:vm-100-disk-0", "/srv/ct"
  std::optional<double> size_gib;  // a new disk of this size (PVE::LXC::NEW_DISK_RE), or an existing volume
};

// "8", "local-lvm:8" or "volume=local-lvm:8,size=8G". As PVE: a plain number
// is a size on the default storage, and only STORAGE:DIGITS[.DIGITS] makes a
// new disk: anything else names an existing volume ("local-lvm:-8" too).
Rootfs parse_rootfs(const std::string& text, const std::string& default_storage) {
  static const std::regex kSize(R"(\d+(\.\d+)?)"), kNewDisk(R"(([^:\s]+):(\d+(\.\d+)?))");
  std::string vol = std::regex_match(text, kSize) ? default_storage + ":" + text : text;
  for (const auto& part : core::split(vol, ',')) {
    if (core::starts_with(part, "volume=")) vol = part.substr(7);
    else if (part.find('=') == std::string::npos) vol = part;
  }
  std::smatch m;
  if (std::regex_match(vol, m, kNewDisk)) return {m[1], vol, std::strtod(m[2].str().c_str(), nullptr)};
  const auto colon = vol.find(':');
  return {colon == std::string::npos || vol.front() == '/' ? "" : vol.substr(0, colon), vol, std::nullopt};
}

// Why the create task fails for an existing volume as rootfs: pvesim has no
// guest volumes to reuse. A name the storage cannot parse fails as in PVE's
// LVM plugins (PVE::Storage::LVMPlugin / LvmThinPlugin::parse_volname).
std::string existing_rootfs_failure(const Storage* storage, const std::string& volume) {
  const std::string name = volume.substr(volume.find(':') + 1);
  static const std::regex kLvmName(R"((vm|base)-\d+-\S+)", std::regex::icase),
      kLvmChars(R"([a-z0-9][a-z0-9\-_.]*)", std::regex::icase);
  if (storage && (storage->type == "lvm" || storage->type == "lvmthin") &&
      (!std::regex_match(name, kLvmChars) || !std::regex_match(name, kLvmName))) {
    return "unable to parse lvm volume name '" + name + "'";
  }
  return "volume '" + volume + "' does not exist";
}

bool has_content(const Storage& s, const std::string& content) {
  return std::find(s.content.begin(), s.content.end(), content) != s.content.end();
}

const Volume* find_volume(const World& w, const std::string& node, const std::string& volid) {
  const Storage* s = w.cluster.find_storage(volid.substr(0, volid.find(':')));
  if (!s) return nullptr;
  auto it = w.cluster.volumes.find(Cluster::volume_key(*s, node));
  if (it == w.cluster.volumes.end()) return nullptr;
  for (const Volume& v : it->second) {
    if (v.volid == volid) return &v;
  }
  return nullptr;
}

// As pve-container after unpacking an OCI image: the image's settings replace
// what the create call gave (entrypoint, env).
void apply_oci_image(const pve::OciImageConfig& image, Guest& guest) {
  const pve::OciCtSettings s = pve::oci_ct_settings(image);
  if (s.entrypoint) guest.config["entrypoint"] = *s.entrypoint;
  if (s.cmode) guest.config["cmode"] = *s.cmode;
  if (s.env) guest.config["env"] = *s.env;
  for (const auto& [key, value] : s.lxc) guest.config[key] = value;
}

}  // namespace

Result<std::string> create_lxc(World& w, const std::string& node, const Params& p, const std::string& user,
                               double now) {
  const int vmid = static_cast<int>(param_int(p, "vmid"));
  if (const Guest* other = w.cluster.find_guest(vmid)) {
    return api_error(label(other->type) + " " + std::to_string(vmid) + " already exists on node '" + other->node +
                     "'");
  }
  const std::string ostemplate = param_str(p, "ostemplate");
  const Volume* volume = find_volume(w, node, ostemplate);
  if (!volume) return api_error("volume '" + ostemplate + "' does not exist");
  const std::optional<OciTemplate> oci = volume->oci;
  std::string default_storage = param_str(p, "storage");
  if (default_storage.empty()) {
    for (const Storage& s : w.cluster.storages) {
      if (default_storage.empty() && has_content(s, "rootdir") && w.cluster.storage_on_node(s, node)) default_storage = s.id;
    }
  }
  const Rootfs rootfs = parse_rootfs(param_str(p, "rootfs", default_storage + ":8"), default_storage);
  const std::string& storage_id = rootfs.storage;
  const double size_gib = rootfs.size_gib.value_or(0);
  const Storage* storage = w.cluster.find_storage(storage_id);
  if (!storage || !w.cluster.storage_on_node(*storage, node)) {
    return api_error("storage '" + storage_id + "' does not exist on node '" + node + "'");
  }
  if (!has_content(*storage, "rootdir")) return api_error("storage '" + storage_id + "' does not support container directories");
  const std::string pool = param_str(p, "pool");
  if (!pool.empty() && std::none_of(w.cluster.pools.begin(), w.cluster.pools.end(), [&](const Pool& x) { return x.id == pool; })) {
    return api_error("pool '" + pool + "' does not exist");
  }
  Guest g;
  g.vmid = vmid;
  g.type = GuestType::Lxc;
  g.node = node;
  g.name = param_str(p, "hostname", "CT" + std::to_string(vmid));
  g.status = "stopped";
  g.cpus = static_cast<int>(param_int(p, "cores", 1));
  // memory and swap are at most kMaxMiB (the route's limit): the bytes fit.
  g.maxmem = static_cast<uint64_t>(param_int(p, "memory", 512)) << 20;
  g.swap = static_cast<uint64_t>(param_int(p, "swap", 512)) << 20;
  const bool disk_fits = size_gib * kGiB < 0x1p63;
  g.maxdisk = disk_fits ? static_cast<uint64_t>(size_gib * kGiB) : 0;
  g.storage = storage_id;
  g.pool = pool;
  g.tags = pve::join_tags(pve::parse_tags(param_str(p, "tags")));
  g.lock = "create";
  static const char* kCopied[] = {"ostype", "arch", "description", "onboot", "unprivileged", "nameserver",
                                  "searchdomain", "features", "startup", "protection", "entrypoint", "env",
                                  "cpulimit", "cpuunits", "cmode", "console", "tty", "timezone", "hookscript"};
  for (const char* key : kCopied) {
    if (p.count(key)) g.config[key] = p.at(key);
  }
  for (const auto& [k, v] : p) {
    if (core::starts_with(k, "net") || core::starts_with(k, "mp")) g.config[k] = v;
  }
  g.config.emplace("ostype", "debian");
  g.config.emplace("arch", "amd64");
  const bool start = param_bool(p, "start");
  w.cluster.guests.emplace(vmid, std::move(g));
  std::vector<std::string> log;
  if (oci) log.push_back("Detected OCI archive");
  else log = {"extracting archive '" + ostemplate + "'",
              "Total bytes read: " + std::to_string(disk_fits ? static_cast<uint64_t>(size_gib * 1e8) : 0)};
  std::string fault = w.faults.take_task_failure("vzcreate");
  if (fault.empty() && !rootfs.size_gib) fault = existing_rootfs_failure(storage, rootfs.volume);
  if (fault.empty() && !disk_fits) {
    fault = "unable to allocate a " + core::format_bytes(size_gib * kGiB) + " disk on storage '" + storage_id + "'";
  }
  if (fault.empty() && oci && !oci->image) fault = oci->error;
  return w.tasks.start(node, "vzcreate", std::to_string(vmid), user, now, 4, log,
                       on_guest(vmid, [start, fault, vmid, oci](World& world, Guest& guest, double t,
                                                                std::vector<std::string>&) {
                         if (!fault.empty()) {
                           // As PVE: a failed create removes the half-made container again.
                           world.cluster.guests.erase(vmid);
                           return "unable to create CT " + std::to_string(vmid) + " - " + fault;
                         }
                         if (oci) apply_oci_image(*oci->image, guest);
                         guest.lock.clear();
                         if (start) {
                           guest.status = "running";
                           guest.started_at = t;
                         }
                         return std::string("OK");
                       }));
}

Result<std::string> destroy_guest(World& w, const std::string& node, int vmid, GuestType type, bool purge,
                                  const std::string& user, double now) {
  PVEKIT_ASSIGN(Guest* g, guest_on(w, node, vmid, type));
  PVEKIT_TRY(check_lock(*g));
  if (g->status == "running") {
    return api_error(type == GuestType::Lxc ? "unable to destroy CT " + std::to_string(vmid) + " - container is running"
                                            : "VM " + std::to_string(vmid) + " is running - destroy failed");
  }
  const std::string sid = ha_sid(*g);
  if (w.cluster.find_ha(sid) && !purge) {
    return api_error("unable to remove " + label(type) + " " + std::to_string(vmid) +
                     " - used in HA resources and purge parameter not set.");
  }
  g->lock = "destroyed";
  return w.tasks.start(node, prefix(type) + "destroy", std::to_string(vmid), user, now, 2, {},
                       [vmid, sid, purge](World& world, double, std::vector<std::string>& log) {
                         world.cluster.guests.erase(vmid);
                         if (purge) {
                           auto& res = world.cluster.ha_resources;
                           res.erase(std::remove_if(res.begin(), res.end(), [&](const HaResource& r) { return r.sid == sid; }),
                                     res.end());
                           for (HaRule& rule : world.cluster.ha_rules) {
                             auto& r = rule.resources;
                             r.erase(std::remove(r.begin(), r.end(), sid), r.end());
                           }
                           log.push_back("purging " + sid + " from HA resources, rules and pools");
                         }
                         return std::string("OK");
                       });
}

}  // namespace pvekit::sim
