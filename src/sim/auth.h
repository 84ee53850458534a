#pragma once

#include <shared_mutex>
#include <string>
#include <vector>

#include "core/result.h"
#include "sim/model.h"

namespace pvekit::sim {

// Who a request runs as.
struct Identity {
  std::string userid;    // user@realm
  std::string tokenid;   // token name when authenticated by API token, else ""
  bool by_ticket = false;
  // "user@realm" or "user@realm!token": the form PVE puts in UPIDs.
  std::string upid_user() const { return tokenid.empty() ? userid : userid + "!" + tokenid; }
};

struct Login {
  std::string username;
  std::string ticket;
  std::string csrf_token;
};

// PVE-style authentication without I/O: tickets "PVE:<user>:<HEXTIME>::<sig>"
// signed with a per-process HMAC-SHA256 key, CSRF tokens "<HEXTIME>:<sig>"
// bound to the user, API tokens "PVEAPIToken=user@realm!id=secret".
// Tickets and CSRF tokens live kTicketLifetime seconds of simulated time.
// The user list is a copy of the world's, replaced by set_users when the
// /access endpoints change users or tokens; all methods are safe to call
// from many threads.
class Auth {
 public:
  static constexpr double kTicketLifetime = 7200;
  // A ticket from up to this far in the future is still accepted (clock skew).
  static constexpr double kClockSkew = 300;

  // `key` signs tickets; empty: 32 random bytes.
  Auth(std::vector<User> users, std::string key = "");

  // POST /access/ticket: `password` may also be a valid ticket of the same
  // user (renewal). `realm` is appended when `username` has no "@". Auth
  // error "authentication failure" (HTTP 401) on any mismatch.
  core::Result<Login> login(const std::string& username, const std::string& password, const std::string& realm,
                            double now) const;

  std::string make_ticket(const std::string& userid, double now) const;
  std::string make_csrf(const std::string& userid, double now) const;

  // The user of a valid, unexpired ticket; Auth error (401) otherwise.
  core::Result<std::string> verify_ticket(const std::string& ticket, double now) const;
  bool verify_csrf(const std::string& token, const std::string& userid, double now) const;
  // Value of the Authorization header ("PVEAPIToken=...").
  core::Result<Identity> verify_api_token(const std::string& header) const;

  bool user_exists(const std::string& userid) const;
  void set_users(std::vector<User> users);

 private:
  std::string sign(const std::string& data) const;
  mutable std::shared_mutex users_mutex_;
  std::vector<User> users_;
  std::string key_;
};

}  // namespace pvekit::sim
