#include "pve/upid.h"

#include <gtest/gtest.h>

#include "pve/tags.h"

namespace pvekit::pve {
namespace {

TEST(Upid, FormatsHexFieldsAsEightUpperCaseDigits) {
  Upid u{.node = "pve1", .pid = 0x1a2b, .pstart = 0xff, .starttime = 0x6745A3C1,
         .type = "qmigrate", .id = "101", .user = "root@pam"};
  EXPECT_EQ(u.to_string(), "UPID:pve1:00001A2B:000000FF:6745A3C1:qmigrate:101:root@pam:");
}

TEST(Upid, RoundTripsRealPveUpids) {
  const char* samples[] = {
      "UPID:pve1:0003F2A1:01B3C4D5:6745A3C1:qmigrate:101:root@pam:",
      "UPID:node-2:00000001:00000002:00000003:vzdump::admin@pve!auto:",
  };
  for (const char* s : samples) {
    auto u = parse_upid(s);
    ASSERT_TRUE(u.ok()) << s << ": " << u.error().to_string();
    EXPECT_EQ(u->to_string(), s);
  }
}

TEST(Upid, RejectsMalformedInputNamingThePart) {
  struct Case {
    const char* text;
    const char* fragment;
  };
  const Case cases[] = {
      {"UPID:pve1:XYZ:00000000:00000000:qmigrate:101:root@pam:", "pid is not hex"},
      {"UPID:pve1:1:2:3:qmigrate:101:root@pam", "expected UPID:"},
      {"TASK:pve1:1:2:3:qmigrate:101:root@pam:", "expected UPID:"},
      {"UPID::1:2:3:qmigrate:101:root@pam:", "empty node"},
      {"UPID:pve1:1:2:123456789:qmigrate:101:root@pam:", "starttime is not 1-8 hex digits"},
  };
  for (const auto& c : cases) {
    auto u = parse_upid(c.text);
    ASSERT_FALSE(u.ok()) << c.text;
    EXPECT_NE(u.error().message().find(c.fragment), std::string::npos)
        << c.text << " -> " << u.error().message();
  }
}

TEST(Tags, SplitsOnPveSeparatorsAndNormalises) {
  EXPECT_EQ(parse_tags("plb_pin_pve1;Web, db  plb_pin_pve1;"),
            (std::vector<std::string>{"plb_pin_pve1", "web", "db"}));
  EXPECT_EQ(parse_tags(""), std::vector<std::string>{});
  EXPECT_EQ(join_tags({"a", "b"}), "a;b");
}

}  // namespace
}  // namespace pvekit::pve
