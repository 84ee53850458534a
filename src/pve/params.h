#pragma once

#include <concepts>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pvekit::pve {

// Request parameters in PVE's wire form: every value a string, booleans as
// 0/1. Order is kept (it does not matter to PVE, but makes requests
// reproducible in tests).
class Params {
 public:
  Params() = default;
  Params(std::initializer_list<std::pair<std::string, std::string>> items) : items_(items) {}

  Params& set(std::string key, std::string value);
  Params& set(std::string key, const char* value) { return set(std::move(key), std::string(value)); }
  Params& set(std::string key, std::string_view value) { return set(std::move(key), std::string(value)); }
  Params& set(std::string key, bool value) { return set(std::move(key), std::string(value ? "1" : "0")); }
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  Params& set(std::string key, T value) {
    return set(std::move(key), std::to_string(value));
  }
  Params& set(std::string key, double value);

  // Sets the value only when present.
  template <typename T>
  Params& set_if(std::string key, const std::optional<T>& value) {
    if (value) set(std::move(key), *value);
    return *this;
  }
  // Sets a string only when non-empty.
  Params& set_nonempty(std::string key, const std::string& value) {
    if (!value.empty()) set(std::move(key), value);
    return *this;
  }

  bool empty() const { return items_.empty(); }
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }
  // The value of `key`, nullopt when not set.
  std::optional<std::string> get(std::string_view key) const;

  // application/x-www-form-urlencoded ("a=1&b=x%20y"), also used as the query string.
  std::string encode() const;

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

// Percent-encodes everything except RFC 3986 unreserved characters.
std::string url_encode(std::string_view text);
// Percent-encodes one path segment; keeps ':' and '@' (UPIDs, user ids) readable.
std::string encode_path_segment(std::string_view text);
// Decodes %XX and '+' (as space); malformed escapes are kept literally.
std::string url_decode(std::string_view text);
// Parses "a=1&b=x%20y" into pairs (for tests and the login response).
std::vector<std::pair<std::string, std::string>> decode_form(std::string_view text);

}  // namespace pvekit::pve
