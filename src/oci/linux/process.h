#pragma once

// The user process's attributes, applied by the init before execve:
// rlimits, user and groups, no_new_privs, cwd check, executable lookup, fds.

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/result.h"
#include "oci/spec.h"

namespace pvekit::oci::linux {

// "RLIMIT_NOFILE" -> RLIMIT_NOFILE; -1 when unknown.
int rlimit_resource(const std::string& name);
core::Status apply_rlimits(const std::vector<Rlimit>& rlimits);

// setgroups + setresgid + setresuid. Capabilities survive (PR_SET_KEEPCAPS)
// so apply_capabilities can set exactly the configured sets afterwards.
core::Status switch_user(const User& user);

// chdir(cwd) and check the result is reachable from the container root: a
// leaked host directory fd as cwd reads "(unreachable)/..." (CVE-2024-21626).
core::Status enter_cwd(const std::string& cwd);

// The value of NAME in a NAME=VALUE list, or `fallback`.
std::string env_value(const std::vector<std::string>& env, const std::string& name, const std::string& fallback);

// process.env as the user process gets it: with HOME added when unset or
// empty, as runc does, from `passwd` (the container's /etc/passwd text): the
// home of `uid`, or "/" when the file has none.
std::vector<std::string> env_with_home(const std::vector<std::string>& env, uid_t uid, const std::string& passwd);

// The name of `uid` in `passwd` (/etc/passwd text), or the uid as a number
// when it has none.
std::string user_name(uid_t uid, const std::string& passwd);

// args[0] as execve needs it: kept when it contains '/', else searched in the
// PATH of `env` (runc's default PATH when unset). NotFound when absent.
core::Result<std::string> find_executable(const std::string& name, const std::vector<std::string>& env);

// systemd socket activation handed to the runtime, passed on as runc does: the
// number of descriptors (3..3+n-1) when LISTEN_PID names `self` and LISTEN_FDS
// is a positive count, else 0 (the descriptors were meant for someone else).
int inherited_listen_fds(const char* listen_fds, const char* listen_pid, pid_t self);

// Leaves fds 0-2 and 3..3+preserve_fds-1 open across execve and marks every
// other descriptor close-on-exec (CVE-2024-21626: no host fd leaks in).
core::Status prepare_fds(int preserve_fds);

// Closes every descriptor >= `first` except those in `keep`. The init calls it
// at once, so it does not hold copies of the parent's fds (and their flocks).
void close_fds_from(int first, const std::vector<int>& keep);

}  // namespace pvekit::oci::linux
