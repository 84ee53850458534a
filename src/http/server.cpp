// The only translation unit that includes Boost.Asio and Boost.Beast: they
// take long to compile, so everything else sees http/server.h alone.
#include "http/server.h"

#include <openssl/ssl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/span.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <thread>

#include "core/log.h"
#include "core/strings.h"

namespace pvekit::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using local = net::local::stream_protocol;
using local_stream = beast::basic_stream<local>;

const std::string& Request::header(const std::string& lower_case_name) const {
  static const std::string kAbsent;
  const auto it = headers.find(lower_case_name);
  return it == headers.end() ? kAbsent : it->second;
}

std::string safe_reason(std::string_view reason) {
  std::string out(reason);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) c = ' ';
  }
  if (out.size() > kMaxReasonBytes) {
    size_t cut = kMaxReasonBytes;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
    out.resize(cut);
  }
  return out;
}

namespace {

using Millis = std::chrono::milliseconds;

// What every connection shares; outlives them (see Server::Impl).
struct Context {
  Limits limits;
  Handler handler;
  net::thread_pool* workers = nullptr;
  std::atomic<size_t> connections{0};
  std::atomic<size_t> streams{0};
};

// After an error answer the client may still be sending (a body over the
// limit): closing with unread data makes the kernel send RST, which can
// destroy the answer before the client reads it. So the server stops sending,
// reads and drops what comes for a short while, then closes.
constexpr Millis kLingerTime{1000};
constexpr size_t kLingerMaxBytes = 1 << 20;

// One connection: TLS handshake (Stream = beast::ssl_stream), then requests
// in order (keep-alive, pipelined requests are answered one after another).
// Runs on its own strand; the handler runs on a worker. Stream is a TCP
// stream, TLS over one, or a unix socket stream.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream> && !std::is_same_v<Stream, local_stream>;

 public:
  template <class... Args>
  explicit Session(Context& ctx, Args&&... stream_args) : ctx_(ctx), stream_(std::forward<Args>(stream_args)...) {
    ++ctx_.connections;
  }
  ~Session() {
    --ctx_.connections;
    if (stream_source_) --ctx_.streams;
  }

