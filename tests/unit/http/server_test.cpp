// pvekit::http::Server over real loopback sockets: a raw client sends exactly
// the bytes a test needs (partial headers, pipelined requests, oversized
// fields). Timeouts are short and only ever bound a wait from above, so a
// slow machine makes a test slower, never red.
#include "http/server.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

namespace pvekit::http {
namespace {

using std::chrono::milliseconds;

// Any wait for the server ends after this: the server's own timeouts in
// these tests are a small fraction of it.
constexpr int kClientWaitSeconds = 10;

// A blocking TCP client; reads give up after kClientWaitSeconds.
class RawClient {
 public:
  explicit RawClient(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    timeval tv{kClientWaitSeconds, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawClient() { ::close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  bool send(std::string_view data) {
    return ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }

  // One response: head (status line and headers) and body by Content-Length;
  // empty when the connection ends or the wait runs out first.
  struct Reply {
    std::string head;
    std::string body;
    std::string status_line() const { return head.substr(0, head.find("\r\n")); }
  };
  Reply read_response() {
    size_t end = 0;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return {};
    }
    Reply r{buffer_.substr(0, end + 2), ""};
    size_t length = 0;
    if (const size_t at = r.head.find("Content-Length: "); at != std::string::npos) {
      length = std::stoul(r.head.substr(at + 16));
    }
    while (buffer_.size() < end + 4 + length) {
      if (!fill()) return {};
    }
    r.body = buffer_.substr(end + 4, length);
    buffer_.erase(0, end + 4 + length);
    return r;
  }

  // True when the server closes the connection (EOF or reset) before the
  // wait runs out; data arriving first counts as not closed.
  bool closed_by_server() {
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  bool fill() {
    char chunk[65536];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_;
  bool connected_ = false;
  std::string buffer_;
};

std::string get(std::string_view path, std::string_view extra_headers = "") {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: t\r\n" + std::string(extra_headers) + "\r\n";
}

// Answers every request with its method, path, query and body, unless a
// test installs its own handler.
class ServerTest : public ::testing::Test {
 protected:
  void start(Limits limits = {}, Handler handler = nullptr, int workers = 2) {
    if (!handler) {
      handler = [](const Request& req) {
        return Response{.body = req.method + " " + req.path + " ?" + req.query + " [" + req.body + "]"};
      };
    }
    server_ = std::make_unique<Server>(
        ServerOptions{.port = 0, .io_threads = 1, .worker_threads = workers, .limits = limits}, std::move(handler));
    auto port = server_->bind();
    ASSERT_TRUE(port.ok()) << port.error().to_string();
    port_ = *port;
    thread_ = std::thread([this] { status_ = server_->serve(); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
    EXPECT_TRUE(status_.ok()) << status_.error().to_string();
  }

  std::unique_ptr<Server> server_;
  std::thread thread_;
  core::Status status_;
  int port_ = 0;
};

TEST(SafeReasonTest, ControlCharactersBecomeSpacesAndTheLengthIsCapped) {
  EXPECT_EQ(safe_reason("guest is locked (migrate)"), "guest is locked (migrate)");
  EXPECT_EQ(safe_reason("a\rb\nc\x01" "d\x7f" "e\tf"), "a b c d e\tf");
  EXPECT_EQ(safe_reason(std::string(2000, 'x')).size(), kMaxReasonBytes);
  // "é" is two bytes: the cut must not leave half of one.
  EXPECT_EQ(safe_reason(std::string(kMaxReasonBytes - 1, 'x') + "\xc3\xa9tail"), std::string(kMaxReasonBytes - 1, 'x'));
}

TEST_F(ServerTest, AnswersWithTheHandlersStatusReasonHeadersAndBody) {
  start({}, [](const Request& req) {
    Response r{.status = 500, .reason = "Configuration file 'x' does not exist", .body = req.header("x-probe")};
    r.headers.emplace_back("Content-Type", "application/json");
    return r;
  });
  RawClient c(port_);
  ASSERT_TRUE(c.send(get("/a", "X-Probe: seen\r\n")));
  const auto reply = c.read_response();
  EXPECT_EQ(reply.status_line(), "HTTP/1.1 500 Configuration file 'x' does not exist");
  EXPECT_NE(reply.head.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_EQ(reply.body, "seen");
}

TEST_F(ServerTest, AReasonCannotAddAHeaderLine) {
  start({}, [](const Request&) { return Response{.status = 400, .reason = "bad\r\nSet-Cookie: x=1"}; });
  RawClient c(port_);
  ASSERT_TRUE(c.send(get("/")));
  const auto reply = c.read_response();
  EXPECT_EQ(reply.status_line(), "HTTP/1.1 400 bad  Set-Cookie: x=1");
  EXPECT_EQ(reply.head.find("\r\nSet-Cookie"), std::string::npos);
}

TEST_F(ServerTest, AnEmptyReasonIsTheStandardPhraseOrUnknown) {
  start({}, [](const Request& req) { return Response{.status = req.path == "/595" ? 595 : 404}; });
  RawClient c(port_);
  ASSERT_TRUE(c.send(get("/404") + get("/595")));
  EXPECT_EQ(c.read_response().status_line(), "HTTP/1.1 404 Not Found");
  EXPECT_EQ(c.read_response().status_line(), "HTTP/1.1 595 Unknown");
}

TEST_F(ServerTest, SharedBodiesAreSent) {
  auto body = std::make_shared<const std::string>(300'000, 'b');
  start({}, [body](const Request&) { return Response{.shared_body = body}; });
  RawClient c(port_);
  ASSERT_TRUE(c.send(get("/")));
  EXPECT_EQ(c.read_response().body, *body);
}

TEST_F(ServerTest, KeepAliveServesRequestsInTurnOnOneConnection) {
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.send(get("/one?x=1")));
  EXPECT_EQ(c.read_response().body, "GET /one ?x=1 []");
  ASSERT_TRUE(c.send("POST /two HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"));
  EXPECT_EQ(c.read_response().body, "POST /two ? [abc]");
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.send(get("/1") + "PUT /2 HTTP/1.1\r\nContent-Length: 1\r\n\r\nz" + get("/3")));
  EXPECT_EQ(c.read_response().body, "GET /1 ? []");
  EXPECT_EQ(c.read_response().body, "PUT /2 ? [z]");
  EXPECT_EQ(c.read_response().body, "GET /3 ? []");
}

TEST_F(ServerTest, APostWithoutContentLengthHasAnEmptyBody) {
  start();
  RawClient c(port_);
  // RFC 9112 6.3: no Content-Length and no Transfer-Encoding: no body. The
  // answer must not wait for the client to close or a timeout.
  ASSERT_TRUE(c.send("POST /migrate?target=pve2 HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_EQ(c.read_response().body, "POST /migrate ?target=pve2 []");
}

TEST_F(ServerTest, AChunkedBodyIsRead) {
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.send("POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
  EXPECT_EQ(c.read_response().body, "POST /c ? [abcde]");
}

TEST_F(ServerTest, ExpectContinueGetsAnInterimResponseBeforeTheBody) {
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.send("POST /u HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"));
  EXPECT_EQ(c.read_response().status_line(), "HTTP/1.1 100 Continue");
  ASSERT_TRUE(c.send("data"));
  EXPECT_EQ(c.read_response().body, "POST /u ? [data]");
}

TEST_F(ServerTest, RepeatedHeadersAreJoined) {
  start({}, [](const Request& req) { return Response{.body = req.header("cookie") + "|" + req.header("accept")}; });
  RawClient c(port_);
  ASSERT_TRUE(c.send(get("/", "Cookie: a=1\r\nCookie: b=2\r\nAccept: x\r\nACCEPT: y\r\n")));
  EXPECT_EQ(c.read_response().body, "a=1; b=2|x, y");
}

TEST_F(ServerTest, AHeaderOverTheLimitIs431AndCloses) {
  start({.max_header_bytes = 1024});
  RawClient c(port_);
  ASSERT_TRUE(c.send(get("/", "X-Big: " + std::string(2000, 'h') + "\r\n")));
  EXPECT_EQ(c.read_response().status_line(), "HTTP/1.1 431 Request Header Fields Too Large");
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(ServerTest, ABodyOverTheLimitIs413AndCloses) {
  start({.max_body_bytes = 100});
  RawClient c(port_);
  ASSERT_TRUE(c.send("POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n" + std::string(101, 'b')));
  EXPECT_EQ(c.read_response().status_line(), "HTTP/1.1 413 Request body larger than 100 bytes");
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(ServerTest, AChunkedBodyOverTheLimitIs413) {
  start({.max_body_bytes = 4});
  RawClient c(port_);
  ASSERT_TRUE(c.send("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n"));
  EXPECT_EQ(c.read_response().status_line(), "HTTP/1.1 413 Request body larger than 4 bytes");
}

TEST_F(ServerTest, AMalformedRequestIs400) {
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nBad Header\r\n\r\n"));
  EXPECT_EQ(c.read_response().status_line(), "HTTP/1.1 400 Bad Request");
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(ServerTest, AnIncompleteHeaderIsClosedAfterTheHeaderTimeout) {
  start({.header_timeout = milliseconds(100)});
  RawClient c(port_);
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: t\r\n"));
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(ServerTest, AConnectionSendingNothingIsClosedAfterTheHeaderTimeout) {
  start({.header_timeout = milliseconds(100)});
  RawClient c(port_);
  ASSERT_TRUE(c.connected());
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(ServerTest, AnIncompletePipelinedHeaderIsClosedAfterTheHeaderTimeout) {
  start({.header_timeout = milliseconds(100), .write_timeout = std::chrono::hours(1)});
  RawClient c(port_);
  ASSERT_TRUE(c.send(get("/1") + "GET /2 HTTP/1.1\r\n"));
  EXPECT_EQ(c.read_response().body, "GET /1 ? []");
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(ServerTest, AnIncompleteBodyIsClosedAfterTheBodyTimeout) {
  start({.body_timeout = milliseconds(100)});
  RawClient c(port_);
  ASSERT_TRUE(c.send("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"));
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(ServerTest, AnIdleKeepAliveConnectionIsClosedAfterTheKeepAliveTimeout) {
  start({.keep_alive_timeout = milliseconds(100)});
  RawClient c(port_);
  ASSERT_TRUE(c.send(get("/")));
  EXPECT_EQ(c.read_response().body, "GET / ? []");
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(ServerTest, ConnectionCloseIsHonoured) {
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.send(get("/", "Connection: close\r\n")));
  const auto reply = c.read_response();
  EXPECT_NE(reply.head.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(ServerTest, IdleAndSlowConnectionsDoNotHoldBackOthers) {
  start({}, nullptr, 1);  // one I/O thread, one worker
  std::vector<std::unique_ptr<RawClient>> waiting;
  for (int i = 0; i < 200; ++i) {
    waiting.push_back(std::make_unique<RawClient>(port_));
    if (i % 2) waiting.back()->send("GET / HTTP/1.1\r\nHo");  // a header that never ends
  }
  RawClient fresh(port_);
  ASSERT_TRUE(fresh.send(get("/fresh")));
  EXPECT_EQ(fresh.read_response().body, "GET /fresh ? []");
}

TEST_F(ServerTest, ASlowHandlerDoesNotStallOtherConnections) {
  std::mutex mutex;
  std::condition_variable released;
  bool release = false;
  start({},
        [&](const Request& req) {
          if (req.path == "/slow") {
            std::unique_lock lock(mutex);
            released.wait_for(lock, std::chrono::seconds(kClientWaitSeconds), [&] { return release; });
          }
          return Response{.body = req.path};
        },
        2);
  RawClient slow(port_), fast(port_);
  ASSERT_TRUE(slow.send(get("/slow")));
  ASSERT_TRUE(fast.send(get("/fast")));
  EXPECT_EQ(fast.read_response().body, "/fast");
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  released.notify_all();
  EXPECT_EQ(slow.read_response().body, "/slow");
}

TEST_F(ServerTest, ConnectionsOverTheLimitAreClosed) {
  start({.max_connections = 1});
  RawClient first(port_);
  ASSERT_TRUE(first.send(get("/")));
  EXPECT_EQ(first.read_response().body, "GET / ? []");
  RawClient second(port_);
  EXPECT_TRUE(second.closed_by_server());
}

// A stream that hands out `chunks` one per poll, with an empty poll (nothing
// ready) before each, then ends (or stays open without data: `end` false).
class ScriptedStream : public BodyStream {
 public:
  explicit ScriptedStream(std::vector<std::string> chunks, bool end = true) : chunks_(std::move(chunks)), end_(end) {}
  std::optional<std::string> poll() override {
    std::lock_guard lock(mutex_);
    if (next_ == chunks_.size()) return end_ ? std::nullopt : std::optional<std::string>("");
    if (idle_) {
      idle_ = false;
      return std::string();
    }
    idle_ = true;
    return chunks_[next_++];
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> chunks_;
  bool end_;
  size_t next_ = 0;
  bool idle_ = true;
};

// Reads until the server closes; returns everything received.
std::string read_to_end(RawClient& c) {
  std::string all;
  char chunk[4096];
  while (true) {
    const ssize_t n = ::recv(c.fd(), chunk, sizeof chunk, 0);
    if (n <= 0) return all;
    all.append(chunk, static_cast<size_t>(n));
  }
}

TEST_F(ServerTest, AStreamedBodyIsSentInChunksAsItComesThenEnds) {
  start({.stream_poll = milliseconds(5)}, [](const Request&) {
    return Response{.headers = {{"Content-Type", "text/event-stream"}},
                    .stream = std::make_shared<ScriptedStream>(std::vector<std::string>{"data: a\n\n", "data: bc\n\n"})};
  });
  RawClient c(port_);
  ASSERT_TRUE(c.send(get("/events")));
  const std::string all = read_to_end(c);
  EXPECT_EQ(all.substr(0, all.find("\r\n")), "HTTP/1.1 200 OK");
  EXPECT_NE(all.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_NE(all.find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_NE(all.find("\r\n\r\n9\r\ndata: a\n\n\r\na\r\ndata: bc\n\n\r\n0\r\n\r\n"), std::string::npos) << all;
}

TEST_F(ServerTest, StreamsOverTheLimitAre503AndOthersAreStillServed) {
  start({.max_streams = 1, .stream_poll = milliseconds(5)}, [](const Request& req) {
    if (req.path != "/events") return Response{.body = "plain"};
    return Response{.stream = std::make_shared<ScriptedStream>(std::vector<std::string>{}, false)};
  });
  RawClient first(port_);
  ASSERT_TRUE(first.send(get("/events")));
  std::string head;
  char ch;
  while (head.find("\r\n\r\n") == std::string::npos && ::recv(first.fd(), &ch, 1, 0) == 1) head += ch;
  EXPECT_EQ(head.substr(0, head.find("\r\n")), "HTTP/1.1 200 OK");
  RawClient second(port_);
  ASSERT_TRUE(second.send(get("/events")));
  EXPECT_EQ(second.read_response().status_line(), "HTTP/1.1 503 Too many open event streams");
  RawClient third(port_);
  ASSERT_TRUE(third.send(get("/")));
  EXPECT_EQ(third.read_response().body, "plain");
}

TEST_F(ServerTest, AStreamToAClientThatStopsReadingIsDroppedAfterTheWriteTimeout) {
  // 1 MiB chunks fill the socket buffers of a client that never reads.
  start({.write_timeout = milliseconds(300), .max_streams = 1, .stream_poll = milliseconds(1)}, [](const Request& req) {
    if (req.path != "/events") return Response{.body = "plain"};
    std::vector<std::string> chunks(64, std::string(1 << 20, 'x'));
    return Response{.stream = std::make_shared<ScriptedStream>(std::move(chunks), false)};
  });
  auto stuck = std::make_unique<RawClient>(port_);
  ASSERT_TRUE(stuck->send(get("/events")));
  // It holds the one slot (its header came), then reads no more.
  std::string head;
  char ch;
  while (head.find("\r\n\r\n") == std::string::npos && ::recv(stuck->fd(), &ch, 1, 0) == 1) head += ch;
  ASSERT_EQ(head.substr(0, 15), "HTTP/1.1 200 OK");
  // Its slot is free again once the server gave up on it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kClientWaitSeconds);
  std::string status;
  while (std::chrono::steady_clock::now() < deadline) {
    RawClient probe(port_);
    ASSERT_TRUE(probe.send(get("/events", "Connection: close\r\n")));
    char buf[64] = {};
    const ssize_t n = ::recv(probe.fd(), buf, sizeof buf - 1, 0);
    status = std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
    if (status.rfind("HTTP/1.1 200", 0) == 0) break;
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(status.substr(0, 15), "HTTP/1.1 200 OK");
}

TEST(ServerTlsTest, ServesHttpsWithTheIdentitysCertificate) {
  auto identity = TlsIdentity::self_signed("127.0.0.1");
  ASSERT_TRUE(identity.ok()) << identity.error().to_string();
  Server server(ServerOptions{.port = 0, .tls = *identity},
                [](const Request& req) { return Response{.status = 500, .reason = "over TLS", .body = req.path}; });
  auto port = server.bind();
  ASSERT_TRUE(port.ok()) << port.error().to_string();
  std::thread serving([&] { EXPECT_TRUE(server.serve().ok()); });

  RawClient tcp(*port);
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  SSL_set_fd(ssl.get(), tcp.fd());
  ASSERT_EQ(SSL_connect(ssl.get()), 1);
  X509* peer = SSL_get_peer_certificate(ssl.get());
  ASSERT_NE(peer, nullptr);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(peer, EVP_sha256(), md, &n);
  X509_free(peer);
  std::string fingerprint;
  for (unsigned i = 0; i < n; ++i) {
    char hex[4];
    std::snprintf(hex, sizeof hex, i ? ":%02X" : "%02X", md[i]);
    fingerprint += hex;
  }
  EXPECT_EQ(fingerprint, identity->fingerprint());
  const std::string request = get("/secure", "Connection: close\r\n");
  ASSERT_EQ(SSL_write(ssl.get(), request.data(), static_cast<int>(request.size())), static_cast<int>(request.size()));
  std::string reply;
  char buf[4096];
  for (int got; (got = SSL_read(ssl.get(), buf, sizeof buf)) > 0;) reply.append(buf, static_cast<size_t>(got));
  EXPECT_EQ(reply.substr(0, reply.find("\r\n")), "HTTP/1.1 500 over TLS");
  EXPECT_EQ(reply.substr(reply.find("\r\n\r\n") + 4), "/secure");

  server.stop();
  serving.join();
}

TEST(ServerBindTest, AnAddressInUseIsAnErrorNamingIt) {
  Server first(ServerOptions{.port = 0}, [](const Request&) { return Response{}; });
  auto port = first.bind();
  ASSERT_TRUE(port.ok());
  Server second(ServerOptions{.port = *port}, [](const Request&) { return Response{}; });
  auto again = second.bind();
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().to_string().find("127.0.0.1:" + std::to_string(*port)), std::string::npos);
}

}  // namespace
}  // namespace pvekit::http
