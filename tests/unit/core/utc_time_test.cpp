#include "core/utc_time.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace pvekit::core {
namespace {

TEST(FormatUtc, IsUtcWhateverTheLocalZone) {
  const char* saved = std::getenv("TZ");
  ::setenv("TZ", "America/New_York", 1);
  ::tzset();
  EXPECT_EQ(format_utc(0, "%Y-%m-%dT%H:%M:%SZ"), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_utc(1796608181, "%a %b %e %H:%M:%S %Y"), "Mon Dec  7 01:49:41 2026");
  if (saved) {
    ::setenv("TZ", saved, 1);
  } else {
    ::unsetenv("TZ");
  }
  ::tzset();
}

TEST(FormatUtc, AnEmptyExpansionIsAnEmptyString) { EXPECT_EQ(format_utc(0, ""), ""); }

}  // namespace
}  // namespace pvekit::core
