#pragma once

#include <sys/types.h>

#include "core/result.h"
#include "oci/fd.h"
#include "oci/spec.h"

namespace pvekit::oci::linux {

// CLONE_NEW* for a namespace type ("pid" -> CLONE_NEWPID); 0 when unknown.
int namespace_flag(const std::string& type);

// Flags for the namespaces the container's init is cloned with (entries
// without a path). Not the cgroup namespace: its root is the cgroup of the
// process that creates it, so the init unshares it once it is in the
// container's cgroup (unshare_cgroup_namespace), as runc and crun do.
int clone_flags(const LinuxConfig& linux);

// Creates the container's new cgroup namespace, if it has one: called by the
// init after the runtime has moved it into the container's cgroup, so that
// inside /proc/self/cgroup reads "0::/" and /sys/fs/cgroup shows its limits.
core::Status unshare_cgroup_namespace(const LinuxConfig& linux);

// Joins the namespaces given by path, user first, skipping pid (which the
// parent joins around the clone, since setns(pid) only affects children).
core::Status join_namespaces(const LinuxConfig& linux);
// Parent side: makes the pid namespace given by path, if any, the one our
// next child is born in. Returns a descriptor of our own for
// leave_child_pid_namespace (invalid when nothing was joined).
core::Result<UniqueFd> enter_child_pid_namespace(const LinuxConfig& linux);
// Back to our own pid namespace for children, so the hooks we run stay in
// the runtime's namespace (runtime-spec).
core::Status leave_child_pid_namespace(const UniqueFd& own);

// Brings up the loopback interface of the network namespace we are in: a new
// one starts with `lo` down, and runc brings it up.
core::Status bring_loopback_up();

// Refuses a linux.sysctl key that no namespace of the container isolates
// (the write would change the host), as runc does: kernel.msg*, kernel.sem,
// kernel.shm* and fs.mqueue.* need an ipc namespace, net.* a network one,
// kernel.domainname a uts one; kernel.hostname conflicts with "hostname".
core::Status check_sysctl_namespaces(const LinuxConfig& linux);

// "0 1000 1\n..." as written to /proc/PID/uid_map.
std::string format_id_map(const std::vector<IdMapping>& mappings);
// Writes uid_map and gid_map of `pid` (setgroups is denied first when the
// kernel requires it for an unprivileged writer).
core::Status write_id_maps(pid_t pid, const LinuxConfig& linux);

}  // namespace pvekit::oci::linux
