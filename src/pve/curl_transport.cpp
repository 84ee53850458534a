#include "pve/curl_transport.h"

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <filesystem>

#include "core/strings.h"
#include "pve/fingerprint.h"

namespace pvekit::pve {

namespace {

using core::Error;
using core::ErrorCategory;

void global_init() {
  // curl_global_init is not thread-safe in the libcurl versions we support.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// ---- fingerprint pinning ----------------------------------------------------
// libcurl can pin public keys but not certificate fingerprints, which is what
// PVE shows. So when pinning, curl's own verification is switched off and an
// OpenSSL verify callback accepts the handshake only if the peer's leaf
// certificate hashes to one of the pinned fingerprints.

int pins_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// The fingerprint of the last certificate refused on this thread, for the
// error message. The handshake runs on the thread that calls send(), so a
// thread_local needs no locking.
thread_local std::string rejected_fingerprint;

int verify_pinned(int /*preverify_ok*/, X509_STORE_CTX* store) {
  // Chain errors (self-signed, unknown CA) are expected and ignored: the only
  // thing that counts is the leaf certificate, checked on every call.
  X509* leaf = X509_STORE_CTX_get0_cert(store);
  auto* ssl = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  if (leaf == nullptr || ssl == nullptr) return 0;
  auto* pins = static_cast<const std::vector<std::string>*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), pins_index()));
  if (pins == nullptr) return 0;
  unsigned char* der = nullptr;
  int len = i2d_X509(leaf, &der);
  if (len <= 0) return 0;
  std::string actual =
      der_certificate_fingerprint(std::span<const uint8_t>(der, static_cast<size_t>(len)));
  OPENSSL_free(der);
  if (fingerprint_matches(actual, *pins)) {
    X509_STORE_CTX_set_error(store, X509_V_OK);
    return 1;
  }
  rejected_fingerprint = actual;
  X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
  return 0;
}

CURLcode install_pinning(CURL* /*curl*/, void* ssl_ctx, void* pins) {
  auto* ctx = static_cast<SSL_CTX*>(ssl_ctx);
  SSL_CTX_set_ex_data(ctx, pins_index(), pins);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_pinned);
  return CURLE_OK;
}

bool curl_uses_openssl() {
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  return info != nullptr && info->ssl_version != nullptr &&
         core::starts_with(info->ssl_version, "OpenSSL");
}

// ---- response capture -------------------------------------------------------

size_t on_body(char* data, size_t size, size_t count, void* user) {
  static_cast<HttpResponse*>(user)->body.append(data, size * count);
  return size * count;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<HttpResponse*>(user);
  std::string_view line(data, size * count);
  line = core::trim(line);
  if (core::starts_with(line, "HTTP/")) {
    // A new status line (after 100-continue or a redirect) starts over.
    response->headers.clear();
    auto sp1 = line.find(' ');
    auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    response->reason = sp2 == std::string_view::npos ? "" : std::string(line.substr(sp2 + 1));
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    response->headers.emplace_back(std::string(core::trim(line.substr(0, colon))),
                                   std::string(core::trim(line.substr(colon + 1))));
  }
  return size * count;
}

struct HeaderList {
  curl_slist* list = nullptr;
  ~HeaderList() { curl_slist_free_all(list); }
  void add(const std::string& line) { list = curl_slist_append(list, line.c_str()); }
};

TransportStage classify(CURL* curl, CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return TransportStage::Connect;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
      return TransportStage::Tls;
    default:
      break;
  }
  // Timeouts and send errors: if not a byte of the request went out, the
  // server cannot have acted on it.
  long request_size = 0;
  curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &request_size);
  return request_size == 0 ? TransportStage::Connect : TransportStage::Io;
}

void set_method(CURL* curl, const HttpRequest& request) {
  switch (request.method) {
    case HttpMethod::Get:
      curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
      return;
    case HttpMethod::Post:
      curl_easy_setopt(curl, CURLOPT_POST, 1L);
      break;
    case HttpMethod::Put:
    case HttpMethod::Delete:
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, std::string(to_string(request.method)).c_str());
      if (request.body.empty()) return;
      break;
  }
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
}

