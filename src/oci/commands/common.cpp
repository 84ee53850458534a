#include "core/files.h"
#include "core/log.h"
#include "oci/commands.h"
#include "oci/linux/hooks.h"
#include "oci/proxmox_helper.h"

namespace pvekit::oci {

namespace {

// A container whose state directory is gone may still live in the Proxmox
// cluster (lxcri tags it there at create): find it and write its state again.
// Any failure leaves the original NotFound for the caller (`delete --force`
// on a missing id must still succeed).
core::Result<ContainerLock> lock_or_recover(Context& ctx, const std::string& id) {
  auto lock = ctx.store.lock(id);
  if (lock.ok() || lock.error().category() != core::ErrorCategory::NotFound ||
      ctx.global.config.proxmox_api.hosts.empty() || !validate_id(id).ok())
    return lock;
  auto proxmox = proxmox_functions();
  auto found = proxmox.ok() ? (*proxmox)->find(ctx.global.config, id)
                           : core::Result<std::optional<ContainerState>>(proxmox.error());
  if (!found.ok()) {
    spdlog::warn("looking for container {} in the Proxmox cluster: {}", id, found.error().to_string());
    return lock;
  }
  if (!found->has_value()) return lock;
  return restore_state(ctx, **found);
}

}  // namespace

core::Result<ContainerLock> restore_state(Context& ctx, const ContainerState& found) {
  PVEKIT_ASSIGN(auto lock, ctx.store.create(found.id));
  PVEKIT_TRY(ctx.store.save(found).wrap("recover container " + found.id));
  spdlog::info("recovered container {} from CT {} on node {}", found.id, found.pve_vmid, found.pve_node);
  return lock;
}

core::Result<LoadedContainer> load_container(Context& ctx, const std::string& id) {
  PVEKIT_ASSIGN(auto lock, lock_or_recover(ctx, id));
  PVEKIT_ASSIGN(auto state, ctx.store.load(id));
  PVEKIT_ASSIGN(auto backend, make_backend(state.backend, ctx.global));
  PVEKIT_ASSIGN(ContainerStatus live, backend->live_status(state, ctx.store.fifo_exists(id)));
  return LoadedContainer{std::move(lock), std::move(state), live, std::move(backend)};
}

std::string hook_state_json(const LoadedContainer& c) { return runc_state_json(c.state, c.status).dump(); }

nlohmann::ordered_json state_json(const LoadedContainer& c) { return state_json(c.state, c.status); }

nlohmann::ordered_json state_json(const ContainerState& state, ContainerStatus status) {
  auto j = runc_state_json(state, status);
  j["backend"] = state.backend;
  if (state.backend == "proxmox") j["proxmox"] = {{"node", state.pve_node}, {"vmid", state.pve_vmid}};
  return j;
}

core::Result<Spec> stored_spec(const Context& ctx, const std::string& id) {
  PVEKIT_ASSIGN(auto text, core::read_file(ctx.store.dir(id) + "/config.json"));
  return parse_spec_text(text);
}

core::Status destroy_container(Context& ctx, LoadedContainer& c) {
  PVEKIT_TRY(c.backend->destroy(c.state));
  c.status = ContainerStatus::Stopped;
  if (auto spec = stored_spec(ctx, c.state.id); spec.ok()) {
    // poststop failures are logged, not fatal (runtime-spec: "the runtime MUST log a warning").
    if (auto s = linux::run_hooks(spec->hooks.poststop, "poststop", hook_state_json(c)); !s.ok())
      spdlog::warn("{}", s.error().to_string());
  }
  return ctx.store.remove(c.state.id);
}

}  // namespace pvekit::oci
