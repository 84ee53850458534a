#include "core/utc_time.h"

namespace pvekit::core {

std::string format_utc(std::time_t unix_seconds, const char* strftime_format) {
  std::tm utc{};
  ::gmtime_r(&unix_seconds, &utc);
  char buf[128];
  size_t n = std::strftime(buf, sizeof buf, strftime_format, &utc);
  return std::string(buf, n);
}

}  // namespace pvekit::core
