#pragma once

// Paths inside a container's rootfs, resolved with descriptors. A container
// path is resolved as the container will see it (an absolute symlink restarts
// at the rootfs, ".." stops there), but never by string: each lookup starts
// from a descriptor of the rootfs and the result is a descriptor, which the
// caller mounts onto through fd_path(). No symlink, "..", magic link of
// /proc or rename racing with us can make a lookup leave the rootfs.
//
// openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) does the work where the
// kernel has it (5.6+); elsewhere a component-by-component walk with
// O_PATH | O_NOFOLLOW does the same. A symlink loop is ELOOP, as with runc.

#include <fcntl.h>
#include <sys/types.h>

#include <string>
#include <utility>

#include "core/result.h"
#include "oci/fd.h"

namespace pvekit::oci::linux {

enum class Resolver {
  Openat2,  // the kernel's RESOLVE_IN_ROOT
  Walk,     // our own walk, for kernels without openat2
};

struct InRootOptions {
  int flags = O_PATH;          // open(2) flags of the final descriptor (O_CLOEXEC is always added)
  bool no_symlinks = false;    // refuse any symlink on the way (ELOOP), for /proc and /sys
  Resolver resolver = Resolver::Openat2;  // Openat2 falls back to Walk when the kernel lacks it
};

// Opens the container path `path` inside the directory `root`.
core::Result<UniqueFd> open_in_root(int root, const std::string& path, const InRootOptions& options = {});

// Creates the directory `path` and its missing parents inside `root`; returns
// an O_PATH descriptor of it. A dangling symlink on the way is an error: we
// do not guess where the image meant it to point.
core::Result<UniqueFd> mkdir_in_root(int root, const std::string& path, mode_t mode,
                                     Resolver resolver = Resolver::Openat2);

// Creates an empty regular file at `path` (a bind-mount target) and its
// missing parent directories; an existing entry of any type is fine. Returns
// an O_PATH descriptor of what is there.
core::Result<UniqueFd> create_file_in_root(int root, const std::string& path, mode_t mode,
                                           Resolver resolver = Resolver::Openat2);

// "/proc/self/fd/N": a path that mount(2) and friends resolve to exactly the
// object behind `fd`.
std::string fd_path(int fd);

// `path` split into its last component and the rest ("/a/b/c" -> {"/a/b", "c"};
// "/" -> {"/", ""}).
std::pair<std::string, std::string> split_last(const std::string& path);

}  // namespace pvekit::oci::linux
