#pragma once

#include <ctime>
#include <string>

namespace pvekit::core {

// `unix_seconds` as strftime formats it in UTC, e.g. "%Y-%m-%dT%H:%M:%SZ".
// The result must stay under 128 characters.
std::string format_utc(std::time_t unix_seconds, const char* strftime_format);

}  // namespace pvekit::core
