// lxcri: an OCI runtime with runc's command line. Wiring only; see src/oci/.

#include "oci/cli.h"

int main(int argc, char** argv) { return pvekit::oci::lxcri_main(argc, argv); }
