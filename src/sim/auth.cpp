#include "sim/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdio>
#include <mutex>

#include "core/strings.h"

namespace pvekit::sim {
namespace {

using core::Error;
using core::ErrorCategory;

Error auth_failure(const std::string& message = "authentication failure") {
  return Error(ErrorCategory::Auth, message).with_http_status(401);
}

std::string hex_time(double now) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08X", static_cast<unsigned>(now));
  return buf;
}

bool equal_secret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Ticket age check as PVE does it: not too far in the future, not expired.
bool fresh(const std::string& hex, double now) {
  if (hex.size() != 8) return false;
  unsigned long t = 0;
  try {
    size_t used = 0;
    t = std::stoul(hex, &used, 16);
    if (used != hex.size()) return false;
  } catch (const std::exception&) {
    return false;
  }
  const double age = now - static_cast<double>(t);
  return age > -Auth::kClockSkew && age < Auth::kTicketLifetime;
}

}  // namespace

Auth::Auth(std::vector<User> users, std::string key) : users_(std::move(users)), key_(std::move(key)) {
  if (key_.empty()) {
    key_.resize(32);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(key_.data()), static_cast<int>(key_.size())) != 1) {
      // No entropy source: fall back to a per-process value; tickets still
      // work, they are just guessable, which a simulator can accept.
      key_ = "pvesim-fallback-key-" + std::to_string(reinterpret_cast<uintptr_t>(this));
    }
  }
}

std::string Auth::sign(const std::string& data) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac, &len);
  std::string out(4 * ((len + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), mac, static_cast<int>(len));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();  // PVE's hmac_sha256_base64 has no padding
  return out;
}

void Auth::set_users(std::vector<User> users) {
  std::unique_lock lock(users_mutex_);
  users_ = std::move(users);
}

bool Auth::user_exists(const std::string& userid) const {
  std::shared_lock lock(users_mutex_);
  for (const User& u : users_) {
    if (u.userid == userid) return true;
  }
  return false;
}

std::string Auth::make_ticket(const std::string& userid, double now) const {
  const std::string plain = "PVE:" + userid + ":" + hex_time(now);
  return plain + "::" + sign(plain);
}

std::string Auth::make_csrf(const std::string& userid, double now) const {
  const std::string hex = hex_time(now);
  return hex + ":" + sign(hex + ":" + userid);
}

core::Result<std::string> Auth::verify_ticket(const std::string& ticket, double now) const {
  const auto sep = ticket.find("::");
  if (!core::starts_with(ticket, "PVE:") || sep == std::string::npos) return auth_failure("invalid ticket");
  const std::string plain = ticket.substr(0, sep);
  const auto parts = core::split(plain, ':');
  if (parts.size() != 3) return auth_failure("invalid ticket");
  if (!equal_secret(sign(plain), ticket.substr(sep + 2))) return auth_failure("invalid ticket");
  if (!fresh(parts[2], now)) return auth_failure("ticket expired");
  if (!user_exists(parts[1])) return auth_failure("no such user ('" + parts[1] + "')");
  return parts[1];
}

bool Auth::verify_csrf(const std::string& token, const std::string& userid, double now) const {
  const auto colon = token.find(':');
  if (colon == std::string::npos) return false;
  const std::string hex = token.substr(0, colon);
  return fresh(hex, now) && equal_secret(sign(hex + ":" + userid), token.substr(colon + 1));
}

core::Result<Login> Auth::login(const std::string& username, const std::string& password, const std::string& realm,
                                double now) const {
  std::string userid = username;
  if (userid.find('@') == std::string::npos) {
    if (realm.empty()) return auth_failure();
    userid += "@" + realm;
  }
  bool ok = false;
  if (core::starts_with(password, "PVE:")) {
    auto user = verify_ticket(password, now);
    ok = user.ok() && *user == userid;
  } else {
    std::shared_lock lock(users_mutex_);
    for (const User& u : users_) {
      if (u.userid == userid && u.enable && !u.password.empty() && equal_secret(u.password, password)) ok = true;
    }
  }
  if (!ok) return auth_failure();
  return Login{userid, make_ticket(userid, now), make_csrf(userid, now)};
}

core::Result<Identity> Auth::verify_api_token(const std::string& header) const {
  constexpr std::string_view kPrefix = "PVEAPIToken=";
  if (!core::starts_with(header, kPrefix)) return auth_failure("invalid authorization header");
  const std::string rest = header.substr(kPrefix.size());
  const auto bang = rest.find('!');
  const auto eq = rest.find('=', bang == std::string::npos ? 0 : bang);
  if (bang == std::string::npos || eq == std::string::npos) return auth_failure("invalid API token format");
  const std::string userid = rest.substr(0, bang);
  const std::string tokenid = rest.substr(bang + 1, eq - bang - 1);
  const std::string secret = rest.substr(eq + 1);
  std::shared_lock lock(users_mutex_);
  for (const User& u : users_) {
    if (u.userid != userid || !u.enable) continue;
    for (const ApiToken& t : u.tokens) {
      if (t.id == tokenid && equal_secret(t.secret, secret)) return Identity{userid, tokenid, false};
    }
  }
  return auth_failure("invalid token value!");
}

}  // namespace pvekit::sim
