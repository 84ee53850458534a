#include "core/strings.h"

#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/json.h"

namespace pvekit::core {
namespace {

TEST(Strings, SplitKeepsOrSkipsEmptyPieces) {
  EXPECT_EQ(split("a;;b", ';'), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(split("a;;b;", ';', true), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(split("", ';', true), std::vector<std::string>{});
}

TEST(Strings, ParseSizeUnderstandsBinarySuffixes) {
  struct Case {
    const char* text;
    std::optional<uint64_t> bytes;
  };
  const Case cases[] = {{"512", 512},          {"4K", 4096},        {"2M", 2u << 20},
                        {"8G", 8ull << 30},     {"1.5GiB", 3ull << 29}, {"32 GB", 32ull << 30},
                        {"x", std::nullopt},    {"-1G", std::nullopt},  {"5Q", std::nullopt}};
  for (const auto& c : cases) EXPECT_EQ(parse_size(c.text), c.bytes) << c.text;
}

TEST(Strings, ParseNumbersRejectTrailingGarbage) {
  EXPECT_EQ(parse_int("42"), 42);
  EXPECT_EQ(parse_int("42x"), std::nullopt);
  EXPECT_EQ(parse_int(""), std::nullopt);
  EXPECT_EQ(parse_double("0.25"), 0.25);
  EXPECT_EQ(parse_bool("Yes"), true);
  EXPECT_EQ(parse_bool("maybe"), std::nullopt);
}

TEST(Strings, HexDigitAcceptsBothCasesOnly) {
  EXPECT_EQ(hex_digit('0'), 0);
  EXPECT_EQ(hex_digit('9'), 9);
  EXPECT_EQ(hex_digit('a'), 10);
  EXPECT_EQ(hex_digit('F'), 15);
  EXPECT_EQ(hex_digit('g'), -1);
  EXPECT_EQ(hex_digit(':'), -1);
}

TEST(Strings, FormatBytes) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1536.0 * 1024 * 1024), "1.5 GiB");
}

TEST(Clock, ManualClockMovesOnlyWhenAdvanced) {
  ManualClock clock(1000.0);
  EXPECT_EQ(clock.now_unix(), 1000.0);
  clock.sleep_for(std::chrono::seconds(90));
  EXPECT_EQ(clock.now_unix(), 1090.0);
  EXPECT_EQ(clock.monotonic(), std::chrono::seconds(90));
}

TEST(Clock, ScaledClockRunsFasterThanRealTime) {
  ScaledClock clock(1000.0);
  double start = clock.now_unix();
  clock.sleep_for(std::chrono::seconds(2));  // 2 simulated seconds = 2 ms real
  EXPECT_GE(clock.now_unix() - start, 2.0);
}

}  // namespace
}  // namespace pvekit::core

namespace pvekit::core {
namespace {

// Every JSON input of the programs goes through parse_json: a number no
// double holds throws out_of_range inside nlohmann, never parse_error.
TEST(ParseJson, HostileNumbersAndSyntaxAreErrorsNotExceptions) {
  for (const char* text : {"{\"a\": 1e999}", "[-1e99999]", "{\"a\": 1", "\"\\ud800\"", "nul"}) {
    auto parsed = parse_json(text, "input.json");
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error().category(), ErrorCategory::Parse) << text;
    EXPECT_NE(parsed.error().to_string().find("input.json"), std::string::npos) << parsed.error().to_string();
  }
  EXPECT_TRUE(parse_json("{\"a\": 1e300}", "input.json").ok());
}

// RFC 4648 section 10's test vectors.
TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_decode(encoded), std::optional<std::string>(plain));
  }
}

TEST(Base64, RoundTripsEveryByteAndRefusesGarbage) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  for (size_t len = 0; len < 8; ++len) EXPECT_EQ(base64_decode(base64_encode(all.substr(len))), all.substr(len));
  for (const char* bad : {"Zg=", "Z===", "Zm9v!A==", "=Zm9", "Zg==Zg==", "Zm=v"}) {
    EXPECT_EQ(base64_decode(bad), std::nullopt) << bad;
  }
}


TEST(LoopbackHost, LoopbackNamesAndAddressesOnly) {
  for (const char* host : {"localhost", "LocalHost", "::1", "127.0.0.1", "127.1.2.3"}) EXPECT_TRUE(is_loopback_host(host)) << host;
  for (const char* host : {"", "0.0.0.0", "10.0.0.1", "::", "127.evil.example", "localhost.evil.example", "[::1]"}) {
    EXPECT_FALSE(is_loopback_host(host)) << host;
  }
}

}  // namespace
}  // namespace pvekit::core
