#include <thread>

#include "core/log.h"
#include "core/strings.h"
#include "oci/commands.h"

namespace pvekit::oci {

using core::Error;
using core::ErrorCategory;

core::Result<std::chrono::milliseconds> parse_duration(const std::string& text) {
  // Go's time.ParseDuration for the units an interval needs.
  static const std::pair<const char*, double> units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
  double total = 0;
  size_t i = 0;
  auto bad = [&] { return Error(ErrorCategory::Usage, "--interval: invalid duration \"" + text + "\" (e.g. 5s, 250ms)"); };
  if (text.empty()) return bad();
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    auto number = core::parse_double(text.substr(start, i - start));
    if (!number) return bad();
    bool matched = false;
    for (const auto& [unit, ms] : units) {
      std::string u = unit;
      // "ms" before "m": the table order decides.
      if (text.compare(i, u.size(), u) == 0 && !(u == "m" && text.compare(i, 2, "ms") == 0)) {
        total += *number * ms;
        i += u.size();
        matched = true;
        break;
      }
    }
    if (!matched) return bad();
  }
  if (total < 1) return Error(ErrorCategory::Usage, "--interval: must be at least 1ms, got \"" + text + "\"");
  return std::chrono::milliseconds(static_cast<int64_t>(total));
}

namespace {

nlohmann::ordered_json event(const std::string& type, const std::string& id) {
  nlohmann::ordered_json e;
  e["type"] = type;
  e["id"] = id;
  return e;
}

}  // namespace

core::Status cmd_events(Context& ctx, const EventsOptions& o) {
  using Clock = std::chrono::steady_clock;
  PVEKIT_ASSIGN(auto interval, parse_duration(o.interval));
  // OOM kills as the kernel reports them; a backend without notifications
  // has them counted in its stats, compared at each interval.
  std::unique_ptr<OomWatch> oom_watch;
  bool watch_tried = o.stats;
  std::optional<uint64_t> last_ooms;
  auto oom_event = [&] { ctx.out << event("oom", o.id).dump() << std::endl; };
  auto next_stats = Clock::now();
  while (true) {
    if (Clock::now() >= next_stats) {
      core::Result<Json> data = Error(ErrorCategory::Runtime, "");
      {
        // Locked only while reading, so other commands go on between events.
        PVEKIT_ASSIGN(auto c, load_container(ctx, o.id));
        if (c.status == ContainerStatus::Stopped) {
          if (o.stats) return Error(ErrorCategory::Conflict, "container " + o.id + " is not running");
          return core::ok();
        }
        if (!watch_tried) {
          watch_tried = true;
          auto watch = c.backend->watch_oom(c.state);
          if (watch.ok()) oom_watch = std::move(*watch);
          else spdlog::debug("events {}: OOM kills reported at each interval: {}", o.id, watch.error().to_string());
        }
        data = c.backend->stats(c.state);
      }
      if (!data.ok()) return std::move(data).error();
      // The OOM kill counter drives "oom" events; it is not part of runc's stats data.
      uint64_t ooms = data->value("oomKills", uint64_t{0});
      data->erase("oomKills");
      if (!oom_watch && last_ooms && ooms > *last_ooms) oom_event();
      last_ooms = ooms;
      auto e = event("stats", o.id);
      e["data"] = *data;
      ctx.out << e.dump() << std::endl;
      if (o.stats) return core::ok();
      next_stats += interval;
      if (next_stats < Clock::now()) next_stats = Clock::now() + interval;  // fell behind: no burst
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next_stats - Clock::now());
    if (!oom_watch) {
      std::this_thread::sleep_for(left);
      continue;
    }
    PVEKIT_ASSIGN(auto seen, oom_watch->wait(left));
    // One event per notification that saw kills, as runc sends them.
    if (seen.oom_kills > 0) oom_event();
    if (seen.emptied) {
      // Its processes are gone: end now rather than at the next interval.
      PVEKIT_ASSIGN(auto c, load_container(ctx, o.id));
      if (c.status == ContainerStatus::Stopped) return core::ok();
    }
  }
}

}  // namespace pvekit::oci