  void start() {
    tcp_layer().expires_after(ctx_.limits.header_timeout);
    if constexpr (kTls) {
      stream_.async_handshake(net::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->drop("TLS handshake", ec);
                                self->read_header();
                              });
    } else {
      read_header();
    }
  }

 private:
  // The socket layer, whose timer carries the timeouts.
  auto& tcp_layer() { return beast::get_lowest_layer(stream_); }

  // Between keep-alive requests: the keep-alive timeout until the first byte,
  // then the header timeout for the rest.
  void wait_for_request() {
    if (buffer_.size() > 0) {  // pipelined: the next request has begun
      tcp_layer().expires_after(ctx_.limits.header_timeout);
      return read_header();
    }
    tcp_layer().expires_after(ctx_.limits.keep_alive_timeout);
    stream_.async_read_some(buffer_.prepare(4096), [self = this->shared_from_this()](beast::error_code ec, size_t n) {
      if (ec) return self->drop("keep-alive wait", ec);
      self->buffer_.commit(n);
      self->tcp_layer().expires_after(self->ctx_.limits.header_timeout);
      self->read_header();
    });
  }

  // The header timer runs from the caller (accept or first byte).
  void read_header() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<size_t>(ctx_.limits.max_header_bytes, UINT32_MAX)));
    parser_->body_limit(ctx_.limits.max_body_bytes);
    bhttp::async_read_header(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->refuse("request header", ec);
      self->read_body();
    });
  }

  void read_body() {
    if (parser_->is_done()) return dispatch();
    tcp_layer().expires_after(ctx_.limits.body_timeout);
    const auto& expect = parser_->get()[bhttp::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      // libcurl asks before it sends a large upload; without this it waits a second.
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                       [self = this->shared_from_this()](beast::error_code ec, size_t) {
                         if (ec) return self->drop("100 Continue", ec);
                         self->read_rest_of_body();
                       });
      return;
    }
    read_rest_of_body();
  }

  void read_rest_of_body() {
    bhttp::async_read(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->refuse("request body", ec);
      self->dispatch();
    });
  }

  void dispatch() {
    tcp_layer().expires_never();  // the handler's time is not the client's
    auto message = parser_->release();
    parser_.reset();
    keep_alive_ = message.keep_alive();
    version_ = message.version();
    net::post(*ctx_.workers, [self = this->shared_from_this(), request = to_request(std::move(message))] {
      Response response = self->run_handler(request);
      net::post(self->stream_.get_executor(),
                [self, response = std::move(response)]() mutable { self->write(std::move(response), true); });
    });
  }

  Response run_handler(const Request& request) {
    try {
      return ctx_.handler(request);
    } catch (const std::exception& e) {
      spdlog::error("http: {} {}: the handler failed: {}", request.method, request.path, e.what());
      return Response{.status = 500};
    }
  }

  static Request to_request(bhttp::request<bhttp::string_body>&& message) {
    Request r;
    r.method = std::string(message.method_string());
    r.target = std::string(message.target());
    const size_t q = r.target.find('?');
    r.path = r.target.substr(0, q);
    if (q != std::string::npos) r.query = r.target.substr(q + 1);
    for (const auto& field : message) {
      const std::string name = core::to_lower(field.name_string());
      const auto [it, inserted] = r.headers.emplace(name, std::string(field.value()));
      if (!inserted) {
        it->second += name == "cookie" ? "; " : ", ";
        it->second += field.value();
      }
    }
    r.body = std::move(message.body());
    return r;
  }

  // `keep_alive`: false closes the connection after this response.
  void write(Response r, bool keep_alive) {
    if (r.stream) {
      if (ctx_.streams.fetch_add(1) < ctx_.limits.max_streams) return write_stream(std::move(r));
      --ctx_.streams;
      spdlog::debug("http: {} streams open (the limit): answering 503", ctx_.limits.max_streams);
      r = Response{.status = 503, .reason = "Too many open event streams",
                   .headers = {{"Retry-After", "10"}, {"Content-Type", "text/plain"}},
                   .body = "too many open event streams; try again later\n"};
    }
    keep_alive_ = keep_alive_ && keep_alive;
    body_ = r.shared_body ? std::move(r.shared_body) : std::make_shared<const std::string>(std::move(r.body));
    response_ = {};
    response_.result(static_cast<unsigned>(r.status));
    response_.version(version_);
    std::string reason = safe_reason(r.reason);
    if (reason.empty() && bhttp::int_to_status(static_cast<unsigned>(r.status)) == bhttp::status::unknown) {
      reason = "Unknown";  // Beast would send "<unknown-status>"
    }
    if (!reason.empty()) response_.reason(reason);
    for (const auto& [name, value] : r.headers) response_.insert(name, value);
    response_.body() = beast::span<const char>(body_->data(), body_->size());
    response_.keep_alive(keep_alive_);
    response_.prepare_payload();
    tcp_layer().expires_after(ctx_.limits.write_timeout);
    bhttp::async_write(stream_, response_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->drop("response", ec);
      self->body_.reset();
      if (!self->keep_alive_) return self->close();
      self->wait_for_request();
    });
  }

  // A streamed response: the header, then chunks as the source has them,
  // then the last chunk and the connection's end (a stream is its last
  // response). Between polls no timer runs on the socket; each write has the
  // write timeout, so a client that stops reading is dropped.
  void write_stream(Response r) {
    stream_source_ = std::move(r.stream);
    stream_head_.emplace();
    stream_head_->result(static_cast<unsigned>(r.status));
    stream_head_->version(version_);
    if (std::string reason = safe_reason(r.reason); !reason.empty()) stream_head_->reason(reason);
    for (const auto& [name, value] : r.headers) stream_head_->insert(name, value);
    stream_head_->chunked(true);
    stream_head_->keep_alive(false);
    keep_alive_ = false;
    stream_serializer_.emplace(*stream_head_);
    stream_timer_.emplace(stream_.get_executor());
    tcp_layer().expires_after(ctx_.limits.write_timeout);
    bhttp::async_write_header(stream_, *stream_serializer_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->drop("stream header", ec);
      self->poll_stream();
    });
  }

  void poll_stream() {
    std::optional<std::string> chunk;
    try {
      chunk = stream_source_->poll();
    } catch (const std::exception& e) {
      spdlog::error("http: a response stream failed: {}", e.what());
    }
    if (!chunk) {
      tcp_layer().expires_after(ctx_.limits.write_timeout);
      net::async_write(stream_, bhttp::make_chunk_last(), [self = this->shared_from_this()](beast::error_code ec, size_t) {
        if (ec) return self->drop("stream end", ec);
        self->close();
      });
      return;
    }
    if (chunk->empty()) {
      tcp_layer().expires_never();
      stream_timer_->expires_after(ctx_.limits.stream_poll);
      stream_timer_->async_wait([self = this->shared_from_this()](beast::error_code ec) {
        if (!ec) self->poll_stream();
      });
      return;
    }
    stream_chunk_ = std::move(*chunk);
    tcp_layer().expires_after(ctx_.limits.write_timeout);
    net::async_write(stream_, bhttp::make_chunk(net::buffer(stream_chunk_)),
                     [self = this->shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->drop("stream chunk", ec);
                       self->poll_stream();
                     });
  }

  // A request that cannot be read: answered when the client can take an
  // answer (over a limit, malformed), dropped otherwise (timeout, close).
  void refuse(const char* what, beast::error_code ec) {
    int status = 0;
    std::string reason;
    if (ec == bhttp::error::header_limit) {
      status = 431;
      reason = "Request Header Fields Too Large";
    } else if (ec == bhttp::error::body_limit) {
      status = 413;
      reason = "Request body larger than " + std::to_string(ctx_.limits.max_body_bytes) + " bytes";
    } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
               ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message &&
               ec != bhttp::error::short_read) {
      status = 400;
      reason = "Bad Request";
    }
    if (status == 0) return drop(what, ec);
    spdlog::debug("http: {}: {}; answering {}", what, ec.message(), status);
    if (version_ == 0) version_ = 11;
    keep_alive_ = false;
    write(Response{.status = status, .reason = reason}, false);
  }

  void drop(const char* what, beast::error_code ec) {
    if (ec != net::error::operation_aborted) spdlog::debug("http: closing a connection: {}: {}", what, ec.message());
  }

  void close() {
    if constexpr (kTls) {
      tcp_layer().expires_after(kLingerTime);
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
    } else {
      beast::error_code ignored;
      tcp_layer().socket().shutdown(net::socket_base::shutdown_send, ignored);
      tcp_layer().expires_after(kLingerTime);
      drain();
    }
  }

  void drain() {
    stream_.async_read_some(buffer_.prepare(4096), [self = this->shared_from_this()](beast::error_code ec, size_t n) {
      self->buffer_.consume(self->buffer_.size());
      self->drained_ += n;
      if (!ec && self->drained_ < kLingerMaxBytes) self->drain();
    });
  }

  Context& ctx_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::span_body<const char>> response_;
  std::shared_ptr<const std::string> body_;  // what response_'s span points into
  // A streamed response (Response::stream): counted in ctx_.streams while set.
  std::shared_ptr<BodyStream> stream_source_;
  std::optional<bhttp::response<bhttp::empty_body>> stream_head_;
  std::optional<bhttp::response_serializer<bhttp::empty_body>> stream_serializer_;
  std::optional<net::steady_timer> stream_timer_;
  std::string stream_chunk_;  // the chunk being written
  bool keep_alive_ = true;
  unsigned version_ = 0;
  size_t drained_ = 0;
};

