#include "oci/proxmox_helper.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "oci/helper.h"
#include "oci/linux/selfexec.h"

namespace pvekit::oci {

namespace {
const ProxmoxFunctions* linked = nullptr;
char** command_line = nullptr;
}  // namespace

std::string proxmox_helper_path(const std::string& executable) { return helper_path(executable, "lxcri-proxmox"); }

void link_proxmox_functions(const ProxmoxFunctions& functions) {
  set_executable_is_helper();
  linked = &functions;
}

void set_command_line(char** argv) { command_line = argv; }

core::Result<const ProxmoxFunctions*> proxmox_functions() {
  if (linked != nullptr) return linked;
  PVEKIT_ASSIGN(auto executable, linux::original_executable());
  const std::string path = proxmox_helper_path(executable);
  if (command_line == nullptr) return helper_error(path, "proxmox backend", "no command line to hand over");
  ::execv(path.c_str(), command_line);
  return helper_error(path, "proxmox backend", std::strerror(errno));
}

}  // namespace pvekit::oci
