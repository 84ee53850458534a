#pragma once

// Copies a directory's contents between two directory descriptors, for the
// tmpcopyup mount option (runc's extension: a tmpfs mounted over an image
// directory starts with that directory's contents).

#include "core/result.h"

namespace pvekit::oci::linux {

// Copies everything below `from` into `to` (both O_RDONLY directory
// descriptors): directories, regular files, symlinks (as links, never
// followed), device nodes, fifos and sockets, with their mode, owner and
// times. Nothing is resolved by path, so a hostile tree cannot redirect the
// copy; a tree deeper than 256 levels is an error.
core::Status copy_tree(int from, int to);

}  // namespace pvekit::oci::linux
