#include "http/form.h"

#include <cctype>

#include "core/strings.h"

namespace pvekit::http {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

core::Error multipart_error(const std::string& what) {
  return core::Error(core::ErrorCategory::Api, "multipart/form-data: " + what).with_http_status(400);
}

}  // namespace

std::string url_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const int hi = text[i] == '%' && i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
    const int lo = hi >= 0 ? hex_value(text[i + 2]) : -1;
    if (lo >= 0) {
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += plus_is_space && text[i] == '+' ? ' ' : text[i];
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_urlencoded(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& pair : core::split(text, '&', true)) {
    const auto eq = pair.find('=');
    out.emplace_back(url_decode(std::string_view(pair).substr(0, eq), true),
                     eq == std::string::npos ? "" : url_decode(std::string_view(pair).substr(eq + 1), true));
  }
  return out;
}

std::map<std::string, std::string> parse_cookies(std::string_view header) {
  std::map<std::string, std::string> out;
  for (const auto& item : core::split(header, ';', true)) {
    const std::string_view cookie = core::trim(item);
    const auto eq = cookie.find('=');
    if (eq != std::string_view::npos) out[std::string(cookie.substr(0, eq))] = url_decode(cookie.substr(eq + 1), false);
  }
  return out;
}

std::string header_parameter(std::string_view value, std::string_view name) {
  const auto items = core::split(value, ';', true);
  for (size_t i = 1; i < items.size(); ++i) {
    const std::string_view item = core::trim(items[i]);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos || core::to_lower(core::trim(item.substr(0, eq))) != core::to_lower(name)) continue;
    std::string_view v = core::trim(item.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return std::string(v);
  }
  return "";
}

core::Result<std::vector<FormPart>> parse_multipart(std::string_view body, std::string_view content_type) {
  const std::string boundary = header_parameter(content_type, "boundary");
  if (boundary.empty()) return multipart_error("no boundary in the Content-Type");
  const std::string delimiter = "--" + boundary;
  // The first delimiter starts the body or a line after a preamble.
  size_t pos = core::starts_with(body, delimiter) ? 0 : body.find("\r\n" + delimiter);
  if (pos == std::string_view::npos) return multipart_error("no part delimited by the boundary");
  if (pos != 0) pos += 2;
  const std::string next_delimiter = "\r\n" + delimiter;
  std::vector<FormPart> parts;
  for (;;) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") return parts;  // the close delimiter
    const size_t line_end = body.find("\r\n", pos);  // transport padding may precede it
    if (line_end == std::string_view::npos) return multipart_error("a delimiter line does not end");
    const size_t headers_end = body.find("\r\n\r\n", line_end);
    if (headers_end == std::string_view::npos) return multipart_error("the headers of part " + std::to_string(parts.size() + 1) + " do not end");
    FormPart part;
    const std::string_view headers = body.substr(line_end + 2, headers_end - line_end - 2);
    for (const auto& line : core::split(headers, '\n', true)) {
      const std::string_view field = core::trim(line);
      const auto colon = field.find(':');
      if (colon == std::string_view::npos) continue;
      const std::string name = core::to_lower(core::trim(field.substr(0, colon)));
      const std::string_view value = core::trim(field.substr(colon + 1));
      if (name == "content-disposition") {
        part.name = header_parameter(value, "name");
        part.filename = header_parameter(value, "filename");
      } else if (name == "content-type") {
        part.content_type = std::string(value);
      }
    }
    const size_t content_begin = headers_end + 4;
    const size_t content_end = body.find(next_delimiter, content_begin);
    if (content_end == std::string_view::npos) return multipart_error("part " + std::to_string(parts.size() + 1) + " has no closing boundary");
    part.content = std::string(body.substr(content_begin, content_end - content_begin));
    parts.push_back(std::move(part));
    pos = content_end + 2;
  }
}

}  // namespace pvekit::http
