#pragma once

// The runtime code names file descriptors UniqueFd throughout.
#include "core/fd.h"

namespace pvekit::oci {
using core::UniqueFd;
}  // namespace pvekit::oci
