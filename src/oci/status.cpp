#include "oci/status.h"

namespace pvekit::oci {

std::string_view to_string(ContainerStatus status) {
  switch (status) {
    case ContainerStatus::Creating: return "creating";
    case ContainerStatus::Created: return "created";
    case ContainerStatus::Running: return "running";
    case ContainerStatus::Paused: return "paused";
    case ContainerStatus::Stopped: return "stopped";
  }
  return "unknown";
}

std::optional<ContainerStatus> parse_status(std::string_view text) {
  for (auto s : {ContainerStatus::Creating, ContainerStatus::Created, ContainerStatus::Running,
                 ContainerStatus::Paused, ContainerStatus::Stopped})
    if (to_string(s) == text) return s;
  return std::nullopt;
}

bool can_start(ContainerStatus s) { return s == ContainerStatus::Created; }

bool can_kill(ContainerStatus s) {
  return s == ContainerStatus::Created || s == ContainerStatus::Running || s == ContainerStatus::Paused;
}

bool can_delete(ContainerStatus s) { return s == ContainerStatus::Stopped || s == ContainerStatus::Created; }

bool can_pause(ContainerStatus s) { return s == ContainerStatus::Running || s == ContainerStatus::Created; }

bool can_resume(ContainerStatus s) { return s == ContainerStatus::Paused; }

bool can_exec(ContainerStatus s, bool ignore_paused) {
  return s == ContainerStatus::Running || s == ContainerStatus::Created || (ignore_paused && s == ContainerStatus::Paused);
}

}  // namespace pvekit::oci
