#include "sim/server.h"

#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>

#include "core/strings.h"
#include "sim/http_io.h"

namespace pvekit::sim {
namespace {

using core::Error;
using core::ErrorCategory;

Error tls_error(const std::string& what) { return Error(ErrorCategory::System, "TLS: " + what); }

std::string fingerprint_of(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(cert, EVP_sha256(), md, &n);
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    char buf[4];
    std::snprintf(buf, sizeof buf, i ? ":%02X" : "%02X", md[i]);
    out += buf;
  }
  return out;
}

bool add_ext(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

std::string url_decode(const std::string& s, bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += plus_is_space && s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

void parse_form(const std::string& body, Params& out) {
  for (const auto& pair : core::split(body, '&', true)) {
    const auto eq = pair.find('=');
    out[url_decode(pair.substr(0, eq), true)] = eq == std::string::npos ? "" : url_decode(pair.substr(eq + 1), true);
  }
}

void parse_json_body(const std::string& body, Params& out) {
  auto doc = core::parse_json(body, "request body");
  if (!doc.ok() || !doc->is_object()) return;
  for (const auto& [k, v] : doc->items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
    else if (v.is_boolean()) out[k] = v.get<bool>() ? "1" : "0";
    else if (!v.is_null()) out[k] = v.dump();
  }
}

ApiRequest to_api_request(const httplib::Request& req, std::string path) {
  ApiRequest ar;
  ar.method = req.method;
  ar.path = std::move(path);
  for (const auto& [k, v] : req.params) ar.params[k] = v;
  const std::string type = req.get_header_value("Content-Type");
  if (core::starts_with(type, "application/x-www-form-urlencoded")) parse_form(req.body, ar.params);
  if (core::starts_with(type, "application/json")) parse_json_body(req.body, ar.params);
  for (const auto& [name, part] : req.files) {
    if (part.filename.empty()) {
      ar.params[name] = part.content;
    } else {
      ar.params[name] = part.filename;
      ar.upload = part.content;
    }
  }
  for (const auto& [k, v] : req.headers) ar.headers[core::to_lower(k)] = v;
  for (const auto& item : core::split(req.get_header_value("Cookie"), ';', true)) {
    const std::string c(core::trim(item));
    const auto eq = c.find('=');
    if (eq != std::string::npos) ar.cookies[c.substr(0, eq)] = url_decode(c.substr(eq + 1), false);
  }
  return ar;
}

// The connection whose request this thread is handling; the handler hands it
// the reason phrase of its response.
thread_local Connection* t_connection = nullptr;

// cpp-httplib 0.11 with the socket I/O of a Connection (see http_io.h):
// httplib parses, routes and writes the response, a Connection carries it
// over plain TCP or TLS and puts the handler's reason phrase in the status
// line. The keep-alive loop is httplib's, except that it also ends within
// 100 ms of stop() instead of after the keep-alive timeout.
class HttpServer final : public httplib::Server {
 public:
  explicit HttpServer(SSL_CTX* tls) : tls_(tls) {}

 private:
  bool process_and_close_socket(::socket_t sock) override;

  SSL_CTX* tls_;  // nullptr: plain HTTP
};

int to_ms(time_t sec, time_t usec) { return static_cast<int>(sec * 1000 + usec / 1000); }

bool HttpServer::process_and_close_socket(::socket_t sock) {
  const IoTimeouts timeouts{to_ms(read_timeout_sec_, read_timeout_usec_),
                            to_ms(write_timeout_sec_, write_timeout_usec_)};
  const int one = 1;
  setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
  bool ok = false;
  SSL* ssl = tls_ ? tls_accept(tls_, sock, timeouts.read_ms) : nullptr;
  if (!tls_ || ssl) {
    Connection conn(sock, ssl, timeouts);
    const auto running = [this] { return svr_sock_ != INVALID_SOCKET; };
    for (size_t left = keep_alive_max_count_; left > 0; --left) {
      if (!conn.wait_request(to_ms(keep_alive_timeout_sec_, 0), running)) break;
      bool closed = false;
      conn.set_reason("");
      struct Current {
        explicit Current(Connection* c) { t_connection = c; }
        ~Current() { t_connection = nullptr; }
      } current(&conn);
      ok = process_request(conn, left == 1 || !running(), closed, nullptr);
      if (!ok || closed) break;
    }
    if (ssl) tls_close(ssl, ok);
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

}  // namespace

std::string replace_reason_phrase(std::string_view head, std::string_view reason) {
  const size_t eol = head.find("\r\n");
  const size_t code = head.find(' ');
  if (!core::starts_with(head, "HTTP/1.") || eol == std::string_view::npos || code > eol) return std::string(head);
  const size_t code_end = std::min(head.find(' ', code + 1), eol);
  std::string out(head.substr(0, code_end));
  out += ' ';
  out += reason_phrase(reason);
  out += head.substr(eol);
  return out;
}

core::Result<TlsIdentity> TlsIdentity::self_signed(const std::string& host) {
  TlsIdentity id;
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key) return tls_error("cannot generate an EC key");
  id.key_ = std::shared_ptr<void>(key, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
  X509* cert = X509_new();
  if (!cert) return tls_error("cannot allocate a certificate");
  id.cert_ = std::shared_ptr<void>(cert, [](void* p) { X509_free(static_cast<X509*>(p)); });
  X509_set_version(cert, 2);
  unsigned char serial[8];
  RAND_bytes(serial, sizeof serial);
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert), -86400);
  X509_gmtime_adj(X509_getm_notAfter(cert), 10L * 365 * 86400);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("PVE Cluster Node (pvesim)"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(host.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  std::string san = "DNS:localhost,IP:127.0.0.1";
  if (host != "localhost" && host != "127.0.0.1" && host != "0.0.0.0") {
    san += (host.find_first_not_of("0123456789.") == std::string::npos ? ",IP:" : ",DNS:") + host;
  }
  if (!add_ext(cert, NID_subject_alt_name, san) || !add_ext(cert, NID_basic_constraints, "critical,CA:FALSE")) {
    return tls_error("cannot add certificate extensions");
  }
  if (X509_sign(cert, key, EVP_sha256()) == 0) return tls_error("cannot sign the certificate");
  id.fingerprint_ = fingerprint_of(cert);
  return id;
}

core::Result<TlsIdentity> TlsIdentity::load(const std::string& cert_file, const std::string& key_file) {
  TlsIdentity id;
  FILE* f = std::fopen(cert_file.c_str(), "r");
  if (!f) return Error::system("cannot open certificate " + cert_file, errno);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!cert) return tls_error("no PEM certificate in " + cert_file);
  id.cert_ = std::shared_ptr<void>(cert, [](void* p) { X509_free(static_cast<X509*>(p)); });
  f = std::fopen(key_file.c_str(), "r");
  if (!f) return Error::system("cannot open key " + key_file, errno);
  EVP_PKEY* key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!key) return tls_error("no PEM private key in " + key_file);
  id.key_ = std::shared_ptr<void>(key, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
  id.fingerprint_ = fingerprint_of(cert);
  return id;
}

struct Server::Impl {
  Api& api;
  ServerOptions options;
  std::optional<TlsIdentity> tls;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> tls_ctx{nullptr, SSL_CTX_free};
  std::unique_ptr<HttpServer> http;  // after tls_ctx: destroyed before it
};

Server::Server(Api& api, ServerOptions options) : impl_(std::make_unique<Impl>(Impl{api, std::move(options), {}})) {}
Server::~Server() = default;

const std::string& Server::fingerprint() const {
  static const std::string kNone;
  return impl_->tls ? impl_->tls->fingerprint() : kNone;
}

core::Result<int> Server::bind() {
  Impl& s = *impl_;
  if (!s.options.plain_http) {
    auto tls = s.options.cert_file.empty() ? TlsIdentity::self_signed(s.options.host)
                                           : TlsIdentity::load(s.options.cert_file, s.options.key_file);
    if (!tls.ok()) return std::move(tls).error();
    s.tls = std::move(*tls);
    s.tls_ctx.reset(SSL_CTX_new(TLS_server_method()));
    SSL_CTX* ctx = s.tls_ctx.get();
    if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_use_certificate(ctx, static_cast<X509*>(s.tls->cert())) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, static_cast<EVP_PKEY*>(s.tls->key())) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
      return tls_error("the server could not set up its TLS context");
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  }
  s.http = std::make_unique<HttpServer>(s.tls_ctx.get());
  const int threads = std::max(1, s.options.threads);
  // httplib takes ownership of the queue it gets from this factory.
  s.http->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.http->set_keep_alive_max_count(1000000);
  s.http->set_keep_alive_timeout(30);
  // Headers and body go out in separate writes; without TCP_NODELAY, Nagle's
  // algorithm and delayed ACKs add 40 ms to every keep-alive request.
  s.http->set_tcp_nodelay(true);
  Api& api = s.api;
  auto handler = [&api](const httplib::Request& req, httplib::Response& res) {
    ApiResponse out;
    if (core::starts_with(req.path, "/api2/json/")) {
      out = api.handle(to_api_request(req, req.path.substr(10)));
    } else if (core::starts_with(req.path, "/_sim/")) {
      out = api.handle_admin(to_api_request(req, req.path.substr(5)));
    } else {
      out = error_response(Error(ErrorCategory::Api, "Method '" + req.method + " " + req.path + "' not implemented")
                               .with_http_status(501));
    }
    res.status = out.status;
    // PVE's message as the reason phrase; successes keep httplib's "OK".
    if (t_connection && out.status != 200 && !out.reason.empty()) t_connection->set_reason(out.reason);
    if (out.shared_body) {
      // Large cached bodies (cluster/resources) are streamed without a copy.
      auto body = out.shared_body;
      res.set_content_provider(body->size(), "application/json;charset=UTF-8",
                               [body](size_t offset, size_t length, httplib::DataSink& sink) {
                                 sink.write(body->data() + offset, std::min(length, body->size() - offset));
                                 return true;
                               });
    } else {
      res.body = std::move(out.body);
      res.set_header("Content-Type", "application/json;charset=UTF-8");
    }
  };
  // Every path, including ones with CR or LF decoded from %0D/%0A ("/.*"
  // would leave those to httplib's 404): PVE answers them with its 501.
  for (const char* pattern : {"/[\\s\\S]*"}) {
    s.http->Get(pattern, handler).Post(pattern, handler).Put(pattern, handler).Delete(pattern, handler);
  }
  // A request without Content-Length and Transfer-Encoding has no body (RFC
  // 9112 6.3), and PVE handles it with its query parameters (`curl -X POST
  // URL?a=b`). httplib 0.11 would instead read until the client gives up or
  // the read timeout and answer an empty 400: answer it before that.
  s.http->set_pre_routing_handler([handler](const httplib::Request& req, httplib::Response& res) {
    const bool takes_body = req.method == "POST" || req.method == "PUT" || req.method == "DELETE";
    if (!takes_body || req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    handler(req, res);
    return httplib::Server::HandlerResponse::Handled;
  });
  const int port = s.options.port == 0 ? s.http->bind_to_any_port(s.options.host)
                                       : (s.http->bind_to_port(s.options.host, s.options.port) ? s.options.port : -1);
  if (port <= 0) {
    return Error(ErrorCategory::System, "cannot listen on " + s.options.host + ":" + std::to_string(s.options.port));
  }
  return port;
}

core::Status Server::serve() {
  if (!impl_->http || !impl_->http->listen_after_bind()) {
    return Error(ErrorCategory::System, "the HTTP server stopped with an error");
  }
  return core::ok();
}

void Server::stop() {
  if (impl_->http) impl_->http->stop();
}

}  // namespace pvekit::sim
