#pragma once

#include <memory>
#include <string>

#include "core/result.h"

namespace pvekit::http {

// A certificate and key pair with its PVE-style SHA-256 fingerprint
// ("AA:BB:..."). Owns the OpenSSL objects; copies share them.
class TlsIdentity {
 public:
  // Generates an EC P-256 key and a self-signed certificate for `host`
  // (10 years, SAN with localhost, 127.0.0.1 and `host`).
  static core::Result<TlsIdentity> self_signed(const std::string& host);
  // Loads PEM files.
  static core::Result<TlsIdentity> load(const std::string& cert_file, const std::string& key_file);

  const std::string& fingerprint() const { return fingerprint_; }
  void* cert() const { return cert_.get(); }  // X509*
  void* key() const { return key_.get(); }    // EVP_PKEY*

 private:
  std::shared_ptr<void> cert_;
  std::shared_ptr<void> key_;
  std::string fingerprint_;
};

}  // namespace pvekit::http
