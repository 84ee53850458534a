#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"

namespace pvekit::pve {

// A Proxmox VE task id:
//   UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:
// pid, pstart and starttime are 8-digit upper-case hex (PVE's %08X);
// starttime is Unix seconds; id may be empty (e.g. for node-wide tasks).
struct Upid {
  std::string node;
  uint32_t pid = 0;
  uint32_t pstart = 0;
  uint32_t starttime = 0;
  std::string type;  // qmigrate, vzmigrate, vzcreate, vzstart, ...
  std::string id;    // usually the vmid
  std::string user;  // user@realm, or user@realm!tokenid

  std::string to_string() const;
  bool operator==(const Upid&) const = default;
};

// Parses a UPID; Parse error naming the part that is malformed.
core::Result<Upid> parse_upid(const std::string& text);

}  // namespace pvekit::pve
