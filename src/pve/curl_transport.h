#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pve/transport.h"

namespace pvekit::pve {

// How the server's TLS certificate is checked.
enum class TlsVerify {
  System,       // the system CA store and host name (a certificate signed by a public/company CA)
  CaFile,       // the CA bundle in TlsOptions::ca_file, plus host name
  Fingerprint,  // only the SHA-256 fingerprint of the server certificate (PVE's self-signed default)
  Insecure,     // no check at all; only when explicitly asked for
};

struct TlsOptions {
  TlsVerify verify = TlsVerify::System;
  std::string ca_file;  // PEM bundle, for CaFile
  // For Fingerprint: accepted certificate fingerprints ("AA:BB:..." or bare
  // hex); one per cluster node, as each PVE node has its own certificate.
  std::vector<std::string> fingerprints;
  // A client certificate and its key (PEM), for servers that ask for one
  // (etcd with --client-cert-auth); both or neither.
  std::string client_cert_file;
  std::string client_key_file;
};

struct CurlTransportOptions {
  TlsOptions tls;
  std::chrono::milliseconds connect_timeout{10'000};  // TCP + TLS handshake
  std::chrono::milliseconds timeout{60'000};  // whole request, when the request names none
  size_t max_idle_handles = 8;  // idle connections kept for reuse (keep-alive)
  // When set, every request goes over this unix socket (the URL's host only
  // names the Host header): proxlb's status API.
  std::string unix_socket;
};

// The libcurl Transport: HTTP/1.1 over TLS with keep-alive. Easy handles (each
// holding its connection cache) are kept in a mutex-protected pool, so the
// transport is safe to use from several threads, and a thread reuses a warm
// connection whenever one is idle.
class CurlTransport final : public Transport {
 public:
  // Config error when the options are unusable (bad fingerprint, missing CA
  // file, libcurl not built with OpenSSL while pinning is asked for).
  static core::Result<std::unique_ptr<CurlTransport>> create(CurlTransportOptions options);
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  core::Result<HttpResponse> send(const HttpRequest& request) override;

 private:
  explicit CurlTransport(CurlTransportOptions options);
  void* acquire();
  void release(void* handle);

  CurlTransportOptions options_;
  std::mutex mutex_;
  std::vector<void*> idle_;  // CURL* easy handles
};

}  // namespace pvekit::pve
