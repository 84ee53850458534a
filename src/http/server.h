// pvekit's one HTTP(S) server: event-driven (Boost.Beast on Asio, kept out of
// this header), for pvesim and proxlb's daemon. A few I/O threads carry every
// connection, so thousands of idle or slow clients cost memory, not threads;
// handlers run on a bounded worker pool, so a slow handler does not stall
// reading and accepting.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "http/tls.h"

namespace pvekit::http {

struct Request {
  std::string method;  // "GET", as sent
  std::string target;  // "/api2/json/version?a=b", as sent
  std::string path;    // the target before '?', not decoded
  std::string query;   // the target after '?', not decoded; empty when none
  // Names lower-case. Repeated headers are joined with ", " ("; " for cookie).
  std::map<std::string, std::string> headers;
  std::string body;  // empty without Content-Length or chunked body (RFC 9112 6.3)

  // The value of header `lower_case_name`, empty when absent.
  const std::string& header(const std::string& lower_case_name) const;
};

// A response body produced over time (server-sent events). The server sends
// the header (chunked transfer encoding), then asks poll() on its I/O thread
// every Limits::stream_poll after the last write has completed; a client that
// does not take a chunk within write_timeout is disconnected, so a slow
// reader holds no more than one chunk and never a worker. poll() must be
// quick and must not block; it may be called from any I/O thread, one call at
// a time.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  // The bytes ready now (empty: none yet), or nullopt when the body is
  // complete (the server ends it and closes the connection).
  virtual std::optional<std::string> poll() = 0;
};

struct Response {
  int status = 200;
  // Sent as the status line's reason phrase after safe_reason(); empty: the
  // standard phrase of `status` ("Unknown" for codes without one).
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Length is set by the server
  std::string body;
  // When set, sent instead of `body` without a copy (cached large bodies).
  std::shared_ptr<const std::string> shared_body;
  // When set, the body is streamed from it instead (`body` is ignored), up to
  // Limits::max_streams at once; over that the server answers 503.
  std::shared_ptr<BodyStream> stream;
};

using Handler = std::function<Response(const Request&)>;

// `reason` made safe for a status line (RFC 9112: HTAB, SP, VCHAR, obs-text):
// other control characters (CR and LF too) become spaces, so a message that
// echoes client input cannot add a header; cut to kMaxReasonBytes on a UTF-8
// character boundary.
inline constexpr std::size_t kMaxReasonBytes = 512;
std::string safe_reason(std::string_view reason);

// Limits against slow, idle and greedy clients. A connection is closed
// without an answer when a timeout passes; a request over a size limit is
// answered (431, 413) and its connection closed.
struct Limits {
  // From accept (TLS handshake included), or from the first byte of a
  // keep-alive request, until the end of the request header.
  std::chrono::milliseconds header_timeout{10'000};
  // From the end of the header until the end of the body.
  std::chrono::milliseconds body_timeout{120'000};
  // Between a response and the first byte of the next request.
  std::chrono::milliseconds keep_alive_timeout{30'000};
  // For writing one response.
  std::chrono::milliseconds write_timeout{60'000};
  std::size_t max_header_bytes = 64 * 1024;  // request line and headers; over: 431
  std::uint64_t max_body_bytes = 64 * 1024 * 1024;  // over: 413
  // Open connections; more are closed at accept. The server raises the
  // process's soft RLIMIT_NOFILE to its hard limit at bind() for them.
  std::size_t max_connections = 10'000;
  // Streamed responses (BodyStream) open at once; more are answered 503.
  std::size_t max_streams = 32;
  // How often an open stream is polled for more bytes.
  std::chrono::milliseconds stream_poll{200};
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port (bind() returns it)
  // When set, the server listens on this unix socket instead of host:port
  // (without TLS). bind() creates its directory, refuses a symlink or a
  // socket another server answers on, replaces a stale one, and applies
  // `unix_socket_mode`; the server removes the socket when destroyed.
  std::string unix_socket;
  unsigned unix_socket_mode = 0660;
  // Empty: plain HTTP.
  std::optional<TlsIdentity> tls;
  int io_threads = 2;      // threads running all socket I/O
  int worker_threads = 8;  // threads running handlers; requests queue for them
  Limits limits;
};

class Server {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Listens on host:port (returns the bound port) or on the unix socket
  // (returns 0).
  core::Result<int> bind();
  // Serves until stop(); blocks. Requires a successful bind().
  core::Status serve();
  // Thread-safe; serve() returns once the running handlers have finished.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pvekit::http
