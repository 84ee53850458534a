// Bearer tokens (RFC 6750) on the server side: pvesim's admin interface and
// proxlb's status API over TCP.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace pvekit::http {

// True when `headers` (lower-case names) carry "Authorization: Bearer
// <token>". Constant time in the token's content: the comparison must not
// tell how much of a guess was right. An empty token never matches.
bool bearer_token_matches(const std::map<std::string, std::string>& headers, const std::string& token);

// True when `given` equals `secret`, in time that does not depend on where
// they differ. An empty secret never matches.
bool secret_matches(std::string_view given, std::string_view secret);

// `bytes` random bytes from OpenSSL's CSPRNG as lower-case hex: session ids
// and CSRF tokens.
std::string random_hex(std::size_t bytes);

}  // namespace pvekit::http
