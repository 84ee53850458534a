#include <chrono>
#include <filesystem>
#include <iomanip>

#include "core/log.h"
#include "core/utc_time.h"
#include "oci/checkpoint_support.h"
#include "oci/commands.h"

namespace pvekit::oci {

using core::Error;
using core::ErrorCategory;

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string format_time(int64_t unix_s) {
  if (unix_s == 0) return "-";
  return core::format_utc(static_cast<std::time_t>(unix_s), "%Y-%m-%dT%H:%M:%SZ");
}

core::Status print_list(Context& ctx, SnapshotTools& tools, const ContainerState& state, const std::string& format) {
  PVEKIT_ASSIGN(auto snaps, tools.driver->list(snapshot_target(state)));
  const std::string driver = snapshot::to_string(tools.kind);
  if (format == "json") {
    auto out = nlohmann::ordered_json::array();
    for (const auto& s : snaps) out.push_back({{"name", s.name}, {"created", format_time(s.created)}, {"driver", driver}});
    ctx.out << out.dump() << "\n";
    return core::ok();
  }
  ctx.out << std::left << std::setw(42) << "NAME" << std::setw(22) << "CREATED" << "DRIVER\n";
  for (const auto& s : snaps)
    ctx.out << std::left << std::setw(42) << s.name << std::setw(22) << format_time(s.created) << driver << "\n";
  return core::ok();
}

// Takes the snapshot with the container frozen when the driver asks for it,
// and leaves the container as it found it (a running one runs again even
// when the snapshot failed).
core::Status take_snapshot(LoadedContainer& c, snapshot::Driver& driver, const std::string& name) {
  const bool freeze = driver.needs_freeze() && c.status == ContainerStatus::Running;
  if (freeze) PVEKIT_TRY(c.backend->pause(c.state).wrap("freeze " + c.state.id + " for a consistent snapshot"));
  core::Status taken = driver.create(snapshot_target(c.state), name);
  if (freeze) PVEKIT_TRY(c.backend->resume(c.state).wrap("thaw " + c.state.id + " after the snapshot"));
  return taken;
}

core::Status storage_checkpoint(Context& ctx, LoadedContainer& c, SnapshotTools& tools, const CheckpointOptions& o) {
  if (c.status == ContainerStatus::Creating)
    return Error(ErrorCategory::Conflict, "container " + c.state.id + " is still being created");
  const std::string name = o.snapshot.empty() ? snapshot::auto_snapshot_name(now_ms()) : o.snapshot;
  PVEKIT_TRY(snapshot::validate_snapshot_name(name));
  PVEKIT_TRY(take_snapshot(c, *tools.driver, name));
  ctx.out << name << "\n";
  const auto& policy = ctx.global.config.checkpoint.retention;
  PVEKIT_ASSIGN(auto removed, snapshot::apply_retention(*tools.driver, snapshot_target(c.state), policy,
                                                        now_ms() / 1000, name));
  for (const auto& r : removed) spdlog::info("checkpoint {}: retention removed snapshot {}", c.state.id, r);
  return core::ok();
}

core::Status criu_checkpoint(Context& ctx, LoadedContainer& c, SnapshotTools& tools, const CheckpointOptions& o) {
  if (c.status != ContainerStatus::Running && c.status != ContainerStatus::Paused)
    return Error(ErrorCategory::Conflict, "container " + c.state.id + " is not running");
  snapshot::Criu criu(tools.runner, ctx.global.config.checkpoint.criu_command);
  PVEKIT_TRY(criu.check());
  snapshot::CriuOptions options = o.criu;
  if (options.image_path.empty()) options.image_path = "checkpoint";
  for (const auto& dir : {options.image_path, options.work_path}) {
    std::error_code ec;
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    if (ec) return Error(ErrorCategory::System, "create " + dir + ": " + ec.message());
  }
  PVEKIT_TRY(criu.dump(c.state.pid, options));
  // As runc: a checkpoint that stopped the container also deletes it; restore recreates it.
  if (o.criu.leave_running || o.criu.pre_dump) return core::ok();
  return destroy_container(ctx, c);
}

}  // namespace

core::Status cmd_checkpoint(Context& ctx, const CheckpointOptions& o) {
  if (o.format != "table" && o.format != "json")
    return Error(ErrorCategory::Usage, "invalid format option \"" + o.format + "\" (table or json)");
  if (int(o.list) + int(!o.remove.empty()) + int(!o.snapshot.empty()) > 1)
    return Error(ErrorCategory::Usage, "--list, --delete and --snapshot exclude each other");
  PVEKIT_ASSIGN(auto c, load_container(ctx, o.id));
  const bool named = o.list || !o.remove.empty() || !o.snapshot.empty();
  PVEKIT_ASSIGN(auto tools, open_snapshot_tools(ctx.global.config, c.state, named));
  if (tools->kind == snapshot::DriverKind::Criu) {
    if (named) return Error(ErrorCategory::Usage, "--snapshot, --list and --delete need a storage snapshot driver "
                                                  "(zfs, btrfs, pve), but checkpoint.driver is criu");
    return criu_checkpoint(ctx, c, *tools, o);
  }
  PVEKIT_TRY(refuse_criu_flags(tools->kind, o.criu));
  if (o.list) return print_list(ctx, *tools, c.state, o.format);
  if (!o.remove.empty()) return tools->driver->remove(snapshot_target(c.state), o.remove);
  return storage_checkpoint(ctx, c, *tools, o);
}

}  // namespace pvekit::oci
