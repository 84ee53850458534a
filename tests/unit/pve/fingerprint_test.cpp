#include "pve/fingerprint.h"

#include <gtest/gtest.h>

#include "pve/params.h"

namespace pvekit::pve {
namespace {

const std::string kCanonical =
    "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";

TEST(Fingerprint, FormatsDigestsAsUpperCaseColonPairs) {
  std::vector<uint8_t> digest = {0x00, 0x0f, 0xa0, 0xff};
  EXPECT_EQ(format_fingerprint(digest), "00:0F:A0:FF");
}

TEST(Fingerprint, NormalizesAcceptedSpellings) {
  const char* same[] = {
      "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
      "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89",
      "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
      "  AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89\n",
  };
  for (const char* s : same) {
    auto n = normalize_fingerprint(s);
    ASSERT_TRUE(n.has_value()) << s;
    EXPECT_EQ(*n, kCanonical) << s;
    EXPECT_TRUE(fingerprints_equal(s, kCanonical)) << s;
  }
}

TEST(Fingerprint, RejectsWrongLengthsAndCharacters) {
  const char* bad[] = {
      "", "AB:CD", "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67",
      "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:00",
      "GG:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
      "ABC:D:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
      "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:",
  };
  for (const char* s : bad) EXPECT_FALSE(normalize_fingerprint(s).has_value()) << s;
  EXPECT_FALSE(fingerprints_equal("", ""));
}

TEST(Fingerprint, DerDigestMatchesSha256) {
  // SHA-256("abc"), the FIPS 180-2 test vector.
  std::string abc = "abc";
  auto fp = der_certificate_fingerprint(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(abc.data()), abc.size()));
  EXPECT_EQ(fp,
            "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD");
  EXPECT_TRUE(fingerprint_matches(fp, {kCanonical, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}));
  EXPECT_FALSE(fingerprint_matches(fp, {kCanonical}));
  EXPECT_FALSE(fingerprint_matches(fp, {}));
}

TEST(Params, EncodesFormValuesAndBooleansAsDigits) {
  Params p;
  p.set("a", "x y&z=1").set("flag", true).set("off", false).set("n", 42).set("f", 0.5);
  p.set("a", "again");  // replaces, keeps position
  EXPECT_EQ(p.encode(), "a=again&flag=1&off=0&n=42&f=0.5");
  p.set("net0", "name=eth0,bridge=vmbr0");
  EXPECT_EQ(decode_form(p.encode()).back().second, "name=eth0,bridge=vmbr0");
  EXPECT_EQ(url_encode("a b+c/é"), "a%20b%2Bc%2F%C3%A9");
  EXPECT_EQ(url_decode("a%20b+c%2"), "a b c%2");
  EXPECT_EQ(encode_path_segment("UPID:pve1:1:2:3:vzstart:101:root@pam:"), "UPID:pve1:1:2:3:vzstart:101:root@pam:");
}

}  // namespace
}  // namespace pvekit::pve
