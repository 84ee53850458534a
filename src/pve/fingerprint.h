#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pvekit::pve {

// A SHA-256 certificate fingerprint in PVE's format: 32 upper-case hex pairs
// joined by ':' ("AA:BB:...", 95 characters), as shown by
// `pvenode cert info` and in /nodes' ssl_fingerprint.
std::string format_fingerprint(std::span<const uint8_t> digest);

// Accepts upper or lower case, with ':' separators or as 64 bare hex digits,
// surrounding spaces ignored; returns the canonical PVE form, nullopt unless it
// is exactly 32 bytes of hex.
std::optional<std::string> normalize_fingerprint(std::string_view text);

// True when both parse and name the same digest.
bool fingerprints_equal(std::string_view a, std::string_view b);

// SHA-256 of a DER-encoded certificate, in PVE's format.
std::string der_certificate_fingerprint(std::span<const uint8_t> der);

// True when `actual` (canonical form) equals one of `pinned` (any accepted form).
bool fingerprint_matches(std::string_view actual, const std::vector<std::string>& pinned);

}  // namespace pvekit::pve
