// Request parameters as browsers and API clients send them: URL-encoded
// queries and forms, cookies, multipart/form-data uploads. No I/O.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace pvekit::http {

// %XX decoded (malformed escapes kept as they are); '+' becomes a space when
// `plus_is_space` (queries and forms, not paths).
std::string url_decode(std::string_view text, bool plus_is_space);

// "a=1&b=x%20y&c" -> {a: 1}, {b: "x y"}, {c: ""}, in order.
std::vector<std::pair<std::string, std::string>> parse_urlencoded(std::string_view text);

// A Cookie header "a=1; b=2" -> {a: 1, b: 2}; values URL-decoded.
std::map<std::string, std::string> parse_cookies(std::string_view header);

// The parameter `name` of a header value such as Content-Type
// ("multipart/form-data; boundary=xyz"), unquoted; empty when absent.
std::string header_parameter(std::string_view value, std::string_view name);

struct FormPart {
  std::string name;
  std::string filename;  // empty for a plain field
  std::string content_type;
  std::string content;
};

// The parts of a multipart/form-data body (RFC 7578) whose Content-Type
// header is `content_type`.
core::Result<std::vector<FormPart>> parse_multipart(std::string_view body, std::string_view content_type);

}  // namespace pvekit::http
