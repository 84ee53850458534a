#pragma once

#include "core/result.h"
#include "oci/spec.h"

namespace pvekit::oci::linux {

// Capability numbers for names ("CAP_KILL" -> 5); Config error naming the
// unknown capability. Names the running kernel does not know are skipped, as runc does.
core::Result<std::vector<int>> capability_numbers(const std::vector<std::string>& names);

// Drops every capability not in caps.bounding from the bounding set. Needs
// CAP_SETPCAP, so it runs before the user switch.
core::Status drop_bounding(const Capabilities& caps);

// Sets effective, permitted and inheritable, then raises the ambient set.
// Runs after the user switch (with PR_SET_KEEPCAPS held).
core::Status apply_capabilities(const Capabilities& caps);

}  // namespace pvekit::oci::linux