// Many idle connections are the point of this server: the default soft limit
// of 1,024 descriptors would cap them far below max_connections.
void raise_fd_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  const rlim_t before = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) == 0) {
    spdlog::debug("http: raised the open file limit from {} to {}", before, limit.rlim_max);
  }
}

}  // namespace

struct Server::Impl {
  Impl(ServerOptions o, Handler handler)
      : options(std::move(o)),
        ctx{options.limits, std::move(handler)},
        acceptor(io),
        retry_timer(io) {}

  template <class Acceptor>
  void accept(Acceptor& acceptor);
  core::Status bind_unix_socket();
  template <class Stream, class... Args>
  void start_session(Args&&... args) {
    std::make_shared<Session<Stream>>(ctx, std::forward<Args>(args)...)->start();
  }

  // Members are destroyed bottom-up: the pool is joined while the
  // io_context lives (a late handler posts its response there), and sessions
  // die with either of them, while the context and TLS context they use live.
  ServerOptions options;
  Context ctx;
  std::optional<net::ssl::context> tls;
  net::io_context io;
  // Started by serve(): threads made before it would miss the signal mask
  // a program sets up between bind() and serve() (pvesim's SignalStopper).
  std::optional<net::thread_pool> workers;
  tcp::acceptor acceptor;
  local::acceptor local_acceptor{io};
  bool created_socket = false;  // the unix socket file is ours to remove
  net::steady_timer retry_timer;
};

