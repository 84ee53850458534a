#pragma once

// The parent <-> init protocol over a socketpair. Each message is a fixed
// header (type, errno, payload length) followed by the payload. The init
// process reports failures as Error messages carrying errno + text, which
// the parent turns back into an Error (crun's send_error_to_sync_socket).
// A message may carry one descriptor (SCM_RIGHTS on its first byte).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "oci/fd.h"

namespace pvekit::oci::linux {

enum class SyncType : uint32_t {
  Go = 1,     // parent -> init: maps written, cgroup joined; set up the container
  Ready = 2,  // init -> parent: set up; now waiting on the exec fifo
  Error = 3,  // init -> parent: setup failed; errno + message
  // init or exec child -> parent: the seccomp notify listener (fd) to pass on
  // to the agent. The child does not wait for an answer: the fd is the
  // parent's once sent, and a notification meanwhile waits for the agent.
  Seccomp = 4,
  // exec's intermediate child -> parent: the exec process it forked into the
  // container's pid namespace; payload: its pid in ours.
  Pid = 5,
};

struct SyncMessage {
  SyncType type = SyncType::Go;
  int32_t err = 0;      // errno for Error messages, else 0
  std::string payload;  // error text for Error messages
  UniqueFd fd;          // the descriptor sent along, if any
};

inline constexpr size_t kMaxSyncPayload = 64 * 1024;

// A connected SOCK_STREAM pair, both ends close-on-exec.
struct SyncPair {
  UniqueFd parent;
  UniqueFd child;
};
core::Result<SyncPair> make_sync_pair();

core::Status send_sync(int fd, const SyncMessage& msg);
// Reads one whole message. Peer closed before a full message: Runtime error
// "init exited without reporting".
core::Result<SyncMessage> recv_sync(int fd);

// Sends `data` with `fd` attached to its first byte (SCM_RIGHTS), as runc's utils.SendFds.
core::Status send_with_fd(int socket, std::string_view data, int fd);
struct Received {
  size_t size = 0;  // 0: end of stream
  UniqueFd fd;      // the first descriptor sent along (any others are closed)
};
// One recvmsg into `buffer`, taking a descriptor passed with SCM_RIGHTS.
core::Result<Received> recv_with_fd(int socket, void* buffer, size_t size);
// A stream connection to the AF_UNIX socket at `path` (console socket,
// seccomp agent); `what` names it in errors.
core::Result<UniqueFd> connect_unix_socket(const std::string& path, const std::string& what);

// From the init side: sends `error` (errno + rendered text). Async-signal
// safety is not needed: the init is a forked copy of a single-threaded parent.
void send_sync_error(int fd, const core::Error& error);

// Parent side: what to do with a seccomp listener the child sends (pass it to the agent).
using SeccompListenerHandler = std::function<core::Status(UniqueFd listener)>;

// Parent side: waits for `expected`; an Error message becomes an Error
// (category Runtime, with the child's errno and text). Seccomp messages on
// the way go to `on_seccomp` (an error without one).
core::Status expect_sync(int fd, SyncType expected, const SeccompListenerHandler& on_seccomp = {});
// The same, returning the message.
core::Result<SyncMessage> expect_message(int fd, SyncType expected, const SeccompListenerHandler& on_seccomp = {});

// Parent side of exec: the child's end is close-on-exec, so end of stream
// without a message means the execve succeeded; an Error message is returned.
core::Status expect_exec(int fd, const SeccompListenerHandler& on_seccomp = {});

}  // namespace pvekit::oci::linux
