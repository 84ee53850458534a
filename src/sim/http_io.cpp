#include "sim/http_io.h"

#include <netdb.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>

#include "sim/server.h"

namespace pvekit::sim {
namespace {

using Clock = std::chrono::steady_clock;

// Waits until `fd` is ready for `events`; false on timeout or poll failure.
// POLLHUP/POLLERR count as ready: the next read or write reports them.
bool wait_fd(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    const int r = ::poll(&p, 1, static_cast<int>(std::max<long long>(0, left)));
    if (r >= 0) return r > 0;
    if (errno != EINTR) return false;
  }
}

// What an SSL_read/SSL_write/SSL_accept result asks for: POLLIN or POLLOUT
// to retry, 0 to give up.
short ssl_wants(SSL* ssl, int result) {
  switch (SSL_get_error(ssl, result)) {
    case SSL_ERROR_WANT_READ: return POLLIN;
    case SSL_ERROR_WANT_WRITE: return POLLOUT;
    default: return 0;
  }
}

int clamp_int(size_t n) { return static_cast<int>(std::min<size_t>(n, INT_MAX)); }

void ip_and_port(const sockaddr_storage& addr, socklen_t len, std::string& ip, int& port) {
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host, sizeof host, serv, sizeof serv,
                  NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
    ip = host;
    port = std::atoi(serv);
  }
}

}  // namespace

Connection::Connection(int fd, SSL* ssl, IoTimeouts timeouts) : fd_(fd), ssl_(ssl), timeouts_(timeouts) {}

bool Connection::buffered() const { return buf_begin_ < buf_end_ || (ssl_ && SSL_pending(ssl_) > 0); }

bool Connection::is_readable() const { return buffered() || wait_fd(fd_, POLLIN, timeouts_.read_ms); }

bool Connection::is_writable() const { return wait_fd(fd_, POLLOUT, timeouts_.write_ms); }

bool Connection::wait_request(int timeout_ms, const std::function<bool()>& running) const {
  if (buffered()) return true;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (running()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 100)));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
  return false;
}

ssize_t Connection::read_some(char* ptr, size_t size) {
  for (;;) {
    short wait_for = POLLIN;
    if (ssl_) {
      ERR_clear_error();
      const int n = SSL_read(ssl_, ptr, clamp_int(size));
      if (n > 0) return n;
      if (SSL_get_error(ssl_, n) == SSL_ERROR_ZERO_RETURN) return 0;
      wait_for = ssl_wants(ssl_, n);
      if (wait_for == 0) return -1;
    } else {
      const ssize_t n = ::recv(fd_, ptr, size, 0);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    }
    if (!wait_fd(fd_, wait_for, timeouts_.read_ms)) return -1;
  }
}

ssize_t Connection::read(char* ptr, size_t size) {
  if (buf_begin_ == buf_end_) {
    if (size >= sizeof buf_) return read_some(ptr, size);
    const ssize_t n = read_some(buf_, sizeof buf_);
    if (n <= 0) return n;
    buf_begin_ = 0;
    buf_end_ = static_cast<size_t>(n);
  }
  const size_t n = std::min(size, buf_end_ - buf_begin_);
  std::memcpy(ptr, buf_ + buf_begin_, n);
  buf_begin_ += n;
  return static_cast<ssize_t>(n);
}

bool Connection::write_all(const char* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    short wait_for = POLLOUT;
    if (ssl_) {
      ERR_clear_error();
      const int n = SSL_write(ssl_, data + done, clamp_int(size - done));
      if (n > 0) {
        done += static_cast<size_t>(n);
        continue;
      }
      wait_for = ssl_wants(ssl_, n);
      if (wait_for == 0) return false;
    } else {
      const ssize_t n = ::send(fd_, data + done, size - done, MSG_NOSIGNAL);
      if (n >= 0) {
        done += static_cast<size_t>(n);
        continue;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
    }
    if (!wait_fd(fd_, wait_for, timeouts_.write_ms)) return false;
  }
  return true;
}

ssize_t Connection::write(const char* ptr, size_t size) {
  // httplib writes the status line and the headers of a response in one call.
  if (!reason_.empty()) {
    const std::string head = replace_reason_phrase(std::string_view(ptr, size), reason_);
    reason_.clear();
    return write_all(head.data(), head.size()) ? static_cast<ssize_t>(size) : -1;
  }
  return write_all(ptr, size) ? static_cast<ssize_t>(size) : -1;
}

void Connection::get_remote_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getpeername(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) ip_and_port(addr, len, ip, port);
}

void Connection::get_local_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) ip_and_port(addr, len, ip, port);
}

SSL* tls_accept(SSL_CTX* ctx, int fd, int timeout_ms) {
  SSL* ssl = SSL_new(ctx);
  if (!ssl) return nullptr;
  if (SSL_set_fd(ssl, fd) == 1) {
    for (;;) {
      ERR_clear_error();
      const int r = SSL_accept(ssl);
      if (r == 1) return ssl;
      const short wait_for = ssl_wants(ssl, r);
      if (wait_for == 0 || !wait_fd(fd, wait_for, timeout_ms)) break;
    }
  }
  ERR_clear_error();
  SSL_free(ssl);
  return nullptr;
}

void tls_close(SSL* ssl, bool graceful) {
  if (graceful) SSL_shutdown(ssl);  // close_notify; the peer's answer is not awaited
  ERR_clear_error();
  SSL_free(ssl);
}

}  // namespace pvekit::sim
