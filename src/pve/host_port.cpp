// HostPort parsing apart from the client, so config loaders (lxcri's
// proxmox_api section) can validate hosts without linking the transport.
#include <algorithm>

#include "core/strings.h"
#include "pve/client.h"

namespace pvekit::pve {

using core::Error;
using core::ErrorCategory;

std::string HostPort::to_string() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

core::Result<HostPort> parse_host_port(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return Error(ErrorCategory::Config, "host '" + text + "': " + why);
  };
  std::string_view t = core::trim(text);
  if (t.empty()) return bad("empty");
  if (t.find("://") != std::string_view::npos) return bad("give host[:port] without a scheme");
  if (t.find_first_of("/ ?#") != std::string_view::npos) return bad("not a host[:port]");
  HostPort hp;
  std::string_view port;
  if (t.front() == '[') {
    auto close = t.find(']');
    if (close == std::string_view::npos) return bad("missing ']'");
    hp.host = std::string(t.substr(1, close - 1));
    std::string_view rest = t.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("expected ':' after ']'");
      port = rest.substr(1);
    }
  } else if (std::count(t.begin(), t.end(), ':') > 1) {
    hp.host = std::string(t);  // bare IPv6 address without port
  } else if (auto colon = t.find(':'); colon != std::string_view::npos) {
    hp.host = std::string(t.substr(0, colon));
    port = t.substr(colon + 1);
  } else {
    hp.host = std::string(t);
  }
  if (hp.host.empty()) return bad("empty host name");
  if (!port.empty() || t.back() == ':') {
    auto p = core::parse_int(port);
    if (!p || *p < 1 || *p > 65535) return bad("port must be 1..65535");
    hp.port = static_cast<int>(*p);
  }
  return hp;
}

}  // namespace pvekit::pve
