// proxlb capacity: the text, JSON, CSV and SVG forms of a CapacityReport.
#include <algorithm>
#include <cmath>
#include <ctime>
#include <sstream>

#include "balance/capacity.h"
#include "core/strings.h"
#include "core/utc_time.h"

namespace pvekit::balance {
namespace {

using core::Json;

constexpr size_t kWidth = 80;
constexpr double kDay = 86400.0;

std::string printf_str(const char* format, auto... args) {
  char buf[256];
  std::snprintf(buf, sizeof buf, format, args...);
  return buf;
}

std::string date(double unix_seconds) {
  return core::format_utc(static_cast<std::time_t>(unix_seconds), "%Y-%m-%d");
}

std::string amount(CapacityResource r, double v) {
  if (is_memory(r) || is_disk(r)) return core::format_bytes(v);
  return printf_str("%.1f cores", v);
}

std::string fit(std::string s, size_t width) {
  if (s.size() > width) s = s.substr(0, width - 1) + "~";
  return s;
}

std::string pad(std::string s, size_t width) {
  s = fit(std::move(s), width);
  s.resize(width, ' ');
  return s;
}

std::string pct(const std::optional<double>& v, double capacity) {
  if (!v || capacity <= 0) return "-";
  return printf_str("%.0f%%", *v / capacity * 100);
}

// Words wrapped at kWidth, continuation lines indented.
void wrap(std::ostringstream& out, const std::string& text, const std::string& indent = "  ") {
  std::string line;
  for (const auto& word : core::split(text, ' ', true)) {
    if (!line.empty() && line.size() + 1 + word.size() > kWidth) {
      out << line << "\n";
      line = indent;
    }
    if (!line.empty() && line != indent) line += " ";
    line += fit(word, kWidth - indent.size());
  }
  if (!line.empty()) out << line << "\n";
}

std::string trend_text(const Forecast& f, double threshold) {
  const std::string thr = printf_str("%.0f%%", threshold * 100);
  switch (f.verdict) {
    case TrendVerdict::TooShort: return "too short: " + f.detail;
    case TrendVerdict::NoTrend:
      return f.above_now ? "no trend; peaks above " + thr + " now" : "no trend";
    case TrendVerdict::Falling: return printf_str("falling %+.2f%%/day", f.slope_per_day * 100);
    case TrendVerdict::Rising: break;
  }
  auto when = [](const std::optional<double>& t) { return t ? date(*t) : std::string("later"); };
  return pad(printf_str("%+.2f%%/day", f.slope_per_day * 100), 11) + pad(f.above_now ? "now" : when(f.crosses), 12) +
         pad(when(f.earliest), 12) + when(f.latest);
}

std::string guest_line(const Displaced& d) {
  return printf_str("%u", d.vmid) + " " + d.name + " (" + core::format_bytes(d.need.memory) + ", " +
         printf_str("%.0f", d.need.cpus) + " vCPUs) from " + d.node;
}

void failover_text(std::ostringstream& out, const std::string& label, const FailoverResult& f) {
  const std::string nodes = core::join(f.failed, " + ");
  std::string line = label + ": ";
  size_t displaced = f.guests.size();
  if (f.fits) {
    line += "fits (" + std::to_string(f.combinations) + " combinations; tightest: " + nodes + " fails, " +
            std::to_string(displaced) + (displaced == 1 ? " guest restarts; " : " guests restart; ") +
            std::string(to_string(f.method)) + ")";
    wrap(out, line);
    return;
  }
  line += "DOES NOT FIT when " + nodes + " fails (" + std::string(to_string(f.method)) + "): short " +
          core::format_bytes(f.short_by.memory) + " memory, " + printf_str("%.0f", f.short_by.cpus) + " vCPUs";
  wrap(out, line);
  for (const auto& d : f.guests)
    if (d.target.empty()) out << fit("  no room: " + guest_line(d), kWidth) << "\n";
  for (const auto& note : f.notes) wrap(out, "  note: " + note, "    ");
}

Json optional_json(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

Json forecast_json(const Forecast& f) {
  auto when = [](const std::optional<double>& t) { return t ? Json(date(*t)) : Json(nullptr); };
  return {{"verdict", to_string(f.verdict)}, {"detail", f.detail},
          {"level", f.level}, {"slope_per_day", f.slope_per_day},
          {"slope_stderr", f.slope_stderr}, {"seasonal_peak", f.seasonal_peak},
          {"residual_sd", f.residual_sd}, {"daily_harmonics", f.daily_harmonics},
          {"weekly", f.weekly}, {"above_now", f.above_now},
          {"crosses", optional_json(f.crosses)}, {"earliest", optional_json(f.earliest)},
          {"latest", optional_json(f.latest)}, {"crosses_date", when(f.crosses)},
          {"earliest_date", when(f.earliest)}, {"latest_date", when(f.latest)}};
}

Json failover_json(const FailoverResult& f) {
  Json guests = Json::array(), missing = Json::array();
  for (const auto& d : f.guests) {
    guests.push_back({{"vmid", d.vmid}, {"name", d.name}, {"node", d.node}, {"memory", d.need.memory},
                      {"cpus", d.need.cpus}, {"disk", d.need.disk},
                      {"target", d.target.empty() ? Json(nullptr) : Json(d.target)}});
    if (d.target.empty()) missing.push_back(d.vmid);
  }
  return {{"scope", to_string(f.scope)}, {"failures", f.failures}, {"combinations", f.combinations},
          {"failed", f.failed}, {"fits", f.fits}, {"method", to_string(f.method)},
          {"short_by", {{"memory", f.short_by.memory}, {"cpus", f.short_by.cpus}, {"disk", f.short_by.disk}}},
          {"guests", guests}, {"not_fitting", missing}, {"notes", f.notes}};
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string num(const std::optional<double>& v) { return v ? printf_str("%.6g", *v) : std::string(); }

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // Control characters are not allowed in XML 1.0.
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t') out += c;
    }
  }
  return out;
}

// A file name from a node name: only [A-Za-z0-9_-], so no path can be formed.
std::string file_part(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_';
  return out.empty() ? std::string("_") : out;
}

std::string chart(const ScopeReport& scope, const ResourceStats& r, double threshold) {
  constexpr double W = 800, H = 320, L = 60, R = 20, T = 40, B = 40;
  const Forecast& f = *r.forecast;
  const double t0 = r.history.front().time, now = r.history.back().time;
  double end = now + std::max(1.0, (now - t0) * 0.5);
  if (f.crosses) end = std::max(end, std::min(*f.crosses + (now - t0) * 0.2, now + 365 * kDay));
  double top = 1.0;
  for (const auto& p : r.history) top = std::max(top, p.value / r.capacity);
  auto x = [&](double t) { return L + (t - t0) / (end - t0) * (W - L - R); };
  auto y = [&](double v) { return T + (1 - std::clamp(v / top, 0.0, 1.0)) * (H - T - B); };
  std::ostringstream s;
  s << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\" viewBox=\"0 0 " << W
    << " " << H << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
    << "<title>" << xml_escape(scope.name + ": " + std::string(to_string(r.resource))) << "</title>\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << L << "\" y=\"24\" font-size=\"15\">"
    << xml_escape(scope.name + " - " + std::string(to_string(r.resource)) + " (" + amount(r.resource, r.capacity) +
                  "): " + trend_text(f, threshold))
    << "</text>\n";
  for (int i = 0; i <= 4; ++i) {
    const double v = top * i / 4;
    s << printf_str("<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>", L, W - R, y(v), y(v))
      << printf_str("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f%%</text>\n", L - 6, y(v) + 4, v * 100);
  }
  for (double t : {t0, now, end})
    s << printf_str("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x(t), H - B + 18) << date(t)
      << "</text>\n";
  if (!f.coefficients.empty()) {
    std::string upper, lower;
    for (int i = 0; i <= 200; ++i) {
      const double t = now + (end - now) * i / 200;
      upper += printf_str("%.1f,%.1f ", x(t), y(f.fitted(t) + f.band(t)));
      lower = printf_str("%.1f,%.1f ", x(t), y(f.fitted(t) - f.band(t))) + lower;
    }
    s << "<polygon fill=\"#9ecae1\" fill-opacity=\"0.5\" points=\"" << upper << lower << "\"/>\n";
    s << "<polyline fill=\"none\" stroke=\"#08519c\" stroke-width=\"1\" points=\"";
    for (int i = 0; i <= 400; ++i) {
      const double t = now + (end - now) * i / 400;
      s << printf_str("%.1f,%.1f ", x(t), y(f.fitted(t)));
    }
    s << "\"/>\n";
  }
  s << "<polyline fill=\"none\" stroke=\"#333\" stroke-width=\"1\" points=\"";
  for (const auto& p : r.history) s << printf_str("%.1f,%.1f ", x(p.time), y(p.value / r.capacity));
  s << "\"/>\n";
  s << printf_str("<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\" stroke-dasharray=\"6 4\"/>\n",
                  L, W - R, y(threshold), y(threshold));
  s << printf_str("<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#999\"/>\n", x(now), x(now), T,
                  H - B);
  s << "</svg>\n";
  return s.str();
}

}  // namespace

std::string render_capacity_text(const CapacityReport& report) {
  std::ostringstream out;
  const std::string thr = printf_str("%.0f%%", report.threshold * 100);
  wrap(out, "proxlb capacity: " + std::to_string(report.scopes.empty() ? 0 : report.scopes.size() - 1) +
                " nodes, history " + report.timeframe + ", threshold " + thr +
                " (headroom: threshold x capacity - P99, or - now without history)");
  for (const auto& note : report.notes) wrap(out, "what-if: " + note, "    ");
  out << "\n"
      << pad("", 18) << pad("CAPACITY", 12) << pad("NOW", 6) << pad("P50", 6) << pad("P90", 6) << pad("P99", 6)
      << "HEADROOM\n";
  for (const auto& scope : report.scopes) {
    out << fit(scope.name, kWidth) << "\n";
    for (const auto& r : scope.resources) {
      out << "  " << pad(std::string(to_string(r.resource)), 16) << pad(amount(r.resource, r.capacity), 12)
          << pad(pct(r.now, r.capacity), 6) << pad(pct(r.p50, r.capacity), 6) << pad(pct(r.p90, r.capacity), 6)
          << pad(pct(r.p99, r.capacity), 6) << fit(amount(r.resource, r.headroom), 12) << "\n";
    }
  }
  out << "\nFORECAST (trend + daily/weekly cycles; docs/capacity.md)\n"
      << pad("", 18) << pad("TREND", 11) << pad("PEAK>" + thr, 12) << pad("EARLIEST", 12) << "LATEST\n";
  for (const auto& scope : report.scopes) {
    out << fit(scope.name, kWidth) << "\n";
    for (const auto& r : scope.resources)
      if (r.forecast)
        out << fit("  " + pad(std::string(to_string(r.resource)), 16) + trend_text(*r.forecast, report.threshold),
                   kWidth)
            << "\n";
  }
  out << "\nFAILOVER (any " << report.failover_running.failures << " node"
      << (report.failover_running.failures > 1 ? "s" : "") << " down)\n";
  failover_text(out, "HA guests", report.failover_ha);
  failover_text(out, "running guests", report.failover_running);
  return out.str();
}

core::Json capacity_json(const CapacityReport& report) {
  Json scopes = Json::array();
  for (const auto& scope : report.scopes) {
    Json resources = Json::array();
    for (const auto& r : scope.resources) {
      Json j = {{"resource", to_string(r.resource)},
                {"unit", is_memory(r.resource) || is_disk(r.resource) ? "bytes" : "cores"},
                {"capacity", r.capacity}, {"now", r.now}, {"p50", optional_json(r.p50)},
                {"p90", optional_json(r.p90)}, {"p99", optional_json(r.p99)}, {"headroom", r.headroom}};
      if (r.forecast) j["forecast"] = forecast_json(*r.forecast);
      resources.push_back(std::move(j));
    }
    scopes.push_back({{"name", scope.name}, {"cluster", scope.cluster}, {"resources", resources}});
  }
  return {{"threshold", report.threshold * 100}, {"timeframe", report.timeframe}, {"notes", report.notes},
          {"scopes", scopes},
          {"failover", {{"ha", failover_json(report.failover_ha)}, {"running", failover_json(report.failover_running)}}}};
}

std::string render_capacity_csv(const CapacityReport& report) {
  std::ostringstream out;
  out << "scope,resource,unit,capacity,now,p50,p90,p99,headroom,trend,slope_per_day,crosses,earliest,latest\n";
  for (const auto& scope : report.scopes) {
    for (const auto& r : scope.resources) {
      out << csv_field(scope.name) << "," << to_string(r.resource) << ","
          << (is_memory(r.resource) || is_disk(r.resource) ? "bytes" : "cores") << "," << num(r.capacity) << ","
          << num(r.now) << "," << num(r.p50) << "," << num(r.p90) << "," << num(r.p99) << "," << num(r.headroom);
      if (r.forecast) {
        const auto& f = *r.forecast;
        auto when = [](const std::optional<double>& t) { return t ? date(*t) : std::string(); };
        out << "," << to_string(f.verdict) << "," << num(f.slope_per_day) << "," << when(f.crosses) << ","
            << when(f.earliest) << "," << when(f.latest);
      } else {
        out << ",,,,,";
      }
      out << "\n";
    }
  }
  return out.str();
}

std::vector<std::pair<std::string, std::string>> capacity_charts(const CapacityReport& report) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& scope : report.scopes) {
    for (const auto& r : scope.resources) {
      if (!r.forecast || r.history.size() < 2 || r.capacity <= 0) continue;
      std::string resource(to_string(r.resource));
      std::replace(resource.begin(), resource.end(), ' ', '-');
      files.emplace_back((scope.cluster ? std::string("cluster") : "node-" + file_part(scope.name)) + "-" + resource +
                             ".svg",
                         chart(scope, r, report.threshold));
    }
  }
  return files;
}

}  // namespace pvekit::balance
