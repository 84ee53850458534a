#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/json.h"

// Defensive readers for PVE's JSON: numbers sometimes arrive as strings
// ("maxmem": "2147483648"), booleans as 0/1 or "1", and fields are often
// missing. Each reader takes an object and a key and never throws.
namespace pvekit::pve::fields {

// A number, a numeric string, or a boolean (as 0/1); nullopt otherwise.
std::optional<double> number(const core::Json& object, std::string_view key);
double number_or(const core::Json& object, std::string_view key, double fallback = 0);
// Like number_or, truncated to an integer.
int64_t int_or(const core::Json& object, std::string_view key, int64_t fallback = 0);
uint64_t uint_or(const core::Json& object, std::string_view key, uint64_t fallback = 0);
// A string; numbers and booleans are rendered as PVE would ("1", "2.5").
std::string string_or(const core::Json& object, std::string_view key, std::string fallback = "");
// true/false, 0/1, "0"/"1", "yes"/"no", ...
bool bool_or(const core::Json& object, std::string_view key, bool fallback = false);

// The scalar as a string (for config maps); objects/arrays are dumped.
std::string scalar_text(const core::Json& value);

}  // namespace pvekit::pve::fields
