#include "oci/linux/sync.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

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
    // A container's seccomp filter may refuse send(2) in its init: write(2)
    // is what runc's init uses (a SIGPIPE then only ends an orphaned init).
    if (n < 0 && errno != EINTR && errno != EPIPE && errno != ECONNRESET) n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::system("sync socket write", errno);
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return core::ok();
}

// A msghdr over one buffer with room for one SCM_RIGHTS descriptor.
struct OneFdMessage {
  OneFdMessage(void* data, size_t size) : iov{data, size} {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
  }
  OneFdMessage(const OneFdMessage&) = delete;
  OneFdMessage& operator=(const OneFdMessage&) = delete;
  iovec iov;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
};

// Keeps the first descriptor of an SCM_RIGHTS message in `passed`, closes any other.
void take_fds(msghdr& msg, UniqueFd& passed) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (passed.valid()) ::close(fd);
      else passed.reset(fd);
    }
  }
}

}  // namespace

core::Result<Received> recv_with_fd(int socket, void* buffer, size_t size) {
  OneFdMessage m(buffer, size);
  msghdr& msg = m.msg;
  ssize_t n;
  while ((n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC)) < 0)
    if (errno != EINTR) return Error::system("recvmsg", errno);
  Received got{static_cast<size_t>(n), UniqueFd()};
  take_fds(msg, got.fd);
  return got;
}

namespace {

// false on EOF before `size` bytes. A descriptor sent along lands in `passed`.
core::Result<bool> read_all(int fd, void* data, size_t size, UniqueFd& passed) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    PVEKIT_ASSIGN(auto got, recv_with_fd(fd, p, size).wrap("sync socket read"));
    if (got.fd.valid() && !passed.valid()) passed = std::move(got.fd);
    if (got.size == 0) return false;
    p += got.size;
    size -= got.size;
  }
  return true;
}

std::string type_name(SyncType t) {
  switch (t) {
    case SyncType::Go: return "go";
    case SyncType::Ready: return "ready";
    case SyncType::Error: return "error";
    case SyncType::Seccomp: return "seccomp";
    case SyncType::Pid: return "pid";
  }
  return "unknown(" + std::to_string(static_cast<uint32_t>(t)) + ")";
}

// nullopt on end of stream before a header.
core::Result<std::optional<SyncMessage>> recv_message(int fd) {
  Header h{};
  UniqueFd passed;
  PVEKIT_ASSIGN(bool got, read_all(fd, &h, sizeof h, passed));
  if (!got) return std::optional<SyncMessage>();
  if (h.type < static_cast<uint32_t>(SyncType::Go) || h.type > static_cast<uint32_t>(SyncType::Pid)) return Error(ErrorCategory::Runtime, "sync: unknown message type " + std::to_string(h.type));
  if (h.length > kMaxSyncPayload) return Error(ErrorCategory::Runtime, "sync: message too long");
  SyncMessage msg{static_cast<SyncType>(h.type), h.err, std::string(h.length, '\0'), std::move(passed)};
  PVEKIT_ASSIGN(got, read_all(fd, msg.payload.data(), h.length, passed));
  if (!got) return Error(ErrorCategory::Runtime, "init exited in the middle of a message");
  return std::optional<SyncMessage>(std::move(msg));
}

core::Status error_from(const SyncMessage& msg) {
  if (msg.err != 0) return Error::system(msg.payload, msg.err);
  return Error(ErrorCategory::Runtime, msg.payload);
}

core::Status pass_listener(SyncMessage& msg, const SeccompListenerHandler& on_seccomp) {
  if (!msg.fd.valid()) return Error(ErrorCategory::Runtime, "sync: seccomp message without the listener descriptor");
  if (!on_seccomp) return Error(ErrorCategory::Runtime, "sync: unexpected seccomp listener");
  return on_seccomp(std::move(msg.fd)).wrap("seccomp notify listener");
}

}  // namespace

core::Result<SyncPair> make_sync_pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return Error::system("socketpair", errno);
  return SyncPair{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

core::Status send_with_fd(int socket, std::string_view data, int fd) {
  OneFdMessage m(const_cast<char*>(data.data()), data.size());
  msghdr& msg = m.msg;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  ssize_t n;
  while ((n = ::sendmsg(socket, &msg, MSG_NOSIGNAL)) < 0)
    if (errno != EINTR) return Error::system("sendmsg with a descriptor", errno);
  // Stream sockets may take part of it; the descriptor went with the first byte.
  return write_all(socket, data.data() + n, data.size() - static_cast<size_t>(n));
}

core::Result<UniqueFd> connect_unix_socket(const std::string& path, const std::string& what) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return Error(ErrorCategory::Usage, what + ": path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Error::system("socket", errno);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    return Error::system("connect to " + what + " " + path, errno);
  return fd;
}

core::Status send_sync(int fd, const SyncMessage& msg) {
  std::string payload = msg.payload.substr(0, kMaxSyncPayload);
  Header h{static_cast<uint32_t>(msg.type), msg.err, static_cast<uint32_t>(payload.size())};
  if (msg.fd.valid())
    PVEKIT_TRY(send_with_fd(fd, std::string_view(reinterpret_cast<const char*>(&h), sizeof h), msg.fd.get()));
  else
    PVEKIT_TRY(write_all(fd, &h, sizeof h));
  return write_all(fd, payload.data(), payload.size());
}

core::Result<SyncMessage> recv_sync(int fd) {
  PVEKIT_ASSIGN(auto msg, recv_message(fd));
  if (!msg) return Error(ErrorCategory::Runtime, "init exited without reporting");
  return std::move(*msg);
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

core::Result<SyncMessage> expect_message(int fd, SyncType expected, const SeccompListenerHandler& on_seccomp) {
  while (true) {
    PVEKIT_ASSIGN(auto msg, recv_sync(fd));
    if (msg.type == SyncType::Seccomp) {
      PVEKIT_TRY(pass_listener(msg, on_seccomp));
      continue;
    }
    if (msg.type == SyncType::Error) return error_from(msg).error();
    if (msg.type != expected)
      return Error(ErrorCategory::Runtime, "sync: expected " + type_name(expected) + ", got " + type_name(msg.type));
    return msg;
  }
}

core::Status expect_sync(int fd, SyncType expected, const SeccompListenerHandler& on_seccomp) {
  PVEKIT_TRY(expect_message(fd, expected, on_seccomp));
  return core::ok();
}

core::Status expect_exec(int fd, const SeccompListenerHandler& on_seccomp) {
  while (true) {
    PVEKIT_ASSIGN(auto msg, recv_message(fd));
    if (!msg) return core::ok();
    if (msg->type == SyncType::Seccomp) {
      PVEKIT_TRY(pass_listener(*msg, on_seccomp));
      continue;
    }
    if (msg->type != SyncType::Error) return Error(ErrorCategory::Runtime, "sync: unexpected message from the exec child");
    return error_from(*msg);
  }
}

}  // namespace pvekit::oci::linux
