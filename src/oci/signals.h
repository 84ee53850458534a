#pragma once

#include <string>

#include "core/result.h"

namespace pvekit::oci {

// Parses a signal as runc's `kill` accepts it: a number ("9"), a name with
// or without the SIG prefix, any case ("KILL", "sigterm", "SIGRTMIN+3").
core::Result<int> parse_signal(const std::string& text);

// "SIGTERM" for 15; "SIG<n>" when unnamed.
std::string signal_name(int sig);

}  // namespace pvekit::oci
