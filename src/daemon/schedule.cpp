#include "daemon/schedule.h"

#include <array>
#include <cctype>

#include "core/strings.h"

namespace pvekit::daemon {
namespace {

using core::Error;
using core::ErrorCategory;

struct FieldSpec {
  const char* name;
  int min;
  int max;
  // Names accepted instead of numbers (index + min is the value).
  const std::array<const char*, 12>* names = nullptr;
};

constexpr std::array<const char*, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                     "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<const char*, 12> kWeekdayNames = {"sun", "mon", "tue", "wed", "thu", "fri", "sat",
                                                       nullptr, nullptr, nullptr, nullptr, nullptr};

// Day of week allows 7 (Sunday again), folded to 0 after parsing.
constexpr std::array<FieldSpec, 5> kFields = {{
    {"minute", 0, 59},
    {"hour", 0, 23},
    {"day of month", 1, 31},
    {"month", 1, 12, &kMonthNames},
    {"day of week", 0, 7, &kWeekdayNames},
}};

Error field_error(const FieldSpec& field, std::string_view text, const std::string& why) {
  return Error(ErrorCategory::Config,
               "cron " + std::string(field.name) + " field \"" + std::string(text) + "\": " + why);
}

core::Result<int> parse_value(const FieldSpec& field, std::string_view item, std::string_view text) {
  if (field.names != nullptr) {
    std::string lower = core::to_lower(text);
    for (size_t i = 0; i < field.names->size(); ++i) {
      if ((*field.names)[i] != nullptr && lower == (*field.names)[i]) return field.min + static_cast<int>(i);
    }
  }
  auto value = core::parse_int(text);
  if (!value) return field_error(field, item, "\"" + std::string(text) + "\" is not a number");
  if (*value < field.min || *value > field.max) {
    return field_error(field, item,
                       std::to_string(*value) + " is out of range " + std::to_string(field.min) + "-" +
                           std::to_string(field.max));
  }
  return static_cast<int>(*value);
}

// One field ("*/15", "1-5", "mon,wed,fri", "10-40/10") as the set of values
// it allows, indexed by value.
core::Result<std::bitset<64>> parse_field(const FieldSpec& field, std::string_view text) {
  std::bitset<64> allowed;
  if (text.empty()) return field_error(field, text, "empty");
  for (const std::string& item : core::split(text, ',')) {
    if (item.empty()) return field_error(field, text, "empty list item");
    std::string_view range = item;
    int step = 1;
    if (auto slash = range.find('/'); slash != std::string_view::npos) {
      auto parsed = core::parse_int(range.substr(slash + 1));
      if (!parsed || *parsed < 1 || *parsed > field.max) {
        return field_error(field, item, "step \"" + std::string(range.substr(slash + 1)) + "\" must be 1-" +
                                            std::to_string(field.max));
      }
      step = static_cast<int>(*parsed);
      range = range.substr(0, slash);
    }
    int first = field.min;
    int last = field.max;
    if (range != "*") {
      auto dash = range.find('-');
      auto low = parse_value(field, item, range.substr(0, dash));
      if (!low) return low.error();
      first = *low;
      if (dash != std::string_view::npos) {
        auto high = parse_value(field, item, range.substr(dash + 1));
        if (!high) return high.error();
        last = *high;
        if (last < first) return field_error(field, item, "range runs backwards");
      } else if (step == 1) {
        last = first;  // "5" alone; "5/10" runs from 5 to the maximum, as in cronie
      }
    }
    for (int v = first; v <= last; v += step) allowed.set(static_cast<size_t>(v));
  }
  return allowed;
}

template <size_t N>
std::bitset<N> narrow(const std::bitset<64>& wide) {
  std::bitset<N> out;
  for (size_t i = 0; i < N; ++i) out[i] = wide[i];
  return out;
}

std::string_view expand_shorthand(std::string_view text) {
  if (text == "@hourly") return "0 * * * *";
  if (text == "@daily" || text == "@midnight") return "0 0 * * *";
  if (text == "@weekly") return "0 0 * * 0";
  if (text == "@monthly") return "0 0 1 * *";
  if (text == "@yearly" || text == "@annually") return "0 0 1 1 *";
  return text;
}

// Long enough for any satisfiable expression: a leap day on a given weekday
// recurs within 28 years.
constexpr int kSearchDays = 366 * 29;

}  // namespace

