#include "oci/commands.h"

namespace pvekit::oci {

core::Status cmd_state(Context& ctx, const StateOptions& o) {
  PVEKIT_ASSIGN(auto c, load_container(ctx, o.id));
  ctx.out << runc_state_json(c.state, c.status).dump(2) << "\n";
  return core::ok();
}

}  // namespace pvekit::oci
