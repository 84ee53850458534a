#include "oci/commands.h"

namespace pvekit::oci {

core::Status cmd_resume(Context& ctx, const ResumeOptions& o) {
  PVEKIT_ASSIGN(auto c, load_container(ctx, o.id));
  if (!can_resume(c.status)) return core::Error(core::ErrorCategory::Conflict, "container not paused");
  PVEKIT_TRY(c.backend->resume(c.state));
  // A paused container that was never started goes back to created (its fifo says so).
  c.state.status = ContainerStatus::Running;
  return ctx.store.save(c.state);
}

}  // namespace pvekit::oci
