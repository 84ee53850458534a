#include "pve/upid.h"

#include <cstdio>

#include "core/strings.h"

namespace pvekit::pve {
namespace {

core::Result<uint32_t> parse_hex_field(const std::string& text, const char* name,
                                       const std::string& upid) {
  if (text.empty() || text.size() > 8) {
    return core::Error(core::ErrorCategory::Parse,
                       std::string("invalid UPID '") + upid + "': " + name + " is not 1-8 hex digits");
  }
  uint32_t value = 0;
  for (char c : text) {
    int digit = core::hex_digit(c);
    if (digit < 0)
      return core::Error(core::ErrorCategory::Parse,
                         std::string("invalid UPID '") + upid + "': " + name + " is not hex");
    value = value * 16 + static_cast<uint32_t>(digit);
  }
  return value;
}

}  // namespace

std::string Upid::to_string() const {
  char hex[3][9];
  std::snprintf(hex[0], sizeof hex[0], "%08X", pid);
  std::snprintf(hex[1], sizeof hex[1], "%08X", pstart);
  std::snprintf(hex[2], sizeof hex[2], "%08X", starttime);
  return "UPID:" + node + ":" + hex[0] + ":" + hex[1] + ":" + hex[2] + ":" + type + ":" + id +
         ":" + user + ":";
}

core::Result<Upid> parse_upid(const std::string& text) {
  auto fields = core::split(text, ':');
  // 9 fields: "UPID", 7 values, and the empty piece after the trailing ':'.
  if (fields.size() != 9 || fields[0] != "UPID" || !fields[8].empty()) {
    return core::Error(core::ErrorCategory::Parse,
                       "invalid UPID '" + text +
                           "': expected UPID:node:pid:pstart:starttime:type:id:user:");
  }
  Upid upid;
  upid.node = fields[1];
  if (upid.node.empty())
    return core::Error(core::ErrorCategory::Parse, "invalid UPID '" + text + "': empty node");
  PVEKIT_ASSIGN(upid.pid, parse_hex_field(fields[2], "pid", text));
  PVEKIT_ASSIGN(upid.pstart, parse_hex_field(fields[3], "pstart", text));
  PVEKIT_ASSIGN(upid.starttime, parse_hex_field(fields[4], "starttime", text));
  upid.type = fields[5];
  upid.id = fields[6];
  upid.user = fields[7];
  if (upid.type.empty())
    return core::Error(core::ErrorCategory::Parse, "invalid UPID '" + text + "': empty type");
  return upid;
}

}  // namespace pvekit::pve
