#include "core/error.h"

#include <cerrno>

#include <gtest/gtest.h>

#include "core/result.h"

namespace pvekit::core {
namespace {

TEST(Error, WrapPutsContextOutermostFirst) {
  Error e(ErrorCategory::Api, "guest is locked");
  e.wrap("migrate 101");
  e.wrap("balance");
  EXPECT_EQ(e.to_string(), "balance: migrate 101: guest is locked");
  EXPECT_EQ(e.category(), ErrorCategory::Api);
}

TEST(Error, SystemErrorAppendsStrerror) {
  Error e = Error::system("open /run/lxcri/x/state.json", ENOENT);
  EXPECT_EQ(e.sys_errno(), ENOENT);
  EXPECT_EQ(e.to_string(), "open /run/lxcri/x/state.json: No such file or directory");
}

TEST(Error, DetailsAndHttpStatusAreRendered) {
  Error e = Error(ErrorCategory::Api, "Parameter verification failed.")
                .with_http_status(400)
                .with_detail("vmid", "invalid format")
                .with_detail("node", "missing");
  EXPECT_EQ(e.http_status(), 400);
  EXPECT_EQ(e.to_string(), "Parameter verification failed. (node: missing, vmid: invalid format)");
}

Result<int> half(int x) {
  if (x % 2) return Error(ErrorCategory::Usage, std::to_string(x) + " is odd");
  return x / 2;
}

Result<int> quarter(int x) {
  PVEKIT_ASSIGN(int h, half(x));
  PVEKIT_ASSIGN(int q, half(h));
  return q;
}

Status check_even(int x) {
  PVEKIT_TRY(half(x));
  return ok();
}

TEST(Result, AssignPropagatesFirstError) {
  EXPECT_EQ(*quarter(8), 2);
  auto r = quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "3 is odd");
  EXPECT_TRUE(check_even(4).ok());
  EXPECT_FALSE(check_even(5).ok());
}

TEST(Result, WrapAddsContextOnlyToErrors) {
  Result<int> good = 3;
  EXPECT_EQ(*std::move(good).wrap("ctx"), 3);
  auto bad = half(3).wrap("halving");
  EXPECT_EQ(bad.error().to_string(), "halving: 3 is odd");
  EXPECT_EQ(bad.value_or(-1), -1);
}

}  // namespace
}  // namespace pvekit::core
