#include "pve/fingerprint.h"

#include <openssl/evp.h>

#include "core/strings.h"

namespace pvekit::pve {

std::string format_fingerprint(std::span<const uint8_t> digest) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(digest.size() * 3);
  for (size_t i = 0; i < digest.size(); ++i) {
    if (i > 0) out += ':';
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xF];
  }
  return out;
}

std::optional<std::string> normalize_fingerprint(std::string_view text) {
  text = core::trim(text);
  std::vector<uint8_t> bytes;
  bool colons = text.find(':') != std::string_view::npos;
  size_t i = 0;
  while (i < text.size()) {
    if (i + 1 >= text.size()) return std::nullopt;
    int hi = core::hex_digit(text[i]);
    int lo = core::hex_digit(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    bytes.push_back(static_cast<uint8_t>(hi * 16 + lo));
    i += 2;
    if (colons && i < text.size()) {
      if (text[i] != ':') return std::nullopt;
      ++i;
      if (i == text.size()) return std::nullopt;  // trailing ':'
    }
  }
  if (bytes.size() != 32) return std::nullopt;
  return format_fingerprint(bytes);
}

bool fingerprints_equal(std::string_view a, std::string_view b) {
  auto na = normalize_fingerprint(a);
  auto nb = normalize_fingerprint(b);
  return na && nb && *na == *nb;
}

std::string der_certificate_fingerprint(std::span<const uint8_t> der) {
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(der.data(), der.size(), digest, &len, EVP_sha256(), nullptr) != 1) return {};
  return format_fingerprint(std::span<const uint8_t>(digest, len));
}

bool fingerprint_matches(std::string_view actual, const std::vector<std::string>& pinned) {
  for (const auto& p : pinned) {
    if (fingerprints_equal(actual, p)) return true;
  }
  return false;
}

}  // namespace pvekit::pve
