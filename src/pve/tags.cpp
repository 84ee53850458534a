#include "pve/tags.h"

#include <algorithm>

#include "core/strings.h"

namespace pvekit::pve {

std::vector<std::string> parse_tags(const std::string& text) {
  std::vector<std::string> tags;
  std::string current;
  auto flush = [&] {
    std::string tag = core::to_lower(core::trim(current));
    current.clear();
    if (!tag.empty() && std::find(tags.begin(), tags.end(), tag) == tags.end())
      tags.push_back(std::move(tag));
  };
  for (char c : text) {
    if (c == ';' || c == ',' || c == ' ' || c == '\t') flush();
    else current += c;
  }
  flush();
  return tags;
}

std::string join_tags(const std::vector<std::string>& tags) { return core::join(tags, ";"); }

}  // namespace pvekit::pve
