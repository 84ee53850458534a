#pragma once

#include <string>
#include <vector>

namespace pvekit::pve {

// Splits a PVE guest `tags` value. PVE stores tags ';'-separated and
// lower-case, but accepts ',' and spaces on input; all three separate here.
// Tags are trimmed and lower-cased; empty ones and duplicates are dropped;
// order of first appearance is kept.
std::vector<std::string> parse_tags(const std::string& text);

// The stored form: ';'-joined.
std::string join_tags(const std::vector<std::string>& tags);

}  // namespace pvekit::pve
