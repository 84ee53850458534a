#pragma once

// Copies a directory's contents between two directory descriptors, for the
// tmpcopyup mount option (runc's extension: a tmpfs mounted over an image
// directory starts with that directory's contents).

#include <string>

#include "core/result.h"

namespace pvekit::oci::linux {

// Copies everything below `from` into `to` (both O_RDONLY directory
// descriptors): directories, regular files, symlinks (as links, never
// followed), device nodes, fifos and sockets, with their mode, owner and
// times. Nothing is resolved by path, so a hostile tree cannot redirect the
// copy; a tree deeper than 256 levels is an error.
core::Status copy_tree(int from, int to);

// Copies the data of the regular file open at `src` to `dst` from their
// current offsets (copy_file_range, else sendfile); `name` is for errors.
core::Status copy_file_data(int src, int dst, const std::string& name);

}  // namespace pvekit::oci::linux
