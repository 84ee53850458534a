#include "http/tls.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>

namespace pvekit::http {
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

}  // namespace

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

}  // namespace pvekit::http
