#include "oci/commands.h"

namespace pvekit::oci {

core::Status cmd_state(Context& ctx, const StateOptions& o) {
  PVEKIT_ASSIGN(auto c, load_container(ctx, o.id));
  ctx.out << state_json(c).dump(2) << "\n";
  return core::ok();
}

}  // namespace pvekit::oci
