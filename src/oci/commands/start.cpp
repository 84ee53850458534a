#include "core/log.h"
#include "oci/commands.h"
#include "oci/linux/hooks.h"

namespace pvekit::oci {

using core::Error;
using core::ErrorCategory;

core::Status cmd_start(Context& ctx, const StartOptions& o) {
  PVEKIT_ASSIGN(auto c, load_container(ctx, o.id));
  if (!can_start(c.status)) {
    // runc's messages for the two cases users meet.
    if (c.status == ContainerStatus::Stopped)
      return Error(ErrorCategory::Conflict, "cannot start a container that has stopped");
    if (c.status == ContainerStatus::Running)
      return Error(ErrorCategory::Conflict, "cannot start an already running container");
    return Error(ErrorCategory::Conflict,
                 "cannot start a container in the " + std::string(to_string(c.status)) + " state");
  }
  PVEKIT_TRY(c.backend->start(c.state, ctx.store.dir(o.id)));
  c.state.status = ContainerStatus::Running;
  c.status = ContainerStatus::Running;
  PVEKIT_TRY(ctx.store.save(c.state));
  if (auto spec = stored_spec(ctx, o.id); spec.ok()) {
    // poststart failures are logged and do not fail start (runtime-spec).
    if (auto s = linux::run_hooks(spec->hooks.poststart, "poststart", hook_state_json(c)); !s.ok())
      spdlog::warn("{}", s.error().to_string());
  }
  return core::ok();
}

}  // namespace pvekit::oci
