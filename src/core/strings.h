#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pvekit::core {

// Splits on every occurrence of `sep`; empty pieces are kept unless skip_empty.
std::vector<std::string> split(std::string_view text, char sep, bool skip_empty = false);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
std::string_view trim(std::string_view text);
std::string to_lower(std::string_view text);
bool starts_with(std::string_view text, std::string_view prefix);
// A loopback host as a listener or a Host header names it: "localhost",
// "::1", or an address of 127.0.0.0/8 in dotted digits ("127.evil.example"
// is a name that DNS may point anywhere). Case-insensitive; no brackets.
bool is_loopback_host(std::string_view host);

// The value of one hex digit (either case), -1 when `c` is not one.
int hex_digit(char c);

// Standard base64 (RFC 4648, with padding), as etcd's JSON gateway carries
// keys and values. decode: nullopt on a character outside the alphabet or a
// length that is not a multiple of four.
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

// Whole-string number parsing: no trailing garbage, no overflow.
std::optional<int64_t> parse_int(std::string_view text);
std::optional<double> parse_double(std::string_view text);
// Accepts 1/0, true/false, yes/no, on/off (any case).
std::optional<bool> parse_bool(std::string_view text);

// Sizes as PVE and users write them: "512" (bytes), "4K", "2M", "8G", "1T",
// with optional "iB"/"B" suffix; binary multiples. nullopt when malformed.
std::optional<uint64_t> parse_size(std::string_view text);
// "12.5 GiB", "300 MiB": human-readable binary size.
std::string format_bytes(double bytes);

}  // namespace pvekit::core
