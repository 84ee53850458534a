// When the daemon's rounds run (service.schedule): a fixed interval as ProxLB
// has it, or a cron expression for admins who want rounds at set times (for
// example only at night). Pure: the caller converts between the clock and
// local civil time, so tests need no time zone.
#pragma once

#include <bitset>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/result.h"

namespace pvekit::daemon {

// A minute of local civil time, counted from 1970-01-01 00:00 as if that
// calendar had no time zone and no DST (what localtime_r shows, as a number).
using CivilMinute = std::chrono::sys_time<std::chrono::minutes>;

// A classic five-field cron expression, "minute hour day-of-month month
// day-of-week", as cronie reads it: lists, ranges, steps, month and weekday
// names, 0 or 7 for Sunday, and the rule that a day matches when either
// day field matches if both are restricted. The @hourly, @daily, @midnight,
// @weekly, @monthly, @yearly and @annually shorthands are accepted.
class CronExpression {
 public:
  static core::Result<CronExpression> parse(std::string_view text);

  bool matches(CivilMinute minute) const;
  // The first matching minute strictly after `after`; none when the
  // expression can never match (for example "0 0 30 2 *").
  std::optional<CivilMinute> next_after(CivilMinute after) const;
  const std::string& text() const { return text_; }

 private:
  bool day_matches(std::chrono::sys_days day) const;

  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // bit 0 unused
  std::bitset<13> months_;         // bit 0 unused
  std::bitset<7> days_of_week_;    // 0 = Sunday
  bool day_of_month_any_ = false;  // the field starts with '*'
  bool day_of_week_any_ = false;
};

// Rounds every `interval`, measured on the monotonic clock from the start
// of the previous round; a round that overran is followed at once.
struct Interval {
  std::chrono::seconds length;
};

using Schedule = std::variant<Interval, CronExpression>;

// "every 12 hours" / "cron 0 3 * * *", for logs and status.
std::string describe(const Schedule& schedule);

}  // namespace pvekit::daemon
