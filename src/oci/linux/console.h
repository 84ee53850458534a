#pragma once

// Terminals for process.terminal: the container side allocates a pty from
// the container's own devpts (/dev/ptmx after the pivot), makes the slave
// its controlling terminal and stdio, and sends the master over the console
// socket with SCM_RIGHTS, as runc does (podman's conmon and containerd's shim
// receive it there).

#include <string>

#include "core/result.h"
#include "oci/fd.h"

namespace pvekit::oci::linux {

// Connects to the AF_UNIX stream socket at `path` (--console-socket).
core::Result<UniqueFd> connect_console_socket(const std::string& path);

// Sends `fd` over `socket` with `name` as the message body (runc's utils.SendFile).
core::Status send_fd(int socket, int fd, const std::string& name);
// Receives one descriptor sent by send_fd.
core::Result<UniqueFd> recv_fd(int socket);

// In the container (after the pivot, before the user switch): opens a new pty
// pair from /dev/ptmx, sends the master over `socket`, starts a new session
// with the slave as controlling terminal and stdin/stdout/stderr.
core::Status setup_console(int socket);

// Waits for `pid` (our child) forwarding signals to it; returns its status as
// a shell would (128+signal when killed). With a `master` (-1: none; run/exec
// in the foreground with a terminal and no --console-socket) it also copies
// our stdin to `master` and `master` to our stdout (stdin in raw mode while a
// tty) and the window size.
core::Result<int> wait_forwarding(pid_t pid, int master);

}  // namespace pvekit::oci::linux
