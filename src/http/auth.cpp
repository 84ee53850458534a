#include "http/auth.h"

#include <openssl/crypto.h>

namespace pvekit::http {

bool bearer_token_matches(const std::map<std::string, std::string>& headers, const std::string& token) {
  auto it = headers.find("authorization");
  const std::string expected = "Bearer " + token;
  return !token.empty() && it != headers.end() && it->second.size() == expected.size() &&
         CRYPTO_memcmp(it->second.data(), expected.data(), expected.size()) == 0;
}

}  // namespace pvekit::http
