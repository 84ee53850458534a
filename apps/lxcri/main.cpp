// lxcri: an OCI runtime with runc's command line. Wiring only; see src/oci/.

#include <iostream>

#include "oci/cli.h"
#include "oci/linux/selfexec.h"

int main(int argc, char** argv) {
  using namespace pvekit::oci;
  if (cli_needs_sealed_binary(argc, argv)) {
    // Never hand a container a way to our writable binary (CVE-2019-5736).
    auto s = linux::ensure_protected_exe(argv);
    if (!s.ok()) {
      std::cerr << "lxcri: error: " << s.error().to_string() << "\n";
      return 1;
    }
  }
  return run_cli(argc, argv, std::cout, std::cerr);
}
