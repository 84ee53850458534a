// /nodes/{node}/{qemu,lxc}/...: lists, config, status, rrd, migration,
// power actions, create/destroy and snapshots.
#include <algorithm>
#include <limits>
#include <set>

#include "core/strings.h"

#include "sim/actions.h"
#include "sim/api.h"
#include "sim/views.h"

namespace pvekit::sim {
namespace {

using core::Error;
using core::ErrorCategory;
using core::Json;
using core::Result;

std::string base(GuestType t) { return "/nodes/{node}/" + std::string(type_path(t)); }

Handler list_guests(GuestType type) {
  return [type](Ctx& c) -> Result<Reply> {
    auto live = c.sim.live(c.world);
    Json out = Json::array();
    for (const Guest* g : live->by_node.at(c.node())) {
      if (g->type != type || !c.access.allowed("/vms/" + std::to_string(g->vmid), {"VM.Audit"})) continue;
      out.push_back(guest_list_entry(c.world, *g, *live, c.now, param_bool(c.params, "full")));
    }
    return Reply(out);
  };
}

Handler guest_view(GuestType type, Json (*render)(const World&, const Guest&, const LiveView&, double)) {
  return [type, render](Ctx& c) -> Result<Reply> {
    PVEKIT_ASSIGN(Guest* g, guest_on(c.world, c.node(), c.vmid(), type));
    return Reply(render(c.world, *g, *c.sim.live(c.world), c.now));
  };
}

Handler config(GuestType type) {
  return [type](Ctx& c) -> Result<Reply> {
    PVEKIT_ASSIGN(Guest* g, guest_on(c.world, c.node(), c.vmid(), type));
    const std::string snap = c.str("snapshot");
    if (snap.empty()) return Reply(guest_config(*g));
    auto s = std::find_if(g->snapshots.begin(), g->snapshots.end(), [&](const Snapshot& x) { return x.name == snap; });
    if (s == g->snapshots.end())
      return Error(ErrorCategory::NotFound, "snapshot '" + snap + "' does not exist").with_http_status(500);
    Guest then = *g;
    restore_config(then, s->saved);
    if (!s->parent.empty()) then.config["parent"] = s->parent;
    return Reply(guest_config(then));
  };
}

// qemu-server's and pve-container's rrddata both read the RRD file of the
// vmid, "pve-vm-9.0/$vmid" (PVE::RRD::create_rrd_data), without loading a
// config: every node holds every guest's RRD files, and the qemu path answers
// for a container (ProxLB asks that way) as the lxc path does for a VM.
Result<Reply> rrd(Ctx& c) {
  const Guest* g = c.world.cluster.find_guest(c.vmid());
  if (!g) {
    return Error(ErrorCategory::NotFound, "RRD error: opening '/var/lib/rrdcached/db/pve-vm-9.0/" +
                                              std::to_string(c.vmid()) + "': No such file or directory")
        .with_http_status(500);
  }
  return Reply(guest_rrd(*g, c.world.cluster.seed, c.now, c.str("timeframe"), c.str("cf") == "MAX"));
}

Handler migrate(GuestType type) {
  return [type](Ctx& c) -> Result<Reply> {
    MigrateRequest req;
    req.node = c.node();
    req.vmid = c.vmid();
    req.type = type;
    req.target = c.str("target");
    req.online = param_bool(c.params, "online");
    req.restart = param_bool(c.params, "restart");
    req.with_local_disks = param_bool(c.params, "with-local-disks");
    req.timeout = param_num(c.params, "timeout", 180);
    PVEKIT_ASSIGN(std::string upid, start_migration(c.world, req, c.who.upid_user(), c.now));
    return Reply(Json(upid));
  };
}

// GET .../migrate: PVE's migration precondition check.
Handler migrate_check(GuestType type) {
  return [type](Ctx& c) -> Result<Reply> {
    PVEKIT_ASSIGN(Guest* g, guest_on(c.world, c.node(), c.vmid(), type));
    const Storage* storage = c.world.cluster.find_storage(g->storage);
    Json allowed = Json::array(), not_allowed = Json::object();
    for (const Node& n : c.world.cluster.nodes) {
      if (n.name == g->node) continue;
      if (storage && !c.world.cluster.storage_on_node(*storage, n.name)) {
        not_allowed[n.name] = {{"unavailable_storages", {storage->id}}};
      } else {
        allowed.push_back(n.name);
      }
    }
    const bool qemu = type == GuestType::Qemu;
    Json out = {{"running", g->status == "running" ? 1 : 0}, {"dependent-ha-resources", Json::array()},
                {qemu ? "allowed_nodes" : "allowed-nodes", allowed},
                {qemu ? "not_allowed_nodes" : "not-allowed-nodes", not_allowed}};
    if (qemu) {
      Json disks = Json::array();
      if (storage && !storage->shared) {
        disks.push_back({{"volid", storage->id + ":vm-" + std::to_string(g->vmid) + "-disk-0"},
                         {"size", g->maxdisk}, {"drivename", "scsi0"}, {"is_attached", 1}});
      }
      out.update({{"local_disks", disks}, {"local_resources", Json::array()}, {"mapped-resources", Json::array()},
                  {"mapped-resource-info", Json::object()}, {"has-dbus-vmstate", 0}});
    }
    return Reply(out);
  };
}

Handler status_action(GuestType type, std::string action) {
  return [type, action](Ctx& c) -> Result<Reply> {
    PVEKIT_ASSIGN(std::string upid, start_status_action(c.world, c.node(), c.vmid(), type, action,
                                                        c.who.upid_user(), c.now));
    return Reply(Json(upid));
  };
}

Handler destroy(GuestType type) {
  return [type](Ctx& c) -> Result<Reply> {
    PVEKIT_ASSIGN(std::string upid, destroy_guest(c.world, c.node(), c.vmid(), type, param_bool(c.params, "purge"),
                                                  c.who.upid_user(), c.now));
    return Reply(Json(upid));
  };
}

// The storage id of a volume or "<storage>:<size>" disk spec ("" without one).
std::string storage_of(const std::string& spec) {
  const std::string first = spec.substr(0, spec.find(','));
  const auto colon = first.find(':');
  return colon == std::string::npos ? "" : first.substr(0, colon);
}

// PVE::API2::LXC create_vm and PVE::LXC::check_ct_modify_config_perm:
// VM.Allocate on the guest (or its pool), a privileged container needs
// Sys.Modify on /, read access to the template's storage, space on the
// disks' storages, and per configuration key the VM.Config.* privilege;
// a network device also needs SDN.Use on its bridge.
core::Status check_ct_create(Ctx& c) {
  const PermissionEnv& a = c.access;
  if (a.subject == "root@pam") return core::ok();
  const std::string vm = "/vms/" + c.str("vmid");
  const std::string pool = c.str("pool");
  auto vm_perm = [&](const std::string& priv) -> core::Status {
    if (!pool.empty() && a.allowed("/pool/" + pool, {priv})) return core::ok();
    return a.require(vm, {priv});
  };
  if (!pool.empty()) PVEKIT_TRY(check_perm_modify(a, "/pool/" + pool));
  PVEKIT_TRY(vm_perm("VM.Allocate"));
  if (!param_bool(c.params, "unprivileged")) PVEKIT_TRY(a.require("/", {"Sys.Modify"}));
  if (const std::string sid = storage_of(c.str("ostemplate")); !sid.empty()) {
    PVEKIT_TRY(a.require("/storage/" + sid, {"Datastore.AllocateSpace", "Datastore.Audit"}, true));
  }
  static const std::set<std::string> not_config = {"node", "vmid", "ostemplate", "storage", "password",
                                                   "ssh-public-keys", "force", "restore", "unique", "bwlimit",
                                                   "start", "ha-managed", "pool", "ignore-unpack-errors",
                                                   "unprivileged"};
  for (const auto& [key, value] : c.params) {
    if (not_config.count(key)) continue;
    if (key == "cores" || key == "cpuunits" || key == "cpulimit") {
      PVEKIT_TRY(vm_perm("VM.Config.CPU"));
    } else if (key == "memory" || key == "swap") {
      PVEKIT_TRY(vm_perm("VM.Config.Memory"));
    } else if (key == "rootfs" || core::starts_with(key, "mp")) {
      PVEKIT_TRY(vm_perm("VM.Config.Disk"));
      const std::string sid = storage_of(value);
      if (!sid.empty()) PVEKIT_TRY(a.require("/storage/" + sid, {"Datastore.AllocateSpace"}));
    } else if (core::starts_with(key, "net") || key == "hostname" || key == "nameserver" || key == "searchdomain") {
      PVEKIT_TRY(vm_perm("VM.Config.Network"));
      const std::string props = "," + value + ",";
      if (const auto b = props.find(",bridge="); b != std::string::npos) {
        const std::string bridge = props.substr(b + 8, props.find(',', b + 8) - b - 8);
        PVEKIT_TRY(a.require("/sdn/zones/localnetwork/" + bridge, {"SDN.Use"}));
      }
    } else if (core::starts_with(key, "dev")) {
      return permission_denied("configuring device passthrough is only allowed for root@pam");
    } else if (key == "hookscript") {
      return permission_denied("changing the hookscript is only allowed for root@pam");
    } else {
      PVEKIT_TRY(vm_perm("VM.Config.Options"));
    }
  }
  // The root disk is allocated on `storage` (default local) when no rootfs is given.
  if (!c.params.count("rootfs")) PVEKIT_TRY(a.require("/storage/" + c.str("storage", "local"), {"Datastore.AllocateSpace"}));
  return core::ok();
}

Result<Reply> create_ct(Ctx& c) {
  PVEKIT_TRY(check_ct_create(c));
  PVEKIT_ASSIGN(std::string upid, create_lxc(c.world, c.node(), c.params, c.who.upid_user(), c.now));
  return Reply(Json(upid));
}

Handler snapshots(GuestType type) {
  return [type](Ctx& c) -> Result<Reply> {
    PVEKIT_ASSIGN(Guest* g, guest_on(c.world, c.node(), c.vmid(), type));
    return Reply(snapshot_list(*g));
  };
}

Handler snapshot_op(GuestType type, char op) {
  return [type, op](Ctx& c) -> Result<Reply> {
    const std::string name = c.str("snapname");
    const std::string user = c.who.upid_user();
    Result<std::string> upid =
        op == 'c'   ? create_snapshot(c.world, c.node(), c.vmid(), type, name, c.str("description"), user, c.now)
        : op == 'r' ? rollback_snapshot(c.world, c.node(), c.vmid(), type, name, param_bool(c.params, "start"), user,
                                        c.now)
                    : delete_snapshot(c.world, c.node(), c.vmid(), type, name, user, c.now);
    if (!upid.ok()) return std::move(upid).error();
    return Reply(Json(*upid));
  };
}

std::vector<ParamSpec> nv(std::vector<ParamSpec> more = {}) {
  std::vector<ParamSpec> out = {p_node(), p_vmid()};
  out.insert(out.end(), more.begin(), more.end());
  return out;
}

void add_common(std::vector<Route>& r, GuestType t) {
  const std::string b = base(t);
  const std::vector<std::string> frames = {"hour", "day", "week", "month", "year"};
  r.push_back({"GET", b + "/{vmid}/config", nv({p_bool("current"), p_str("snapshot")}), config(t)});
  r.push_back({"GET", b + "/{vmid}/status/current", nv(), guest_view(t, guest_status)});
  r.push_back({"GET", b + "/{vmid}/rrddata", nv({p_enum("timeframe", frames, true), p_enum("cf", {"AVERAGE", "MAX"})}),
               rrd});
  r.push_back({"GET", b + "/{vmid}/snapshot", nv(), snapshots(t)});
  r.push_back({"GET", b + "/{vmid}/migrate", nv({p_str("target")}), migrate_check(t)});
}

// pvesim keeps memory and swap in bytes as int64: a limit PVE's schema does
// not have (memory: minimum 16, swap: minimum 0, no maximum).
constexpr int64_t kMaxMiB = std::numeric_limits<int64_t>::max() >> 20;

std::vector<ParamSpec> lxc_create_params() {
  std::vector<ParamSpec> p = {
      p_node(), p_vmid(), p_str("ostemplate", true), p_enum("arch", {"amd64", "i386", "arm64", "armhf", "riscv32", "riscv64"}),
      p_num("bwlimit", 0), p_enum("cmode", {"shell", "console", "tty"}), p_bool("console"), p_int("cores", false, 1, 8192),
      p_num("cpulimit", 0, 8192), p_int("cpuunits", false, 0, 500000), p_bool("debug"), p_str("description"),
      p_indexed("dev", 256), p_str("entrypoint"), p_str("env"), p_str("features"), p_bool("force"), p_bool("ha-managed"),
      p_str("hookscript"), p_str("hostname"), p_bool("ignore-unpack-errors"), p_int("memory", false, 16, kMaxMiB),
      p_indexed("mp", 256), p_str("nameserver"), p_indexed("net", 32), p_bool("onboot"),
      p_enum("ostype", {"debian", "devuan", "ubuntu", "centos", "fedora", "opensuse", "archlinux", "alpine", "gentoo",
                        "nixos", "unmanaged"}),
      p_str("password"), p_str("pool"), p_bool("protection"), p_bool("restore"), p_str("rootfs"),
      p_str("searchdomain"), p_str("ssh-public-keys"), p_bool("start"), p_str("startup"), p_str("storage"),
      p_int("swap", false, 0, kMaxMiB), p_str("tags"), p_bool("template"), p_str("timezone"), p_int("tty", false, 0, 6),
      p_bool("unique"), p_bool("unprivileged"), p_indexed("unused", 256)};
  return p;
}

}  // namespace

std::vector<Route> guest_routes() {
  const GuestType Q = GuestType::Qemu, L = GuestType::Lxc;
  std::vector<Route> r;
  r.push_back({"GET", base(Q), {p_node(), p_bool("full")}, list_guests(Q)});
  r.push_back({"GET", base(L), {p_node()}, list_guests(L)});
  add_common(r, Q);
  add_common(r, L);
  r.push_back({"POST", base(Q) + "/{vmid}/migrate",
               nv({p_str("target", true), p_int("bwlimit", false, 0), p_bool("force"), p_str("migration_network"),
                   p_enum("migration_type", {"secure", "insecure"}), p_bool("online"), p_str("targetstorage"),
                   p_bool("with-conntrack-state"), p_bool("with-local-disks")}),
               migrate(Q)});
  r.push_back({"POST", base(L) + "/{vmid}/migrate",
               nv({p_str("target", true), p_num("bwlimit", 0), p_bool("online"), p_bool("restart"),
                   p_str("target-storage"), p_int("timeout")}),
               migrate(L)});
  r.push_back({"POST", base(Q) + "/{vmid}/status/start", nv({p_bool("skiplock"), p_int("timeout", false, 0)}),
               status_action(Q, "start")});
  r.push_back({"POST", base(Q) + "/{vmid}/status/stop",
               nv({p_bool("keepActive"), p_str("migratedfrom"), p_bool("overrule-shutdown"), p_bool("skiplock"),
                   p_int("timeout", false, 0)}),
               status_action(Q, "stop")});
  r.push_back({"POST", base(Q) + "/{vmid}/status/shutdown",
               nv({p_bool("forceStop"), p_bool("keepActive"), p_bool("skiplock"), p_int("timeout", false, 0)}),
               status_action(Q, "shutdown")});
  r.push_back({"POST", base(L), lxc_create_params(), create_ct});
  r.push_back({"POST", base(L) + "/{vmid}/status/start", nv({p_bool("debug"), p_bool("skiplock")}),
               status_action(L, "start")});
  r.push_back({"POST", base(L) + "/{vmid}/status/stop", nv({p_bool("overrule-shutdown"), p_bool("skiplock")}),
               status_action(L, "stop")});
  r.push_back({"POST", base(L) + "/{vmid}/status/shutdown", nv({p_bool("forceStop"), p_int("timeout", false, 0)}),
               status_action(L, "shutdown")});
  r.push_back({"POST", base(L) + "/{vmid}/status/suspend", nv(), status_action(L, "suspend")});
  r.push_back({"POST", base(L) + "/{vmid}/status/resume", nv(), status_action(L, "resume")});
  r.push_back({"POST", base(L) + "/{vmid}/status/reboot", nv({p_int("timeout", false, 0)}), status_action(L, "reboot")});
  r.push_back({"DELETE", base(L) + "/{vmid}",
               nv({p_bool("destroy-unreferenced-disks"), p_bool("force"), p_bool("purge")}), destroy(L)});
  r.push_back({"DELETE", base(Q) + "/{vmid}", nv({p_bool("destroy-unreferenced-disks"), p_bool("purge"), p_bool("skiplock")}),
               destroy(Q)});
  r.push_back({"POST", base(L) + "/{vmid}/snapshot", nv({p_str("snapname", true), p_str("description")}),
               snapshot_op(L, 'c')});
  r.push_back({"POST", base(L) + "/{vmid}/snapshot/{snapname}/rollback", nv({p_str("snapname", true), p_bool("start")}),
               snapshot_op(L, 'r')});
  r.push_back({"DELETE", base(L) + "/{vmid}/snapshot/{snapname}", nv({p_str("snapname", true), p_bool("force")}),
               snapshot_op(L, 'd')});
  return r;
}

}  // namespace pvekit::sim
