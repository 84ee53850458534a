#include <algorithm>
#include <climits>
#include <optional>
#include <cstdlib>
#include <unistd.h>

#include "core/files.h"
#include "core/strings.h"
#include "oci/checkpoint_support.h"
#include "oci/commands.h"
#include "oci/linux/cgroups.h"

namespace pvekit::oci {

using core::Error;
using core::ErrorCategory;

namespace {

// Bundle and rootfs as create resolves them.
struct BundlePaths {
  std::string bundle, rootfs;
};

core::Result<std::string> real_path(const std::string& path, const std::string& what) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return Error::system(what + " " + path, errno);
  return std::string(buf);
}

core::Result<BundlePaths> bundle_paths(const std::string& bundle_arg) {
  BundlePaths p;
  PVEKIT_ASSIGN(p.bundle, real_path(bundle_arg, "bundle"));
  PVEKIT_ASSIGN(auto spec, load_spec(p.bundle));
  PVEKIT_ASSIGN(p.rootfs, real_path(spec.root.path[0] == '/' ? spec.root.path : p.bundle + "/" + spec.root.path,
                                    "root.path"));
  return p;
}

// The proxmox backend: Proxmox rolls the container back in place and starts
// it again when it was running.
core::Result<int> restore_pve(Context& ctx, LoadedContainer& c, const RestoreOptions& o) {
  if (o.snapshot.empty())
    return Error(ErrorCategory::Usage, "restore of a proxmox container needs --snapshot NAME (see checkpoint --list)");
  PVEKIT_ASSIGN(auto tools, open_snapshot_tools(ctx.global.config, c.state, true));
  PVEKIT_TRY(refuse_criu_flags(tools->kind, o.criu));
  const bool running = c.status == ContainerStatus::Running || c.status == ContainerStatus::Paused;
  PVEKIT_TRY(tools->driver->rollback(snapshot_target(c.state), o.snapshot, running));
  c.state.status = running ? ContainerStatus::Running : ContainerStatus::Stopped;
  PVEKIT_TRY(ctx.store.save(c.state));
  return 0;
}

// A storage snapshot on the linux backend: the rootfs is rolled back while
// no container uses it, then the container runs from the bundle like `run`.
core::Result<int> restore_storage(Context& ctx, const RestoreOptions& o, const ContainerState& probe,
                                  SnapshotTools& tools) {
  PVEKIT_TRY(tools.driver->rollback(snapshot_target(probe), o.snapshot, false));
  RunOptions run{.create = o.create, .detach = o.detach, .keep = false};
  run.create.bundle = probe.bundle;
  return cmd_run(ctx, run);
}

// runc's restore: CRIU recreates the process tree from --image-path.
core::Result<int> restore_criu(Context& ctx, const RestoreOptions& o, ContainerState state, SnapshotTools& tools) {
  snapshot::Criu criu(tools.runner, ctx.global.config.checkpoint.criu_command);
  PVEKIT_TRY(criu.check());
  PVEKIT_ASSIGN(auto spec, load_spec(state.bundle));
  PVEKIT_ASSIGN(state.cgroup_path,
                linux::resolve_cgroup_path(spec.linux ? spec.linux->cgroups_path : std::string(), state.id));
  PVEKIT_ASSIGN(auto lock, ctx.store.create(o.create.id));
  const std::string dir = ctx.store.dir(state.id), pid_file = dir + "/restore.pid";
  snapshot::CriuOptions options = o.criu;
  if (options.image_path.empty()) options.image_path = "checkpoint";
  auto restored = [&]() -> core::Status {
    PVEKIT_TRY(core::write_file_atomic(dir + "/config.json",
                                       core::read_file(state.bundle + "/config.json").value_or(""), 0600,
                                       core::Durability::RuntimeState));
    PVEKIT_TRY(criu.restore(state.rootfs, pid_file, options));
    PVEKIT_ASSIGN(auto text, core::read_file(pid_file));
    auto pid = core::parse_int(core::trim(text));
    if (!pid || *pid <= 0) return Error(ErrorCategory::Runtime, "criu restore wrote no pid to " + pid_file);
    state.pid = static_cast<pid_t>(*pid);
    auto stat = read_proc_stat(state.pid);
    if (!stat) return Error(ErrorCategory::Runtime, "restored process " + std::to_string(*pid) + " is gone");
    state.pid_start_time = stat->start_time;
    state.status = ContainerStatus::Running;
    state.created = rfc3339_now();
    PVEKIT_TRY(ctx.store.save(state));
    if (!o.create.pid_file.empty())
      PVEKIT_TRY(core::write_file_atomic(o.create.pid_file, std::to_string(state.pid), 0644,
                                         core::Durability::RuntimeState)
                     .wrap("--pid-file"));
    return core::ok();
  }();
  if (!restored.ok()) {
    (void)ctx.store.remove(state.id);  // the restore error is what the user needs to see
    return std::move(restored).error();
  }
  return 0;
}

}  // namespace

core::Result<int> cmd_restore(Context& ctx, const RestoreOptions& o) {
  PVEKIT_TRY(validate_id(o.create.id));
  std::optional<LoadedContainer> existing;
  std::string bundle = o.create.bundle;
  if (ctx.store.exists(o.create.id)) {
    PVEKIT_ASSIGN(auto c, load_container(ctx, o.create.id));
    if (c.state.backend == "proxmox") return restore_pve(ctx, c, o);
    if (c.status != ContainerStatus::Stopped)
      return Error(ErrorCategory::Conflict, "container " + o.create.id + " is " + std::string(to_string(c.status)) +
                                                ": restore recreates it, so stop it first (lxcri kill " +
                                                o.create.id + " KILL)");
    if (bundle.empty()) bundle = c.state.bundle;
    existing.emplace(std::move(c));
  }
  ContainerState probe;  // the container as it will be: what picks the driver
  probe.id = o.create.id;
  PVEKIT_ASSIGN(auto paths, bundle_paths(bundle.empty() ? "." : bundle));
  probe.bundle = paths.bundle;
  probe.rootfs = paths.rootfs;
  PVEKIT_ASSIGN(auto tools, open_snapshot_tools(ctx.global.config, probe, !o.snapshot.empty()));
  const bool criu = tools->kind == snapshot::DriverKind::Criu;
  if (!criu && o.snapshot.empty())
    return Error(ErrorCategory::Usage, "restore with the " + snapshot::to_string(tools->kind) +
                                           " driver needs --snapshot NAME (see checkpoint --list)");
  if (criu && !o.snapshot.empty())
    return Error(ErrorCategory::Usage, "--snapshot needs a storage snapshot driver (zfs, btrfs, pve), "
                                       "but checkpoint.driver is criu");
  if (!criu) {
    PVEKIT_TRY(refuse_criu_flags(tools->kind, o.criu));
    // Checked before the old container goes, so a typo leaves it in place.
    PVEKIT_ASSIGN(auto snaps, tools->driver->list(snapshot_target(probe)));
    if (std::none_of(snaps.begin(), snaps.end(), [&](const auto& s) { return s.name == o.snapshot; }))
      return Error(ErrorCategory::NotFound, snapshot::to_string(tools->kind) + " snapshot " + o.snapshot + " of " +
                                                o.create.id + " does not exist");
  }
  // The stopped container is replaced, as runc requires a free id.
  if (existing) {
    PVEKIT_TRY(destroy_container(ctx, *existing));
    existing.reset();
  }
  return criu ? restore_criu(ctx, o, probe, *tools) : restore_storage(ctx, o, probe, *tools);
}

}  // namespace pvekit::oci
