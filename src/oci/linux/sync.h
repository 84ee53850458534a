#pragma once

// The parent <-> init protocol over a socketpair. Each message is a fixed
// header (type, errno, payload length) followed by the payload. The init
// process reports failures as Error messages carrying errno + text, which
// the parent turns back into an Error (crun's send_error_to_sync_socket).

#include <cstdint>
#include <string>

#include "core/result.h"
#include "oci/fd.h"

namespace pvekit::oci::linux {

enum class SyncType : uint32_t {
  Go = 1,     // parent -> init: maps written, cgroup joined; set up the container
  Ready = 2,  // init -> parent: set up; now waiting on the exec fifo
  Error = 3,  // init -> parent: setup failed; errno + message
};

struct SyncMessage {
  SyncType type = SyncType::Go;
  int32_t err = 0;      // errno for Error messages, else 0
  std::string payload;  // error text for Error messages
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

// From the init side: sends `error` (errno + rendered text). Async-signal
// safety is not needed: the init is a forked copy of a single-threaded parent.
void send_sync_error(int fd, const core::Error& error);

// Parent side: waits for `expected`; an Error message becomes an Error
// (category Runtime, with the child's errno and text).
core::Status expect_sync(int fd, SyncType expected);

// Parent side of exec: the child's end is close-on-exec, so end of stream
// without a message means the execve succeeded; an Error message is returned.
core::Status expect_exec(int fd);

}  // namespace pvekit::oci::linux
