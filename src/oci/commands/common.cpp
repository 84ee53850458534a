#include "core/files.h"
#include "core/log.h"
#include "oci/commands.h"
#include "oci/linux/hooks.h"

namespace pvekit::oci {

core::Result<LoadedContainer> load_container(Context& ctx, const std::string& id) {
  PVEKIT_ASSIGN(auto lock, ctx.store.lock(id));
  PVEKIT_ASSIGN(auto state, ctx.store.load(id));
  PVEKIT_ASSIGN(auto backend, make_backend(state.backend, ctx.global));
  ContainerStatus live = derive_status(state.status, backend->alive(state), ctx.store.fifo_exists(id));
  return LoadedContainer{std::move(lock), std::move(state), live, std::move(backend)};
}

std::string hook_state_json(const LoadedContainer& c) { return runc_state_json(c.state, c.status).dump(); }

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