core::Result<CronExpression> CronExpression::parse(std::string_view text) {
  std::string_view trimmed = core::trim(text);
  std::string_view expanded = expand_shorthand(trimmed);
  if (!expanded.empty() && expanded.front() == '@') {
    return Error(ErrorCategory::Config, "cron expression \"" + std::string(trimmed) +
                                            "\": unknown shorthand (use @hourly, @daily, @midnight, @weekly, "
                                            "@monthly, @yearly or @annually)");
  }
  std::vector<std::string> fields;
  for (const std::string& part : core::split(expanded, ' ', true)) {
    for (const std::string& piece : core::split(part, '\t', true)) fields.push_back(piece);
  }
  if (fields.size() != kFields.size()) {
    return Error(ErrorCategory::Config, "cron expression \"" + std::string(trimmed) + "\" has " +
                                            std::to_string(fields.size()) +
                                            " fields; expected 5: minute hour day-of-month month day-of-week");
  }
  CronExpression cron;
  cron.text_ = std::string(trimmed);
  std::array<std::bitset<64>, 5> sets;
  for (size_t i = 0; i < kFields.size(); ++i) {
    auto set = parse_field(kFields[i], fields[i]);
    if (!set) return core::Error(set.error()).wrap("cron expression \"" + cron.text_ + "\"");
    sets[i] = *set;
  }
  if (sets[4][7]) sets[4].set(0);
  cron.minutes_ = narrow<60>(sets[0]);
  cron.hours_ = narrow<24>(sets[1]);
  cron.days_of_month_ = narrow<32>(sets[2]);
  cron.months_ = narrow<13>(sets[3]);
  cron.days_of_week_ = narrow<7>(sets[4]);
  cron.day_of_month_any_ = fields[2].front() == '*';
  cron.day_of_week_any_ = fields[4].front() == '*';
  return cron;
}

bool CronExpression::day_matches(std::chrono::sys_days day) const {
  std::chrono::year_month_day ymd(day);
  if (!months_[static_cast<unsigned>(ymd.month())]) return false;
  bool by_month_day = days_of_month_[static_cast<unsigned>(ymd.day())];
  bool by_weekday = days_of_week_[std::chrono::weekday(day).c_encoding()];
  // cronie: with both day fields restricted, either may match.
  if (day_of_month_any_ || day_of_week_any_) return by_month_day && by_weekday;
  return by_month_day || by_weekday;
}

bool CronExpression::matches(CivilMinute minute) const {
  auto day = std::chrono::floor<std::chrono::days>(minute);
  std::chrono::hh_mm_ss time(minute - day);
  return day_matches(day) && hours_[static_cast<size_t>(time.hours().count())] &&
         minutes_[static_cast<size_t>(time.minutes().count())];
}

std::optional<CivilMinute> CronExpression::next_after(CivilMinute after) const {
  using std::chrono::days;
  using std::chrono::hours;
  using std::chrono::minutes;
  CivilMinute start = after + minutes(1);
  auto first_day = std::chrono::floor<days>(start);
  for (int d = 0; d < kSearchDays; ++d) {
    auto day = first_day + days(d);
    if (!day_matches(day)) continue;
    // On the first day only the minutes from `start` on count.
    int from = d == 0 ? static_cast<int>((start - day).count()) : 0;
    for (int m = from; m < 24 * 60; ++m) {
      if (hours_[static_cast<size_t>(m / 60)] && minutes_[static_cast<size_t>(m % 60)]) {
        return CivilMinute(day) + minutes(m);
      }
    }
  }
  return std::nullopt;
}

std::string describe(const Schedule& schedule) {
  if (const auto* interval = std::get_if<Interval>(&schedule)) {
    int64_t s = interval->length.count();
    if (s % 3600 == 0) return "every " + std::to_string(s / 3600) + (s == 3600 ? " hour" : " hours");
    if (s % 60 == 0) return "every " + std::to_string(s / 60) + (s == 60 ? " minute" : " minutes");
    return "every " + std::to_string(s) + " s";
  }
  return "cron \"" + std::get<CronExpression>(schedule).text() + "\"";
}

}  // namespace pvekit::daemon
