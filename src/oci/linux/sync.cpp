#include "oci/linux/sync.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pvekit::oci::linux {

using core::Error;
using core::ErrorCategory;

namespace {

struct Header {
  uint32_t type;
  int32_t err;
  uint32_t length;
};

core::Status write_all(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::send(fd, p, size, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::system("sync socket write", errno);
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return core::ok();
}

// false on EOF before `size` bytes.
core::Result<bool> read_all(int fd, void* data, size_t size) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    ssize_t n = ::read(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::system("sync socket read", errno);
    }
    if (n == 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

std::string type_name(SyncType t) {
  switch (t) {
    case SyncType::Go: return "go";
    case SyncType::Ready: return "ready";
    case SyncType::Error: return "error";
  }
  return "unknown(" + std::to_string(static_cast<uint32_t>(t)) + ")";
}

}  // namespace

core::Result<SyncPair> make_sync_pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return Error::system("socketpair", errno);
  return SyncPair{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

core::Status send_sync(int fd, const SyncMessage& msg) {
  std::string payload = msg.payload.substr(0, kMaxSyncPayload);
  Header h{static_cast<uint32_t>(msg.type), msg.err, static_cast<uint32_t>(payload.size())};
  PVEKIT_TRY(write_all(fd, &h, sizeof h));
  return write_all(fd, payload.data(), payload.size());
}

core::Result<SyncMessage> recv_sync(int fd) {
  Header h{};
  PVEKIT_ASSIGN(bool got, read_all(fd, &h, sizeof h));
  if (!got) return Error(ErrorCategory::Runtime, "init exited without reporting");
  if (h.type < 1 || h.type > 3) return Error(ErrorCategory::Runtime, "sync: unknown message type " + std::to_string(h.type));
  if (h.length > kMaxSyncPayload) return Error(ErrorCategory::Runtime, "sync: message too long");
  SyncMessage msg{static_cast<SyncType>(h.type), h.err, std::string(h.length, '\0')};
  PVEKIT_ASSIGN(got, read_all(fd, msg.payload.data(), h.length));
  if (!got) return Error(ErrorCategory::Runtime, "init exited in the middle of a message");
  return msg;
}

void send_sync_error(int fd, const core::Error& error) {
  // The errno travels separately; the text is rendered without strerror so
  // the parent does not print it twice.
  std::string text = error.to_string();
  if (error.sys_errno() != 0) {
    std::string suffix = std::string(": ") + std::strerror(error.sys_errno());
    if (text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0)
      text.resize(text.size() - suffix.size());
  }
  (void)send_sync(fd, {SyncType::Error, error.sys_errno(), text});
}

core::Status expect_sync(int fd, SyncType expected) {
  PVEKIT_ASSIGN(auto msg, recv_sync(fd));
  if (msg.type == SyncType::Error) {
    if (msg.err != 0) return Error::system(msg.payload, msg.err);
    return Error(ErrorCategory::Runtime, msg.payload);
  }
  if (msg.type != expected)
    return Error(ErrorCategory::Runtime, "sync: expected " + type_name(expected) + ", got " + type_name(msg.type));
  return core::ok();
}

core::Status expect_exec(int fd) {
  Header h{};
  PVEKIT_ASSIGN(bool got, read_all(fd, &h, sizeof h));
  if (!got) return core::ok();
  if (h.type != static_cast<uint32_t>(SyncType::Error) || h.length > kMaxSyncPayload)
    return Error(ErrorCategory::Runtime, "sync: unexpected message from the exec child");
  std::string text(h.length, '\0');
  PVEKIT_ASSIGN(got, read_all(fd, text.data(), h.length));
  if (h.err != 0) return Error::system(text, h.err);
  return Error(ErrorCategory::Runtime, text);
}

}  // namespace pvekit::oci::linux
