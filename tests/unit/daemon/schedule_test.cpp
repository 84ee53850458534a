#include "daemon/schedule.h"

#include <gtest/gtest.h>

namespace pvekit::daemon {
namespace {

using namespace std::chrono;

CivilMinute at(int y, unsigned mo, unsigned d, int h, int mi) {
  return CivilMinute(sys_days(year_month_day(year(y), month(mo), day(d)))) + hours(h) + minutes(mi);
}

CronExpression cron(std::string_view text) {
  auto parsed = CronExpression::parse(text);
  EXPECT_TRUE(parsed.ok()) << text << ": " << (parsed.ok() ? "" : parsed.error().to_string());
  return parsed.ok() ? *parsed : *CronExpression::parse("* * * * *");
}

TEST(Cron, EveryFifteenMinutes) {
  auto c = cron("*/15 * * * *");
  EXPECT_EQ(c.next_after(at(2026, 12, 7, 3, 0)), at(2026, 12, 7, 3, 15));
  EXPECT_EQ(c.next_after(at(2026, 12, 7, 3, 14)), at(2026, 12, 7, 3, 15));
  EXPECT_EQ(c.next_after(at(2026, 12, 7, 23, 50)), at(2026, 12, 8, 0, 0));
}

TEST(Cron, NightlyOnWeekdaysOnly) {
  auto c = cron("30 2 * * mon-fri");
  // 2026-12-05 is a Saturday: the next run is Monday the 7th.
  EXPECT_EQ(c.next_after(at(2026, 12, 5, 1, 0)), at(2026, 12, 7, 2, 30));
  EXPECT_EQ(c.next_after(at(2026, 12, 7, 2, 30)), at(2026, 12, 8, 2, 30));
}

TEST(Cron, BothDayFieldsRestrictedMatchEither) {
  // cronie: the 1st of the month or any Sunday.
  auto c = cron("0 0 1 * 0");
  EXPECT_EQ(c.next_after(at(2026, 12, 7, 0, 0)), at(2026, 12, 13, 0, 0));   // Sunday
  EXPECT_EQ(c.next_after(at(2026, 12, 27, 0, 0)), at(2027, 1, 1, 0, 0));    // the 1st, a Friday
  // With one day field '*', both must match: only Sundays.
  auto sundays = cron("0 0 * * 7");
  EXPECT_EQ(sundays.next_after(at(2026, 12, 7, 0, 0)), at(2026, 12, 13, 0, 0));
}

TEST(Cron, LeapDayAndNames) {
  auto c = cron("0 12 29 feb *");
  EXPECT_EQ(c.next_after(at(2026, 12, 7, 0, 0)), at(2028, 2, 29, 12, 0));
  EXPECT_EQ(cron("@monthly").next_after(at(2026, 12, 7, 0, 0)), at(2027, 1, 1, 0, 0));
  EXPECT_EQ(cron("5/20 1-3 * * *").next_after(at(2026, 12, 7, 1, 30)), at(2026, 12, 7, 1, 45));
  EXPECT_EQ(cron("0 0,12 * JAN,Dec SUN").next_after(at(2026, 12, 13, 0, 0)), at(2026, 12, 13, 12, 0));
}

TEST(Cron, NeverMatchingExpressionHasNoNextRun) {
  EXPECT_FALSE(cron("0 0 30 2 *").next_after(at(2026, 1, 1, 0, 0)).has_value());
}

TEST(Cron, RefusesBadExpressionsNamingTheField) {
  struct Case {
    const char* text;
    const char* says;
  };
  for (const Case& c : {Case{"* * * *", "has 4 fields"}, Case{"60 * * * *", "minute field \"60\": 60 is out of range 0-59"},
                        Case{"* 24 * * *", "hour field"}, Case{"* * 0 * *", "day of month field"},
                        Case{"* * * 13 *", "month field"}, Case{"* * * * 8", "day of week field"},
                        Case{"*/0 * * * *", "step \"0\""}, Case{"5-1 * * * *", "range runs backwards"},
                        Case{"* * * foo *", "\"foo\" is not a number"}, Case{"@reboot", "unknown shorthand"},
                        Case{"1,,2 * * * *", "empty list item"}}) {
    auto parsed = CronExpression::parse(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_NE(parsed.error().to_string().find(c.says), std::string::npos)
        << c.text << " -> " << parsed.error().to_string();
  }
}

// Property: next_after agrees with a minute-by-minute scan over two years
// for a varied set of expressions.
TEST(Cron, NextAfterAgreesWithBruteForce) {
  for (const char* text : {"*/7 */5 * * *", "0 3 1-7 * mon", "15 4 * 2-4 fri", "59 23 31 * *", "0 0 * * *",
                           "10,20 8-17/3 * * 1-5", "0 0 13 * 5"}) {
    auto c = cron(text);
    CivilMinute t = at(2026, 1, 1, 0, 0);
    for (int runs = 0; runs < 40; ++runs) {
      auto next = c.next_after(t);
      ASSERT_TRUE(next.has_value()) << text;
      CivilMinute scan = t + minutes(1);
      while (!c.matches(scan)) scan += minutes(1);
      ASSERT_EQ(*next, scan) << text << " after run " << runs;
      t = *next;
    }
  }
}

TEST(Schedule, Describes) {
  EXPECT_EQ(describe(Interval{hours(12)}), "every 12 hours");
  EXPECT_EQ(describe(Interval{minutes(1)}), "every 1 minute");
  EXPECT_EQ(describe(Interval{seconds(90)}), "every 90 s");
  EXPECT_EQ(describe(cron("0 3 * * *")), "cron \"0 3 * * *\"");
}

}  // namespace
}  // namespace pvekit::daemon