template <class Acceptor>
void Server::Impl::accept(Acceptor& acceptor) {
  using Socket = typename Acceptor::protocol_type::socket;
  acceptor.async_accept(net::make_strand(io), [this, &acceptor](beast::error_code ec, Socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors (EMFILE) stays so until connections close: retry
      // later instead of spinning.
      spdlog::warn("http: accept failed: {}; retrying in 100 ms", ec.message());
      retry_timer.expires_after(Millis(100));
      retry_timer.async_wait([this, &acceptor](beast::error_code wait_ec) {
        if (!wait_ec) accept(acceptor);
      });
      return;
    }
    if (ctx.connections.load() >= ctx.limits.max_connections) {
      spdlog::debug("http: {} connections open (the limit): closing a new one", ctx.connections.load());
    } else if constexpr (std::is_same_v<Socket, local::socket>) {
      start_session<local_stream>(std::move(socket));
    } else {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);  // headers and body must not wait for ACKs
      if (tls) {
        start_session<beast::ssl_stream<beast::tcp_stream>>(std::move(socket), *tls);
      } else {
        start_session<beast::tcp_stream>(std::move(socket));
      }
    }
    accept(acceptor);
  });
}

// The socket path is checked before it is taken: a symlink there is refused
// (it could point a root daemon's socket anywhere), a socket a live server
// answers on is refused (another daemon owns it), and a socket nobody answers
// on is the leftover of a killed server and is replaced.
core::Status Server::Impl::bind_unix_socket() {
  const std::string& path = options.unix_socket;
  const auto failed = [&](const std::string& why) {
    return core::Error(core::ErrorCategory::System, "cannot listen on unix socket " + path + ": " + why);
  };
  if (path.size() >= sizeof(sockaddr_un{}.sun_path)) return failed("the path is too long for a unix socket");
  std::error_code dir_ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty() && !std::filesystem::exists(parent, dir_ec)) {
    std::filesystem::create_directories(parent, dir_ec);
    if (dir_ec) return failed("create its directory: " + dir_ec.message());
    ::chmod(parent.c_str(), 0755);
  }
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode)) return failed("it is a symbolic link; refusing to follow it");
    if (!S_ISSOCK(st.st_mode)) return failed("a file that is not a socket is in the way");
    local::socket probe(io);
    beast::error_code probe_ec;
    probe.connect(local::endpoint(path), probe_ec);
    if (!probe_ec) return failed("another process is serving on it");
    if (::unlink(path.c_str()) != 0) return failed(std::string("remove the stale socket: ") + std::strerror(errno));
    spdlog::info("http: removed the stale socket {} (its server is gone)", path);
  }
  beast::error_code ec;
  const auto step = [&](const char* what) { return failed(std::string(what) + ": " + ec.message()); };
  if (local_acceptor.open(local(), ec); ec) return step("socket");
  if (local_acceptor.bind(local::endpoint(path), ec); ec) return step("bind");
  created_socket = true;
  if (::chmod(path.c_str(), options.unix_socket_mode) != 0) return failed(std::string("chmod: ") + std::strerror(errno));
  if (local_acceptor.listen(net::socket_base::max_listen_connections, ec); ec) return step("listen");
  return core::ok();
}

