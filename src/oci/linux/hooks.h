#pragma once

// OCI hooks: each runs as a child process with the container state JSON on
// stdin, its own args/env, and an optional timeout (killed with SIGKILL).

#include <string>
#include <vector>

#include "core/result.h"
#include "oci/spec.h"

namespace pvekit::oci::linux {

core::Status run_hook(const Hook& hook, const std::string& state_json);
// Runs `hooks` in order; the first failure stops, naming "<stage> hook #i".
core::Status run_hooks(const std::vector<Hook>& hooks, const std::string& stage, const std::string& state_json);

}  // namespace pvekit::oci::linux