void set_tls(CURL* curl, const TlsOptions& tls) {
  switch (tls.verify) {
    case TlsVerify::System:
      curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
      curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
      break;
    case TlsVerify::CaFile:
      curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
      curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
      curl_easy_setopt(curl, CURLOPT_CAINFO, tls.ca_file.c_str());
      break;
    case TlsVerify::Fingerprint:
      curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
      // A resumed TLS session skips certificate verification; always do a
      // full handshake so every connection is checked against the pins.
      curl_easy_setopt(curl, CURLOPT_SSL_SESSIONID_CACHE, 0L);
      curl_easy_setopt(curl, CURLOPT_SSL_CTX_FUNCTION, install_pinning);
      curl_easy_setopt(curl, CURLOPT_SSL_CTX_DATA, const_cast<std::vector<std::string>*>(&tls.fingerprints));
      break;
    case TlsVerify::Insecure:
      curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
      break;
  }
  if (!tls.client_cert_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLCERT, tls.client_cert_file.c_str());
    curl_easy_setopt(curl, CURLOPT_SSLKEY, tls.client_key_file.c_str());
  }
}

}  // namespace

core::Result<std::unique_ptr<CurlTransport>> CurlTransport::create(CurlTransportOptions options) {
  global_init();
  const char* what = "creating the HTTP transport";
  if (options.tls.verify == TlsVerify::Fingerprint) {
    if (options.tls.fingerprints.empty())
      return Error(ErrorCategory::Config, "TLS fingerprint pinning needs at least one fingerprint").wrap(what);
    for (auto& fp : options.tls.fingerprints) {
      auto normal = normalize_fingerprint(fp);
      if (!normal)
        return Error(ErrorCategory::Config,
                     "fingerprint '" + fp + "' is not a SHA-256 fingerprint (AA:BB:... 32 hex pairs)")
            .wrap(what);
      fp = *normal;
    }
    if (!curl_uses_openssl())
      return Error(ErrorCategory::Config, "fingerprint pinning needs libcurl built with OpenSSL").wrap(what);
  }
  if (options.tls.verify == TlsVerify::CaFile) {
    std::error_code ec;
    if (options.tls.ca_file.empty() || !std::filesystem::is_regular_file(options.tls.ca_file, ec))
      return Error(ErrorCategory::Config, "CA file '" + options.tls.ca_file + "' does not exist").wrap(what);
  }
  if (options.tls.client_cert_file.empty() != options.tls.client_key_file.empty())
    return Error(ErrorCategory::Config, "a client certificate needs its key file, and a key its certificate").wrap(what);
  for (const auto* file : {&options.tls.client_cert_file, &options.tls.client_key_file}) {
    std::error_code ec;
    if (!file->empty() && !std::filesystem::is_regular_file(*file, ec))
      return Error(ErrorCategory::Config, "client certificate or key file '" + *file + "' does not exist").wrap(what);
  }
  return std::unique_ptr<CurlTransport>(new CurlTransport(std::move(options)));
}

CurlTransport::CurlTransport(CurlTransportOptions options) : options_(std::move(options)) {}

CurlTransport::~CurlTransport() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* CurlTransport::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void CurlTransport::release(void* handle) {
  std::lock_guard lock(mutex_);
  if (idle_.size() < options_.max_idle_handles) {
    idle_.push_back(handle);
  } else {
    curl_easy_cleanup(static_cast<CURL*>(handle));
  }
}

core::Result<HttpResponse> CurlTransport::send(const HttpRequest& request) {
  auto* curl = static_cast<CURL*>(acquire());
  if (curl == nullptr) return Error(ErrorCategory::Internal, "curl_easy_init failed");
  // Reset clears options but keeps live connections: that is the keep-alive.
  curl_easy_reset(curl);
  HttpResponse response;
  char errbuf[CURL_ERROR_SIZE] = {0};
  HeaderList headers;
  for (const auto& [k, v] : request.headers) headers.add(k + ": " + v);
  headers.add("Expect:");  // PVE does not need 100-continue round trips

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
  auto timeout = request.timeout.count() > 0 ? request.timeout : options_.timeout;
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);
  set_method(curl, request);
  set_tls(curl, options_.tls);
  if (!options_.unix_socket.empty()) curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, options_.unix_socket.c_str());

  rejected_fingerprint.clear();
  CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK) {
    TransportStage stage = classify(curl, code);
    std::string message = curl_easy_strerror(code);
    if (errbuf[0] != '\0') message += std::string(" (") + errbuf + ")";
    if (stage == TransportStage::Tls && !rejected_fingerprint.empty())
      message = "server certificate fingerprint " + rejected_fingerprint + " is not pinned: " + message;
    release(curl);
    return transport_error(std::move(message), stage);
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  release(curl);
  return response;
}

}  // namespace pvekit::pve
