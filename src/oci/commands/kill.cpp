#include "oci/commands.h"
#include "oci/signals.h"

namespace pvekit::oci {

core::Status cmd_kill(Context& ctx, const KillOptions& o) {
  PVEKIT_ASSIGN(int sig, parse_signal(o.signal));
  PVEKIT_ASSIGN(auto c, load_container(ctx, o.id));
  if (!can_kill(c.status)) return core::Error(core::ErrorCategory::Conflict, "container not running");
  return c.backend->kill(c.state, sig, o.all);
}

}  // namespace pvekit::oci
