// lxcri-systemd: the systemd cgroup driver's D-Bus client, one call per run
// (src/oci/systemd_helper.h). Wiring only.

#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "oci/linux/systemd_cgroup.h"
#include "oci/systemd_helper.h"

int main(int argc, char** argv) {
  std::string input(std::istreambuf_iterator<char>(std::cin), {});
  return pvekit::oci::serve_systemd_call(std::vector<std::string>(argv + 1, argv + argc), input,
                                         pvekit::oci::linux::connect_sd_bus, std::cerr);
}
