#pragma once

// lxcri's command line (runc's commands and flags) on CLI11. Parses argv,
// runs the command and returns the process exit code; errors are printed to
// stderr (and, with --log, logged in the log's format) here.

#include <iosfwd>

namespace pvekit::oci {

int run_cli(int argc, char** argv, std::ostream& out, std::ostream& err);

// True when argv names a command that starts container processes (create,
// run, exec), i.e. one that must run from a sealed copy of the binary.
bool cli_needs_sealed_binary(int argc, char** argv);

// lxcri's main (and the helper lxcri-proxmox's): protects the binary when
// the command needs it, keeps argv for a hand-over to the proxmox helper, and
// runs the command on std::cout and std::cerr.
int lxcri_main(int argc, char** argv);

}  // namespace pvekit::oci
