// The socket side of pvesim's HTTP server (private to src/sim): cpp-httplib
// parses and routes the requests, a Connection reads and writes the socket,
// plain or TLS, with httplib's timeouts. It exists because httplib 0.11
// writes every status line with the standard reason phrase ("500 Internal
// Server Error"), where PVE sends its error message, which clients such as
// python3-proxmoxer show to their users: a Connection replaces the phrase of
// the next status line with the one the handler set.
#pragma once

#include <httplib.h>
#include <openssl/ssl.h>

#include <functional>
#include <string>

namespace pvekit::sim {

struct IoTimeouts {
  int read_ms = 5000;   // per wait for the peer to send
  int write_ms = 5000;  // per wait for the peer to take data
};

class Connection final : public httplib::Stream {
 public:
  // `fd` must be non-blocking; `ssl` (nullable) is a completed TLS session on
  // it. The Connection owns neither.
  Connection(int fd, SSL* ssl, IoTimeouts timeouts);

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  ::socket_t socket() const override { return fd_; }

  // The reason phrase of the next status line written (one response); empty:
  // httplib's standard phrase. Made safe with reason_phrase() when written.
  void set_reason(std::string reason) { reason_ = std::move(reason); }
  // Waits up to `timeout_ms` for the first bytes of the next request,
  // checking `running` every 100 ms; false on timeout, close or stop.
  bool wait_request(int timeout_ms, const std::function<bool()>& running) const;

 private:
  ssize_t read_some(char* ptr, size_t size);
  bool write_all(const char* data, size_t size);
  bool buffered() const;

  int fd_;
  SSL* ssl_;
  IoTimeouts timeouts_;
  std::string reason_;
  // httplib reads request lines a byte at a time: serve those from a buffer.
  char buf_[4096];
  size_t buf_begin_ = 0, buf_end_ = 0;
};

// The TLS handshake as the server on non-blocking `fd`, within `timeout_ms`
// per wait; nullptr when it fails or times out.
SSL* tls_accept(SSL_CTX* ctx, int fd, int timeout_ms);
// Sends close_notify when `graceful`, then frees the session.
void tls_close(SSL* ssl, bool graceful);

}  // namespace pvekit::sim
