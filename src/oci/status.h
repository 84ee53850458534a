#pragma once

// Container lifecycle states (runtime-spec runtime.md "State") and which
// operations each one allows.

#include <optional>
#include <string>
#include <string_view>

namespace pvekit::oci {

enum class ContainerStatus { Creating, Created, Running, Paused, Stopped };

std::string_view to_string(ContainerStatus status);
std::optional<ContainerStatus> parse_status(std::string_view text);

// `start` needs a created container.
bool can_start(ContainerStatus s);
// `kill` needs a created, running or paused container (runc also allows signalling a paused one).
bool can_kill(ContainerStatus s);
// `delete` without --force needs a stopped (or created, as runc allows) container.
bool can_delete(ContainerStatus s);
bool can_pause(ContainerStatus s);
bool can_resume(ContainerStatus s);
// `exec` needs a created or running container; a paused one only with
// --ignore-paused (the process then waits for `resume`), as runc.
bool can_exec(ContainerStatus s, bool ignore_paused);

}  // namespace pvekit::oci
