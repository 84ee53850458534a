// Bearer tokens (RFC 6750) on the server side: pvesim's admin interface and
// proxlb's status API over TCP.
#pragma once

#include <map>
#include <string>

namespace pvekit::http {

// True when `headers` (lower-case names) carry "Authorization: Bearer
// <token>". Constant time in the token's content: the comparison must not
// tell how much of a guess was right. An empty token never matches.
bool bearer_token_matches(const std::map<std::string, std::string>& headers, const std::string& token);

}  // namespace pvekit::http
