#include "http/auth.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <stdexcept>
#include <vector>

namespace pvekit::http {

bool bearer_token_matches(const std::map<std::string, std::string>& headers, const std::string& token) {
  auto it = headers.find("authorization");
  return !token.empty() && it != headers.end() && secret_matches(it->second, "Bearer " + token);
}

bool secret_matches(std::string_view given, std::string_view secret) {
  return !secret.empty() && given.size() == secret.size() &&
         CRYPTO_memcmp(given.data(), secret.data(), secret.size()) == 0;
}

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  // Without randomness no session can be safe: refuse rather than guessable ids.
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char b : raw) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

}  // namespace pvekit::http
