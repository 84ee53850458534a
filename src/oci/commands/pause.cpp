#include "oci/commands.h"

namespace pvekit::oci {

core::Status cmd_pause(Context& ctx, const PauseOptions& o) {
  PVEKIT_ASSIGN(auto c, load_container(ctx, o.id));
  if (!can_pause(c.status)) return core::Error(core::ErrorCategory::Conflict, "container not running");
  PVEKIT_TRY(c.backend->pause(c.state));
  c.state.status = ContainerStatus::Paused;
  return ctx.store.save(c.state);
}

}  // namespace pvekit::oci
