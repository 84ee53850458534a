#include "http/form.h"

#include <gtest/gtest.h>

namespace pvekit::http {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(UrlDecodeTest, DecodesEscapesAndPlusOnlyWhereAsked) {
  EXPECT_EQ(url_decode("a%20b+c%2fd", true), "a b c/d");
  EXPECT_EQ(url_decode("a%20b+c", false), "a b+c");
  EXPECT_EQ(url_decode("%0D%0A", false), "\r\n");
  // Malformed escapes stay as they are.
  EXPECT_EQ(url_decode("100%", true), "100%");
  EXPECT_EQ(url_decode("%zz%4", true), "%zz%4");
}

TEST(ParseUrlencodedTest, SplitsDecodesAndKeepsOrder) {
  EXPECT_EQ(parse_urlencoded("b=2&a=x+y%21&flag&&c="), (Pairs{{"b", "2"}, {"a", "x y!"}, {"flag", ""}, {"c", ""}}));
  EXPECT_TRUE(parse_urlencoded("").empty());
}

TEST(ParseCookiesTest, SplitsOnSemicolonsAndDecodesValues) {
  const auto cookies = parse_cookies("PVEAuthCookie=PVE%3Aroot%40pam%3A1; other=x ;broken");
  EXPECT_EQ(cookies.at("PVEAuthCookie"), "PVE:root@pam:1");
  EXPECT_EQ(cookies.at("other"), "x");
  EXPECT_EQ(cookies.count("broken"), 0u);
}

TEST(HeaderParameterTest, FindsQuotedAndPlainValuesCaseInsensitively) {
  EXPECT_EQ(header_parameter("multipart/form-data; boundary=xyz", "boundary"), "xyz");
  EXPECT_EQ(header_parameter("form-data; name=\"content\"; FileName=\"a b.tar\"", "filename"), "a b.tar");
  EXPECT_EQ(header_parameter("text/plain", "charset"), "");
}

TEST(ParseMultipartTest, ReadsFieldsAndFilesWithBinaryContent) {
  const std::string file("line\r\n--not-the-boundary\0\xff", 27);
  const std::string body = "preamble\r\n--XyZ\r\n"
                           "Content-Disposition: form-data; name=\"content\"\r\n\r\n"
                           "vztmpl\r\n--XyZ\r\n"
                           "Content-Disposition: form-data; name=\"filename\"; filename=\"img.tar\"\r\n"
                           "Content-Type: application/x-tar\r\n\r\n" +
                           file + "\r\n--XyZ--\r\n";
  auto parts = parse_multipart(body, "multipart/form-data; boundary=\"XyZ\"");
  ASSERT_TRUE(parts.ok()) << parts.error().to_string();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "content");
  EXPECT_EQ((*parts)[0].filename, "");
  EXPECT_EQ((*parts)[0].content, "vztmpl");
  EXPECT_EQ((*parts)[1].name, "filename");
  EXPECT_EQ((*parts)[1].filename, "img.tar");
  EXPECT_EQ((*parts)[1].content_type, "application/x-tar");
  EXPECT_EQ((*parts)[1].content, file);
}

TEST(ParseMultipartTest, RefusesBodiesThatDoNotMatchTheirBoundary) {
  EXPECT_FALSE(parse_multipart("--a\r\n\r\nx", "multipart/form-data").ok());  // no boundary
  EXPECT_FALSE(parse_multipart("no delimiter", "multipart/form-data; boundary=a").ok());
  auto unterminated = parse_multipart("--a\r\nContent-Disposition: form-data; name=x\r\n\r\nvalue", "multipart/form-data; boundary=a");
  ASSERT_FALSE(unterminated.ok());
  EXPECT_NE(unterminated.error().to_string().find("part 1 has no closing boundary"), std::string::npos);
}

}  // namespace
}  // namespace pvekit::http
