#include "sim/auth.h"

#include <gtest/gtest.h>

#include "sim/scenario.h"

namespace pvekit::sim {
namespace {

constexpr double kT0 = 1'700'000'000;

Auth make_auth() {
  return Auth({{"root@pam", "pvesim", {{"pvekit", "s3cret", ""}}}, {"alice@pve", "pw", {}}}, "fixed-test-key");
}

TEST(AuthTest, LoginReturnsPveTicketAndCsrf) {
  auto login = make_auth().login("root@pam", "pvesim", "", kT0);
  ASSERT_TRUE(login.ok()) << login.error().to_string();
  EXPECT_EQ(login->username, "root@pam");
  EXPECT_EQ(login->ticket.rfind("PVE:root@pam:6553F100::", 0), 0u) << login->ticket;
  EXPECT_EQ(login->csrf_token.rfind("6553F100:", 0), 0u) << login->csrf_token;
}

TEST(AuthTest, RealmIsAppendedToBareUsername) {
  auto login = make_auth().login("alice", "pw", "pve", kT0);
  ASSERT_TRUE(login.ok());
  EXPECT_EQ(login->username, "alice@pve");
}

TEST(AuthTest, WrongCredentialsAreAuthenticationFailure401) {
  const std::pair<const char*, const char*> cases[] = {{"root@pam", "wrong"}, {"nobody@pam", "pvesim"}, {"root", "pvesim"}};
  for (auto [user, pw] : cases) {
    auto login = make_auth().login(user, pw, "", kT0);
    ASSERT_FALSE(login.ok()) << user;
    EXPECT_EQ(login.error().message(), "authentication failure");
    EXPECT_EQ(login.error().http_status(), 401);
  }
}

TEST(AuthTest, TicketExpiresAfterTwoHours) {
  Auth auth = make_auth();
  const std::string ticket = auth.make_ticket("root@pam", kT0);
  EXPECT_TRUE(auth.verify_ticket(ticket, kT0 + 7199).ok());
  auto expired = auth.verify_ticket(ticket, kT0 + 7200);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().http_status(), 401);
  EXPECT_FALSE(auth.verify_ticket(ticket, kT0 - 400).ok()) << "from too far in the future";
}

TEST(AuthTest, TamperedTicketIsRejected) {
  Auth auth = make_auth();
  std::string ticket = auth.make_ticket("root@pam", kT0);
  std::string forged = ticket;
  forged.replace(4, 8, "alice@pv");  // same length, other user
  EXPECT_FALSE(auth.verify_ticket(forged, kT0).ok());
  EXPECT_FALSE(Auth({{"root@pam", "pvesim", {}}}, "other-key").verify_ticket(ticket, kT0).ok());
}

TEST(AuthTest, TicketRenewalWithOldTicketAsPassword) {
  Auth auth = make_auth();
  const std::string old = auth.make_ticket("root@pam", kT0);
  auto renewed = auth.login("root@pam", old, "", kT0 + 3600);
  ASSERT_TRUE(renewed.ok());
  EXPECT_TRUE(auth.verify_ticket(renewed->ticket, kT0 + 3600 + 7000).ok());
  EXPECT_FALSE(auth.login("alice@pve", old, "", kT0).ok()) << "a ticket renews only its own user";
  EXPECT_FALSE(auth.login("root@pam", old, "", kT0 + 8000).ok()) << "an expired ticket cannot renew";
}

TEST(AuthTest, CsrfTokenIsBoundToUserAndTime) {
  Auth auth = make_auth();
  const std::string token = auth.make_csrf("root@pam", kT0);
  EXPECT_TRUE(auth.verify_csrf(token, "root@pam", kT0 + 10));
  EXPECT_FALSE(auth.verify_csrf(token, "alice@pve", kT0 + 10));
  EXPECT_FALSE(auth.verify_csrf(token, "root@pam", kT0 + 7200));
  EXPECT_FALSE(auth.verify_csrf("garbage", "root@pam", kT0));
}

TEST(AuthTest, ApiTokenHeader) {
  Auth auth = make_auth();
  auto id = auth.verify_api_token("PVEAPIToken=root@pam!pvekit=s3cret");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->userid, "root@pam");
  EXPECT_EQ(id->upid_user(), "root@pam!pvekit");
  for (const char* bad : {"PVEAPIToken=root@pam!pvekit=wrong", "PVEAPIToken=root@pam!other=s3cret",
                          "PVEAPIToken=root@pam=s3cret", "Bearer xyz"}) {
    auto r = auth.verify_api_token(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().http_status(), 401) << bad;
  }
}

TEST(AuthTest, DefaultClusterHasDocumentedCredentials) {
  Cluster c = default_cluster(kT0);
  Auth auth(c.access.users);
  EXPECT_TRUE(auth.login("root@pam", kDefaultPassword, "", kT0).ok());
  EXPECT_TRUE(auth.verify_api_token(std::string("PVEAPIToken=root@pam!pvekit=") + kDefaultTokenSecret).ok());
}

}  // namespace
}  // namespace pvekit::sim
