#include "oci/commands.h"

namespace pvekit::oci {

using core::Error;
using core::ErrorCategory;

core::Status cmd_delete(Context& ctx, const DeleteOptions& o) {
  auto c = load_container(ctx, o.id);
  if (!c.ok()) {
    // --force on a missing container succeeds, as with runc.
    if (o.force && c.error().category() == ErrorCategory::NotFound) return core::ok();
    return std::move(c).error();
  }
  if (!o.force && !can_delete(c->status))
    return Error(ErrorCategory::Conflict, "cannot delete container " + o.id +
                                              " that is not stopped: " + std::string(to_string(c->status)));
  return destroy_container(ctx, *c);
}

}  // namespace pvekit::oci
