// lxcri-proxmox: lxcri with the proxmox backend linked in, to which lxcri
// hands the commands that need it (src/oci/proxmox_helper.h). Wiring only.

#include "oci/cli.h"
#include "oci/proxmox/backend.h"

int main(int argc, char** argv) {
  pvekit::oci::proxmox::link_into_lxcri();
  return pvekit::oci::lxcri_main(argc, argv);
}