Server::Server(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

Server::~Server() {
  if (impl_->created_socket) ::unlink(impl_->options.unix_socket.c_str());
}

core::Result<int> Server::bind() {
  Impl& s = *impl_;
  const std::string where = s.options.host + ":" + std::to_string(s.options.port);
  if (s.options.tls) {
    s.tls.emplace(net::ssl::context::tls_server);
    SSL_CTX* ctx = s.tls->native_handle();
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_use_certificate(ctx, static_cast<X509*>(s.options.tls->cert())) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, static_cast<EVP_PKEY*>(s.options.tls->key())) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      return core::Error(core::ErrorCategory::System, "TLS: the server could not set up its TLS context");
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  }
  raise_fd_limit();
  if (!s.options.unix_socket.empty()) {
    PVEKIT_TRY(s.bind_unix_socket());
    return 0;
  }
  beast::error_code ec;
  tcp::endpoint endpoint;
  const auto address = net::ip::make_address(s.options.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, static_cast<unsigned short>(s.options.port));
  } else {
    tcp::resolver resolver(s.io);
    const auto found = resolver.resolve(s.options.host, std::to_string(s.options.port), ec);
    if (ec || found.empty()) {
      return core::Error(core::ErrorCategory::System, "cannot listen on " + where + ": cannot resolve the host: " +
                                                          (ec ? ec.message() : std::string("no address")));
    }
    endpoint = found.begin()->endpoint();
  }
  const auto failed = [&](const char* step) {
    return core::Error(core::ErrorCategory::System, "cannot listen on " + where + ": " + step + ": " + ec.message());
  };
  if (s.acceptor.open(endpoint.protocol(), ec); ec) return failed("socket");
  if (s.acceptor.set_option(tcp::acceptor::reuse_address(true), ec); ec) return failed("SO_REUSEADDR");
  if (s.acceptor.bind(endpoint, ec); ec) return failed("bind");
  if (s.acceptor.listen(net::socket_base::max_listen_connections, ec); ec) return failed("listen");
  const auto bound = s.acceptor.local_endpoint(ec);
  if (ec) return failed("getsockname");
  return static_cast<int>(bound.port());
}

core::Status Server::serve() {
  Impl& s = *impl_;
  if (!s.acceptor.is_open() && !s.local_acceptor.is_open()) {
    return core::Error(core::ErrorCategory::System, "serve: the server is not bound");
  }
  s.workers.emplace(static_cast<size_t>(std::max(1, s.options.worker_threads)));
  s.ctx.workers = &*s.workers;
  if (s.local_acceptor.is_open()) s.accept(s.local_acceptor);
  else s.accept(s.acceptor);
  std::string failure;
  std::mutex failure_mutex;
  const auto run = [&] {
    try {
      s.io.run();
    } catch (const std::exception& e) {
      std::lock_guard lock(failure_mutex);
      failure = e.what();
      s.io.stop();
    }
  };
  std::vector<std::thread> io_threads;
  for (int i = 1; i < s.options.io_threads; ++i) io_threads.emplace_back(run);
  run();
  for (auto& t : io_threads) t.join();
  s.workers->stop();
  s.workers->join();
  if (!failure.empty()) return core::Error(core::ErrorCategory::System, "the HTTP server stopped: " + failure);
  return core::ok();
}

void Server::stop() { impl_->io.stop(); }

}  // namespace pvekit::http
